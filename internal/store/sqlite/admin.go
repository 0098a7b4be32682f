package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

const adminColumns = `name, role, password_hash, failed_logins, locked_until, created_at, disabled_at`

func scanAdmin(row scanner) (bursar.Admin, error) {
	var a bursar.Admin
	var locked, disabled sql.NullInt64
	var created int64
	if err := row.Scan(&a.Name, &a.Role, &a.PasswordHash, &a.FailedLogins, &locked, &created, &disabled); err != nil {
		return a, err
	}
	a.LockedUntil, a.CreatedAt, a.DisabledAt = fromNullMS(locked), fromMS(created), fromNullMS(disabled)
	return a, nil
}

// AdminInsert implements store.Tx.
func (t *tx) AdminInsert(ctx context.Context, a bursar.Admin) error {
	const q = `INSERT INTO admins (` + adminColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)`
	_, err := t.tx.ExecContext(ctx, q, a.Name, a.Role, a.PasswordHash, a.FailedLogins, nullMS(a.LockedUntil), ms(a.CreatedAt),
		nullMS(a.DisabledAt))
	if err != nil {
		return translate(fmt.Errorf("insert admin %s: %w", a.Name, err))
	}
	return nil
}

// AdminGet implements store.Tx.
func (t *tx) AdminGet(ctx context.Context, name string) (bursar.Admin, error) {
	a, err := scanAdmin(t.tx.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return a, bursar.Errorf(bursar.NotFound, "There is no admin %q.", name)
	}
	if err != nil {
		return a, translate(fmt.Errorf("get admin %s: %w", name, err))
	}
	return a, nil
}

// AdminGetForUpdate implements store.Tx: the write transaction is already
// exclusive.
func (t *tx) AdminGetForUpdate(ctx context.Context, name string) (bursar.Admin, error) {
	return t.AdminGet(ctx, name)
}

// AdminUpdate implements store.Tx.
func (t *tx) AdminUpdate(ctx context.Context, a bursar.Admin) error {
	const q = `UPDATE admins SET role = ?, password_hash = ?, failed_logins = ?, locked_until = ?, disabled_at = ? WHERE name = ?`
	res, err := t.tx.ExecContext(ctx, q, a.Role, a.PasswordHash, a.FailedLogins, nullMS(a.LockedUntil), nullMS(a.DisabledAt), a.Name)
	if err != nil {
		return translate(fmt.Errorf("update admin %s: %w", a.Name, err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
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
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE expires_at <= ?`, ms(s.CreatedAt)); err != nil {
		return translate(fmt.Errorf("sweep admin sessions: %w", err))
	}
	const q = `INSERT INTO admin_sessions (hash, admin_name, created_at, expires_at) VALUES (?, ?, ?, ?)`
	if _, err := t.tx.ExecContext(ctx, q, s.Hash, s.Admin, ms(s.CreatedAt), ms(s.ExpiresAt)); err != nil {
		return translate(fmt.Errorf("insert session of %s: %w", s.Admin, err))
	}
	return nil
}

// AdminSessionGet implements store.Tx.
func (t *tx) AdminSessionGet(ctx context.Context, hash string) (bursar.AdminSession, error) {
	var s bursar.AdminSession
	var created, expires int64
	err := t.tx.QueryRowContext(ctx, `SELECT hash, admin_name, created_at, expires_at FROM admin_sessions WHERE hash = ?`, hash).
		Scan(&s.Hash, &s.Admin, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return s, bursar.Errorf(bursar.NotFound, "There is no such session.")
	}
	if err != nil {
		return s, translate(fmt.Errorf("get session: %w", err))
	}
	s.CreatedAt, s.ExpiresAt = fromMS(created), fromMS(expires)
	return s, nil
}

// AdminSessionDelete implements store.Tx.
func (t *tx) AdminSessionDelete(ctx context.Context, hash string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE hash = ?`, hash); err != nil {
		return translate(fmt.Errorf("delete session: %w", err))
	}
	return nil
}

// AdminSessionsEnd implements store.Tx.
func (t *tx) AdminSessionsEnd(ctx context.Context, admin string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_name = ?`, admin); err != nil {
		return translate(fmt.Errorf("end sessions of %s: %w", admin, err))
	}
	return nil
}

