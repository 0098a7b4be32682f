package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store/migration"
)

// MigrationsPending implements store.DB.
func (db *DB) MigrationsPending(ctx context.Context) (int, error) {
	list, err := knownMigrations()
	if err != nil {
		return 0, err
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, translate(fmt.Errorf("look for schema_migrations: %w", err))
	}
	if !exists {
		return len(list), nil
	}
	rows, err := db.pool.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return 0, translate(fmt.Errorf("list applied migrations: %w", err))
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return 0, translate(fmt.Errorf("list applied migrations: %w", err))
	}
	return migration.Pending(list, applied), nil
}

// OpsStats implements store.Tx. Each figure is one grouped count, all from
// the snapshot of the (repeatable read) read transaction.
func (t *tx) OpsStats(ctx context.Context, now time.Time) (bursar.OpsStats, error) {
	var s bursar.OpsStats
	var err error
	// Wallet payments have no payment row: the order paid from the wallet is the payment.
	const payments = `SELECT channel, status, count(*), coalesce(sum(amount), 0)::bigint FROM payments GROUP BY channel, status
		UNION ALL
		SELECT channel, 'paid', count(*), coalesce(sum(amount), 0)::bigint FROM orders
		WHERE channel = 'wallet' AND paid_at IS NOT NULL GROUP BY channel
		ORDER BY 1, 2`
	if s.Payments, err = t.statusCounts(ctx, "payments", payments); err != nil {
		return s, err
	}
	const refunds = `SELECT o.channel, r.status, count(*), coalesce(sum(r.amount), 0)::bigint
		FROM refunds r JOIN orders o ON o.id = r.order_id GROUP BY o.channel, r.status ORDER BY 1, 2`
	if s.Refunds, err = t.statusCounts(ctx, "refunds", refunds); err != nil {
		return s, err
	}
	const deliveries = `SELECT '', status, count(*), 0::bigint FROM webhook_deliveries GROUP BY status ORDER BY 2`
	if s.Deliveries, err = t.statusCounts(ctx, "webhook deliveries", deliveries); err != nil {
		return s, err
	}
	const notices = `SELECT channel, outcome, count(*), 0::bigint FROM notices GROUP BY channel, outcome ORDER BY 1, 2`
	if s.Notices, err = t.statusCounts(ctx, "notifications", notices); err != nil {
		return s, err
	}
	s.Jobs, err = t.jobQueues(ctx, now)
	return s, err
}

func (t *tx) statusCounts(ctx context.Context, what, q string) ([]bursar.StatusCount, error) {
	rows, err := t.tx.Query(ctx, q)
	if err != nil {
		return nil, translate(fmt.Errorf("count %s: %w", what, err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bursar.StatusCount, error) {
		var c bursar.StatusCount
		err := row.Scan(&c.Channel, &c.Status, &c.Count, &c.Amount)
		return c, err
	})
	if err != nil {
		return nil, translate(fmt.Errorf("count %s: %w", what, err))
	}
	return out, nil
}

func (t *tx) jobQueues(ctx context.Context, now time.Time) ([]bursar.JobQueue, error) {
	const q = `SELECT kind, count(*), count(*) FILTER (WHERE run_at <= $1), min(run_at) FILTER (WHERE run_at <= $1)
		FROM jobs GROUP BY kind ORDER BY kind`
	rows, err := t.tx.Query(ctx, q, now)
	if err != nil {
		return nil, translate(fmt.Errorf("count jobs: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bursar.JobQueue, error) {
		var j bursar.JobQueue
		var earliest *time.Time
		if err := row.Scan(&j.Kind, &j.Count, &j.Due, &earliest); err != nil {
			return j, err
		}
		if earliest != nil {
			j.Lag = now.Sub(*earliest)
		}
		return j, nil
	})
	if err != nil {
		return nil, translate(fmt.Errorf("count jobs: %w", err))
	}
	return out, nil
}
