package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// JobSchedule implements store.Tx.
func (t *tx) JobSchedule(ctx context.Context, kind bursar.JobKind, ref string, runAt time.Time) error {
	const q = `INSERT INTO jobs (kind, ref, run_at) VALUES (?, ?, ?)
		ON CONFLICT (kind, ref) DO UPDATE SET run_at = excluded.run_at`
	if _, err := t.tx.ExecContext(ctx, q, kind, ref, ms(runAt)); err != nil {
		return translate(fmt.Errorf("schedule %s job for %s: %w", kind, ref, err))
	}
	return nil
}

// JobCancel implements store.Tx.
func (t *tx) JobCancel(ctx context.Context, kind bursar.JobKind, ref string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM jobs WHERE kind = ? AND ref = ?`, kind, ref); err != nil {
		return translate(fmt.Errorf("cancel %s job for %s: %w", kind, ref, err))
	}
	return nil
}

// JobClaimDue implements store.Tx. There are no row locks to take: the
// claiming transaction holds the only write lock until it ends, so no other
// process can claim, finish or move these jobs meanwhile.
func (t *tx) JobClaimDue(ctx context.Context, now time.Time, limit int) ([]bursar.Job, error) {
	if limit < 1 {
		// SQLite would read a negative LIMIT as no limit at all.
		return nil, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	const q = `SELECT id, kind, ref, run_at, attempts FROM jobs WHERE run_at <= ? ORDER BY run_at, id LIMIT ?`
	rows, err := t.tx.QueryContext(ctx, q, ms(now), limit)
	if err != nil {
		return nil, translate(fmt.Errorf("claim due jobs: %w", err))
	}
	defer rows.Close()
	var jobs []bursar.Job
	for rows.Next() {
		var j bursar.Job
		var runAt int64
		if err := rows.Scan(&j.ID, &j.Kind, &j.Ref, &runAt, &j.Attempts); err != nil {
			return nil, fmt.Errorf("claim due jobs: %w", err)
		}
		j.RunAt = fromMS(runAt)
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(fmt.Errorf("claim due jobs: %w", err))
	}
	return jobs, nil
}

// JobDone implements store.Tx. A job that is already gone stays gone.
func (t *tx) JobDone(ctx context.Context, id int64) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, id); err != nil {
		return translate(fmt.Errorf("finish job %d: %w", id, err))
	}
	return nil
}

// JobRetry implements store.Tx. A job that is gone, because it was
// cancelled, is not brought back.
func (t *tx) JobRetry(ctx context.Context, id int64, runAt time.Time, lastError string) error {
	const q = `UPDATE jobs SET attempts = attempts + 1, run_at = ?, last_error = ? WHERE id = ?`
	if _, err := t.tx.ExecContext(ctx, q, ms(runAt), lastError, id); err != nil {
		return translate(fmt.Errorf("retry job %d: %w", id, err))
	}
	return nil
}

// JobLag implements store.Tx.
func (t *tx) JobLag(ctx context.Context, now time.Time) (time.Duration, int, error) {
	var earliest sql.NullInt64
	var n int
	const q = `SELECT min(run_at), count(*) FROM jobs WHERE run_at <= ?`
	if err := t.tx.QueryRowContext(ctx, q, ms(now)).Scan(&earliest, &n); err != nil {
		return 0, 0, translate(fmt.Errorf("measure job lag: %w", err))
	}
	if !earliest.Valid {
		return 0, 0, nil
	}
	return now.Sub(fromMS(earliest.Int64)), n, nil
}
