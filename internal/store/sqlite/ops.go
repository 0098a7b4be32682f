package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store/migration"
)

// MigrationsPending implements store.DB.
func (db *DB) MigrationsPending(ctx context.Context) (int, error) {
	list, err := knownMigrations()
	if err != nil {
		return 0, err
	}
	var tables int
	const exists = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if err := db.read.QueryRowContext(ctx, exists).Scan(&tables); err != nil {
		return 0, translate(fmt.Errorf("look for schema_migrations: %w", err))
	}
	if tables == 0 {
		return len(list), nil
	}
	rows, err := db.read.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return 0, translate(fmt.Errorf("list applied migrations: %w", err))
	}
	defer rows.Close()
	var applied []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return 0, fmt.Errorf("list applied migrations: %w", err)
		}
		applied = append(applied, v)
	}
	if err := rows.Err(); err != nil {
		return 0, translate(fmt.Errorf("list applied migrations: %w", err))
	}
	return migration.Pending(list, applied), nil
}

// OpsStats implements store.Tx. Each figure is one grouped count; SQLite
// reads them all from the snapshot of the read transaction.
func (t *tx) OpsStats(ctx context.Context, now time.Time) (bursar.OpsStats, error) {
	var s bursar.OpsStats
	var err error
	// Wallet payments have no payment row: the order paid from the wallet is the payment.
	const payments = `SELECT channel, status, count(*), coalesce(sum(amount), 0) FROM payments GROUP BY channel, status
		UNION ALL
		SELECT channel, 'paid', count(*), coalesce(sum(amount), 0) FROM orders
		WHERE channel = 'wallet' AND paid_at IS NOT NULL GROUP BY channel
		ORDER BY 1, 2`
	if s.Payments, err = t.statusCounts(ctx, "payments", payments); err != nil {
		return s, err
	}
	const refunds = `SELECT o.channel, r.status, count(*), coalesce(sum(r.amount), 0)
		FROM refunds r JOIN orders o ON o.id = r.order_id GROUP BY o.channel, r.status ORDER BY 1, 2`
	if s.Refunds, err = t.statusCounts(ctx, "refunds", refunds); err != nil {
		return s, err
	}
	const deliveries = `SELECT '', status, count(*), 0 FROM webhook_deliveries GROUP BY status ORDER BY 2`
	if s.Deliveries, err = t.statusCounts(ctx, "webhook deliveries", deliveries); err != nil {
		return s, err
	}
	const notices = `SELECT channel, outcome, count(*), 0 FROM notices GROUP BY channel, outcome ORDER BY 1, 2`
	if s.Notices, err = t.statusCounts(ctx, "notifications", notices); err != nil {
		return s, err
	}
	s.Jobs, err = t.jobQueues(ctx, now)
	return s, err
}

func (t *tx) statusCounts(ctx context.Context, what, q string) ([]bursar.StatusCount, error) {
	rows, err := t.tx.QueryContext(ctx, q)
	if err != nil {
		return nil, translate(fmt.Errorf("count %s: %w", what, err))
	}
	defer rows.Close()
	var out []bursar.StatusCount
	for rows.Next() {
		var c bursar.StatusCount
		if err := rows.Scan(&c.Channel, &c.Status, &c.Count, &c.Amount); err != nil {
			return nil, fmt.Errorf("count %s: %w", what, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(fmt.Errorf("count %s: %w", what, err))
	}
	return out, nil
}

func (t *tx) jobQueues(ctx context.Context, now time.Time) ([]bursar.JobQueue, error) {
	const q = `SELECT kind, count(*), coalesce(sum(CASE WHEN run_at <= ?1 THEN 1 ELSE 0 END), 0),
		min(CASE WHEN run_at <= ?1 THEN run_at END)
		FROM jobs GROUP BY kind ORDER BY kind`
	rows, err := t.tx.QueryContext(ctx, q, ms(now))
	if err != nil {
		return nil, translate(fmt.Errorf("count jobs: %w", err))
	}
	defer rows.Close()
	var out []bursar.JobQueue
	for rows.Next() {
		var j bursar.JobQueue
		var earliest sql.NullInt64
		if err := rows.Scan(&j.Kind, &j.Count, &j.Due, &earliest); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		if earliest.Valid {
			j.Lag = now.Sub(fromMS(earliest.Int64))
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(fmt.Errorf("count jobs: %w", err))
	}
	return out, nil
}
