package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/bursar"
)

const adminColumns = `name, role, password_hash, failed_logins, locked_until, created_at, disabled_at`

func scanAdmin(row pgx.Row) (bursar.Admin, error) {
	var a bursar.Admin
	var locked, disabled *time.Time
	if err := row.Scan(&a.Name, &a.Role, &a.PasswordHash, &a.FailedLogins, &locked, &a.CreatedAt, &disabled); err != nil {
		return a, err
	}
	a.LockedUntil, a.CreatedAt, a.DisabledAt = fromNull(locked), a.CreatedAt.UTC(), fromNull(disabled)
	return a, nil
}

// AdminInsert implements store.Tx.
func (t *tx) AdminInsert(ctx context.Context, a bursar.Admin) error {
	const q = `INSERT INTO admins (` + adminColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	_, err := t.tx.Exec(ctx, q, a.Name, a.Role, a.PasswordHash, a.FailedLogins, nullTime(a.LockedUntil), a.CreatedAt,
		nullTime(a.DisabledAt))
	if err != nil {
		return translate(fmt.Errorf("insert admin %s: %w", a.Name, err))
	}
	return nil
}

// AdminGet implements store.Tx.
func (t *tx) AdminGet(ctx context.Context, name string) (bursar.Admin, error) {
	a, err := scanAdmin(t.tx.QueryRow(ctx, `SELECT `+adminColumns+` FROM admins WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, bursar.Errorf(bursar.NotFound, "There is no admin %q.", name)
	}
	if err != nil {
		return a, translate(fmt.Errorf("get admin %s: %w", name, err))
	}
	return a, nil
}

// AdminGetForUpdate implements store.Tx.
func (t *tx) AdminGetForUpdate(ctx context.Context, name string) (bursar.Admin, error) {
	a, err := scanAdmin(t.tx.QueryRow(ctx, `SELECT `+adminColumns+` FROM admins WHERE name = $1 FOR UPDATE`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, bursar.Errorf(bursar.NotFound, "There is no admin %q.", name)
	}
	if err != nil {
		return a, translate(fmt.Errorf("lock admin %s: %w", name, err))
	}
	return a, nil
}

// AdminUpdate implements store.Tx.
func (t *tx) AdminUpdate(ctx context.Context, a bursar.Admin) error {
	const q = `UPDATE admins SET role = $1, password_hash = $2, failed_logins = $3, locked_until = $4, disabled_at = $5 WHERE name = $6`
	res, err := t.tx.Exec(ctx, q, a.Role, a.PasswordHash, a.FailedLogins, nullTime(a.LockedUntil), nullTime(a.DisabledAt), a.Name)
	if err != nil {
		return translate(fmt.Errorf("update admin %s: %w", a.Name, err))
	}
	if res.RowsAffected() == 0 {
		return bursar.Errorf(bursar.NotFound, "There is no admin %q.", a.Name)
	}
	return nil
}

// AdminList implements store.Tx.
func (t *tx) AdminList(ctx context.Context) ([]bursar.Admin, error) {
	list, err := queryAll(ctx, t, `SELECT `+adminColumns+` FROM admins ORDER BY name`, nil, scanAdmin)
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	return list, nil
}

// AdminSessionInsert implements store.Tx.
func (t *tx) AdminSessionInsert(ctx context.Context, s bursar.AdminSession) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM admin_sessions WHERE expires_at <= $1`, s.CreatedAt); err != nil {
		return translate(fmt.Errorf("sweep admin sessions: %w", err))
	}
	const q = `INSERT INTO admin_sessions (hash, admin_name, created_at, expires_at) VALUES ($1, $2, $3, $4)`
	if _, err := t.tx.Exec(ctx, q, s.Hash, s.Admin, s.CreatedAt, s.ExpiresAt); err != nil {
		return translate(fmt.Errorf("insert session of %s: %w", s.Admin, err))
	}
	return nil
}

// AdminSessionGet implements store.Tx.
func (t *tx) AdminSessionGet(ctx context.Context, hash string) (bursar.AdminSession, error) {
	var s bursar.AdminSession
	err := t.tx.QueryRow(ctx, `SELECT hash, admin_name, created_at, expires_at FROM admin_sessions WHERE hash = $1`, hash).
		Scan(&s.Hash, &s.Admin, &s.CreatedAt, &s.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, bursar.Errorf(bursar.NotFound, "There is no such session.")
	}
	if err != nil {
		return s, translate(fmt.Errorf("get session: %w", err))
	}
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
	return s, nil
}

// AdminSessionDelete implements store.Tx.
func (t *tx) AdminSessionDelete(ctx context.Context, hash string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM admin_sessions WHERE hash = $1`, hash); err != nil {
		return translate(fmt.Errorf("delete session: %w", err))
	}
	return nil
}

// AdminSessionsEnd implements store.Tx.
func (t *tx) AdminSessionsEnd(ctx context.Context, admin string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM admin_sessions WHERE admin_name = $1`, admin); err != nil {
		return translate(fmt.Errorf("end sessions of %s: %w", admin, err))
	}
	return nil
}