// AuditList implements store.Tx.
func (t *tx) AuditList(ctx context.Context, f bursar.AuditFilter) ([]bursar.AuditEntry, bool, error) {
	if f.Limit < 1 {
		return nil, false, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	q := `SELECT id, actor, action, subject, detail, at FROM audit_log WHERE 1 = 1`
	var args []any
	if f.Subject != "" {
		q += ` AND subject = ?`
		args = append(args, f.Subject)
	}
	if f.Before != 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit+1)
	list, err := queryAll(ctx, t, q, args, func(row scanner) (bursar.AuditEntry, error) {
		var a bursar.AuditEntry
		var at int64
		err := row.Scan(&a.ID, &a.Actor, &a.Action, &a.Subject, &a.Detail, &at)
		a.At = fromMS(at)
		return a, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list audit log: %w", err)
	}
	more := len(list) > f.Limit
	return list[:min(len(list), f.Limit)], more, nil
}

// RefundQueue implements store.Tx. The condition repeats the partial
// index's literally, so SQLite uses it.
func (t *tx) RefundQueue(ctx context.Context, limit int) ([]bursar.Refund, error) {
	if limit < 1 {
		return nil, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	const q = `SELECT ` + refundColumns + ` FROM refunds WHERE status IN ('requested', 'processing') ORDER BY created_at, id LIMIT ?`
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
	const paid = `SELECT count(*), coalesce(sum(amount), 0) FROM orders
		WHERE paid_at >= ? AND type IN ('purchase', 'topup') AND status <> 'pending' AND status <> 'closed'`
	if err := t.tx.QueryRowContext(ctx, paid, ms(since)).Scan(&d.PaidCount, &d.PaidAmount); err != nil {
		return fail("paid", err)
	}
	rows, err := queryAll(ctx, t, `SELECT status, count(*) FROM orders WHERE type = 'purchase' GROUP BY status`, nil,
		func(row scanner) (struct {
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
	// escrow: … sorts after escrow: and before escrow; (the next byte), so
	// the range reads only escrow accounts, by the primary key.
	const escrow = `SELECT coalesce(sum(balance), 0) FROM account_balances WHERE account_id >= 'escrow:' AND account_id < 'escrow;'`
	if err := t.tx.QueryRowContext(ctx, escrow).Scan(&d.Escrow); err != nil {
		return fail("escrow", err)
	}
	const refunds = `SELECT
		coalesce(sum(CASE WHEN status = 'requested' THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN status = 'requested' THEN amount ELSE 0 END), 0),
		coalesce(sum(CASE WHEN status = 'processing' THEN 1 ELSE 0 END), 0)
		FROM refunds WHERE status IN ('requested', 'processing')`
	if err := t.tx.QueryRowContext(ctx, refunds).Scan(&d.RefundsWaiting, &d.RefundsWaitingAmount, &d.RefundsProcessing); err != nil {
		return fail("refunds", err)
	}
	const withdrawals = `SELECT
		coalesce(sum(CASE WHEN status = 'requested' THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN status = 'requested' THEN amount ELSE 0 END), 0),
		coalesce(sum(CASE WHEN status = 'processing' THEN 1 ELSE 0 END), 0)
		FROM orders WHERE type = 'withdrawal' AND status IN ('requested', 'processing')`
	if err := t.tx.QueryRowContext(ctx, withdrawals).Scan(&d.WithdrawalsWaiting, &d.WithdrawalsWaitingAmount, &d.WithdrawalsProcessing); err != nil {
		return fail("withdrawals", err)
	}
	const hourly = `SELECT paid_at / 3600000, count(*), sum(amount) FROM orders
		WHERE paid_at >= ? AND type IN ('purchase', 'topup') AND status <> 'pending' AND status <> 'closed'
		GROUP BY paid_at / 3600000 ORDER BY 1`
	d.Hourly, err = queryAll(ctx, t, hourly, []any{ms(hourlyFrom)}, func(row scanner) (bursar.HourlyPayments, error) {
		var h bursar.HourlyPayments
		var hour int64
		err := row.Scan(&hour, &h.Count, &h.Amount)
		h.Hour = time.Unix(hour*3600, 0).UTC()
		return h, err
	})
	if err != nil {
		return fail("hourly", err)
	}
	return d, nil
}
