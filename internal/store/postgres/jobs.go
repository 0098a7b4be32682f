package postgres

import (
	"context"
	"fmt"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// JobSchedule implements store.Tx. When a claimer holds the job, the upsert
// waits for it to finish or move the job, then moves it again.
func (t *tx) JobSchedule(ctx context.Context, kind bursar.JobKind, ref string, runAt time.Time) error {
	const q = `INSERT INTO jobs (kind, ref, run_at) VALUES ($1, $2, $3)
		ON CONFLICT (kind, ref) DO UPDATE SET run_at = excluded.run_at`
	if _, _, err := t.tx.later(ctx, nil, q, kind, ref, runAt); err != nil {
		return translate(fmt.Errorf("schedule %s job for %s: %w", kind, ref, err))
	}
	return nil
}

// JobCancel implements store.Tx.
func (t *tx) JobCancel(ctx context.Context, kind bursar.JobKind, ref string) error {
	if _, _, err := t.tx.later(ctx, nil, `DELETE FROM jobs WHERE kind = $1 AND ref = $2`, kind, ref); err != nil {
		return translate(fmt.Errorf("cancel %s job for %s: %w", kind, ref, err))
	}
	return nil
}

// JobClaimDue implements store.Tx. SKIP LOCKED lets workers in several
// processes claim at once, each taking jobs no other has.
func (t *tx) JobClaimDue(ctx context.Context, now time.Time, limit int) ([]bursar.Job, error) {
	if limit < 1 {
		return nil, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	const q = `SELECT id, kind, ref, run_at, attempts FROM jobs WHERE run_at <= $1
		ORDER BY run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`
	rows, err := t.tx.Query(ctx, q, now, limit)
	if err != nil {
		return nil, translate(fmt.Errorf("claim due jobs: %w", err))
	}
	defer rows.Close()
	var jobs []bursar.Job
	for rows.Next() {
		var j bursar.Job
		if err := rows.Scan(&j.ID, &j.Kind, &j.Ref, &j.RunAt, &j.Attempts); err != nil {
			return nil, fmt.Errorf("claim due jobs: %w", err)
		}
		j.RunAt = j.RunAt.UTC()
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(fmt.Errorf("claim due jobs: %w", err))
	}
	return jobs, nil
}

// JobDone implements store.Tx. A job that is already gone stays gone.
func (t *tx) JobDone(ctx context.Context, id int64) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM jobs WHERE id = $1`, id); err != nil {
		return translate(fmt.Errorf("finish job %d: %w", id, err))
	}
	return nil
}

// JobRetry implements store.Tx. A job that is gone, because it was
// cancelled, is not brought back.
func (t *tx) JobRetry(ctx context.Context, id int64, runAt time.Time, lastError string) error {
	const q = `UPDATE jobs SET attempts = attempts + 1, run_at = $1, last_error = $2 WHERE id = $3`
	if _, err := t.tx.Exec(ctx, q, runAt, lastError, id); err != nil {
		return translate(fmt.Errorf("retry job %d: %w", id, err))
	}
	return nil
}

// JobLag implements store.Tx. Jobs another transaction holds count too: they
// are due all the same.
func (t *tx) JobLag(ctx context.Context, now time.Time) (time.Duration, int, error) {
	var earliest *time.Time
	var n int
	const q = `SELECT min(run_at), count(*) FROM jobs WHERE run_at <= $1`
	if err := t.tx.QueryRow(ctx, q, now).Scan(&earliest, &n); err != nil {
		return 0, 0, translate(fmt.Errorf("measure job lag: %w", err))
	}
	if earliest == nil {
		return 0, 0, nil
	}
	return now.Sub(*earliest), n, nil
}