// AuditList implements store.Tx.
func (t *tx) AuditList(ctx context.Context, f bursar.AuditFilter) ([]bursar.AuditEntry, bool, error) {
	if f.Limit < 1 {
		return nil, false, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	var args params
	q := `SELECT id, actor, action, subject, detail, at FROM audit_log WHERE true`
	if f.Subject != "" {
		q += ` AND subject = ` + args.add(f.Subject)
	}
	if f.Before != 0 {
		q += ` AND id < ` + args.add(f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ` + args.add(f.Limit+1)
	list, err := queryAll(ctx, t, q, args, func(row pgx.Row) (bursar.AuditEntry, error) {
		var a bursar.AuditEntry
		err := row.Scan(&a.ID, &a.Actor, &a.Action, &a.Subject, &a.Detail, &a.At)
		a.At = a.At.UTC()
		return a, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list audit log: %w", err)
	}
	more := len(list) > f.Limit
	return list[:min(len(list), f.Limit)], more, nil
}

// RefundQueue implements store.Tx.
func (t *tx) RefundQueue(ctx context.Context, limit int) ([]bursar.Refund, error) {
	if limit < 1 {
		return nil, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	const q = `SELECT ` + refundColumns + ` FROM refunds WHERE status IN ('requested', 'processing') ORDER BY created_at, id LIMIT $1`
	list, err := queryAll(ctx, t, q, []any{limit}, scanRefund)
	if err != nil {
		return nil, fmt.Errorf("list open refunds: %w", err)
	}
	return list, nil
}

// Dashboard implements store.Tx. Each figure is one query over an index or
// a small table; the hourly counts read the day's paid orders.
func (t *tx) Dashboard(ctx context.Context, since, hourlyFrom time.Time) (bursar.Dashboard, error) {
	d := bursar.Dashboard{OrdersByStatus: map[bursar.OrderStatus]int{}}
	fail := func(what string, err error) (bursar.Dashboard, error) {
		return bursar.Dashboard{}, translate(fmt.Errorf("dashboard %s: %w", what, err))
	}
	const paid = `SELECT count(*), coalesce(sum(amount), 0)::bigint FROM orders
		WHERE paid_at >= $1 AND type IN ('purchase', 'topup') AND status <> 'pending' AND status <> 'closed'`
	if err := t.tx.QueryRow(ctx, paid, since).Scan(&d.PaidCount, &d.PaidAmount); err != nil {
		return fail("paid", err)
	}
	rows, err := queryAll(ctx, t, `SELECT status, count(*) FROM orders WHERE type = 'purchase' GROUP BY status`, nil,
		func(row pgx.Row) (struct {
			s bursar.OrderStatus
			n int
		}, error) {
			var v struct {
				s bursar.OrderStatus
				n int
			}
			return v, row.Scan(&v.s, &v.n)
		})
	if err != nil {
		return fail("orders by status", err)
	}
	for _, r := range rows {
		d.OrdersByStatus[r.s] = r.n
	}
	// The column has the database's collation, under which a range of
	// prefixes need not hold together, so it is a LIKE: a scan of the
	// balances, which the dashboard can afford.
	const escrow = `SELECT coalesce(sum(balance), 0)::bigint FROM account_balances WHERE account_id LIKE 'escrow:%'`
	if err := t.tx.QueryRow(ctx, escrow).Scan(&d.Escrow); err != nil {
		return fail("escrow", err)
	}
	const refunds = `SELECT
		coalesce(sum(CASE WHEN status = 'requested' THEN 1 ELSE 0 END), 0)::bigint,
		coalesce(sum(CASE WHEN status = 'requested' THEN amount ELSE 0 END), 0)::bigint,
		coalesce(sum(CASE WHEN status = 'processing' THEN 1 ELSE 0 END), 0)::bigint
		FROM refunds WHERE status IN ('requested', 'processing')`
	if err := t.tx.QueryRow(ctx, refunds).Scan(&d.RefundsWaiting, &d.RefundsWaitingAmount, &d.RefundsProcessing); err != nil {
		return fail("refunds", err)
	}
	const withdrawals = `SELECT
		coalesce(sum(CASE WHEN status = 'requested' THEN 1 ELSE 0 END), 0)::bigint,
		coalesce(sum(CASE WHEN status = 'requested' THEN amount ELSE 0 END), 0)::bigint,
		coalesce(sum(CASE WHEN status = 'processing' THEN 1 ELSE 0 END), 0)::bigint
		FROM orders WHERE type = 'withdrawal' AND status IN ('requested', 'processing')`
	if err := t.tx.QueryRow(ctx, withdrawals).Scan(&d.WithdrawalsWaiting, &d.WithdrawalsWaitingAmount, &d.WithdrawalsProcessing); err != nil {
		return fail("withdrawals", err)
	}
	// The hour is cut in UTC, whatever the connection's time zone.
	const hourly = `SELECT date_trunc('hour', paid_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*), sum(amount)::bigint FROM orders
		WHERE paid_at >= $1 AND type IN ('purchase', 'topup') AND status <> 'pending' AND status <> 'closed'
		GROUP BY 1 ORDER BY 1`
	d.Hourly, err = queryAll(ctx, t, hourly, []any{hourlyFrom}, func(row pgx.Row) (bursar.HourlyPayments, error) {
		var h bursar.HourlyPayments
		err := row.Scan(&h.Hour, &h.Count, &h.Amount)
		h.Hour = h.Hour.UTC()
		return h, err
	})
	if err != nil {
		return fail("hourly", err)
	}
	return d, nil
}
