package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// reconRunColumns is what scanReconRun reads, in its order.
const reconRunColumns = `id, channel, day, status, started_by, started_at, finished_at, error,
	lines, matched, missing_ours, missing_theirs, amount_mismatches, status_mismatches,
	bill_payments, bill_payment_total, bill_refunds, bill_refund_total, bill_fee_total,
	our_payments, our_payment_total, our_refunds, our_refund_total, our_payouts, our_payout_total`

func scanReconRun(row scanner) (bursar.ReconRun, error) {
	var r bursar.ReconRun
	var day string
	var started int64
	var finished sql.NullInt64
	err := row.Scan(&r.ID, &r.Channel, &day, &r.Status, &r.StartedBy, &started, &finished, &r.Error,
		&r.Lines, &r.Matched, &r.MissingOurs, &r.MissingTheirs, &r.AmountMismatches, &r.StatusMismatches,
		&r.BillPayments, &r.BillPaymentTotal, &r.BillRefunds, &r.BillRefundTotal, &r.BillFeeTotal,
		&r.OurPayments, &r.OurPaymentTotal, &r.OurRefunds, &r.OurRefundTotal, &r.OurPayouts, &r.OurPayoutTotal)
	if err != nil {
		return r, err
	}
	r.StartedAt, r.FinishedAt = fromMS(started), fromNullMS(finished)
	r.Day, err = store.DayOf(day)
	return r, err
}

// ReconRunInsert implements store.Tx.
func (t *tx) ReconRunInsert(ctx context.Context, r bursar.ReconRun) error {
	const q = `INSERT INTO recon_runs (` + reconRunColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	_, err := t.tx.ExecContext(ctx, q, r.ID, r.Channel, store.DayText(r.Day), r.Status, r.StartedBy, ms(r.StartedAt),
		nullMS(r.FinishedAt), r.Error, r.Lines, r.Matched, r.MissingOurs, r.MissingTheirs, r.AmountMismatches,
		r.StatusMismatches, r.BillPayments, r.BillPaymentTotal, r.BillRefunds, r.BillRefundTotal, r.BillFeeTotal,
		r.OurPayments, r.OurPaymentTotal, r.OurRefunds, r.OurRefundTotal, r.OurPayouts, r.OurPayoutTotal)
	if err != nil {
		return translate(fmt.Errorf("insert reconciliation run %s: %w", r.ID, err))
	}
	return nil
}

// ReconRunUpdate implements store.Tx as a compare-and-set on running.
func (t *tx) ReconRunUpdate(ctx context.Context, r bursar.ReconRun) error {
	const q = `UPDATE recon_runs SET status = ?, finished_at = ?, error = ?, lines = ?, matched = ?,
		missing_ours = ?, missing_theirs = ?, amount_mismatches = ?, status_mismatches = ?,
		bill_payments = ?, bill_payment_total = ?, bill_refunds = ?, bill_refund_total = ?, bill_fee_total = ?,
		our_payments = ?, our_payment_total = ?, our_refunds = ?, our_refund_total = ?,
		our_payouts = ?, our_payout_total = ?
		WHERE id = ? AND status = 'running'`
	res, err := t.tx.ExecContext(ctx, q, r.Status, nullMS(r.FinishedAt), r.Error, r.Lines, r.Matched,
		r.MissingOurs, r.MissingTheirs, r.AmountMismatches, r.StatusMismatches,
		r.BillPayments, r.BillPaymentTotal, r.BillRefunds, r.BillRefundTotal, r.BillFeeTotal,
		r.OurPayments, r.OurPaymentTotal, r.OurRefunds, r.OurRefundTotal, r.OurPayouts, r.OurPayoutTotal, r.ID)
	if err != nil {
		return translate(fmt.Errorf("update reconciliation run %s: %w", r.ID, err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	if _, err := t.ReconRunGet(ctx, r.ID); err != nil {
		return err
	}
	return bursar.Errorf(bursar.WrongState, "The reconciliation run %s has already finished.", r.ID)
}

// ReconRunGet implements store.Tx.
func (t *tx) ReconRunGet(ctx context.Context, id bursar.ReconRunID) (bursar.ReconRun, error) {
	r, err := scanReconRun(t.tx.QueryRowContext(ctx, `SELECT `+reconRunColumns+` FROM recon_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, bursar.Errorf(bursar.NotFound, "There is no reconciliation run %s.", id)
	}
	if err != nil {
		return r, translate(fmt.Errorf("read reconciliation run %s: %w", id, err))
	}
	return r, nil
}

// ReconRunList implements store.Tx. Every value is a bound parameter; only
// fixed conditions are joined into the statement.
func (t *tx) ReconRunList(ctx context.Context, f bursar.ReconRunFilter) ([]bursar.ReconRun, bool, error) {
	if f.Limit < 1 || f.Limit > 100 {
		return nil, false, bursar.InvalidParam("limit", "A limit is between 1 and 100.")
	}
	var where []string
	var args []any
	if f.Channel != "" {
		where, args = append(where, "channel = ?"), append(args, f.Channel)
	}
	if !f.Day.IsZero() {
		where, args = append(where, "day = ?"), append(args, store.DayText(f.Day))
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Before != "" {
		where = append(where, "(started_at, id) < (SELECT started_at, id FROM recon_runs WHERE id = ?)")
		args = append(args, f.Before)
	}
	q := `SELECT ` + reconRunColumns + ` FROM recon_runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ") //nolint:gosec // G202: fixed conditions; every value is bound
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT ?`
	rows, err := t.tx.QueryContext(ctx, q, append(args, f.Limit+1)...)
	if err != nil {
		return nil, false, translate(fmt.Errorf("list reconciliation runs: %w", err))
	}
	defer rows.Close()
	var list []bursar.ReconRun
	for rows.Next() {
		r, err := scanReconRun(rows)
		if err != nil {
			return nil, false, fmt.Errorf("list reconciliation runs: %w", err)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, translate(fmt.Errorf("list reconciliation runs: %w", err))
	}
	more := len(list) > f.Limit
	if more {
		list = list[:f.Limit]
	}
	return list, more, nil
}

// reconExceptionColumns is what scanReconException reads, in its order.
const reconExceptionColumns = `id, run_id, channel, day, kind, line, order_no, trade_no, refund_no,
	bill_amount, bill_fee, bill_at, order_id, refund_id, our_amount, our_status, detail,
	status, action, note, resolved_by, resolved_at, carried_from, created_at`

func scanReconException(row scanner) (bursar.ReconException, error) {
	var e bursar.ReconException
	var day string
	var created int64
	var billAt, resolved sql.NullInt64
	err := row.Scan(&e.ID, &e.Run, &e.Channel, &day, &e.Kind, &e.Line, &e.OrderNo, &e.TradeNo, &e.RefundNo,
		&e.BillAmount, &e.BillFee, &billAt, &e.Order, &e.Refund, &e.OurAmount, &e.OurStatus, &e.Detail,
		&e.Status, &e.Action, &e.Note, &e.ResolvedBy, &resolved, &e.CarriedFrom, &created)
	if err != nil {
		return e, err
	}
	e.BillAt, e.ResolvedAt, e.CreatedAt = fromNullMS(billAt), fromNullMS(resolved), fromMS(created)
	e.Day, err = store.DayOf(day)
	return e, err
}

// ReconExceptionInsert implements store.Tx.
func (t *tx) ReconExceptionInsert(ctx context.Context, e bursar.ReconException) error {
	const q = `INSERT INTO recon_exceptions (` + reconExceptionColumns + `, match_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	_, err := t.tx.ExecContext(ctx, q, e.ID, e.Run, e.Channel, store.DayText(e.Day), e.Kind, e.Line, e.OrderNo,
		e.TradeNo, e.RefundNo, e.BillAmount, e.BillFee, nullMS(e.BillAt), e.Order, e.Refund, e.OurAmount, e.OurStatus,
		e.Detail, e.Status, e.Action, e.Note, e.ResolvedBy, nullMS(e.ResolvedAt), e.CarriedFrom, ms(e.CreatedAt), e.Key())
	if err != nil {
		err = translate(fmt.Errorf("insert reconciliation exception %s: %w", e.ID, err))
		if bursar.ErrorCode(err) == bursar.NotFound { // the only foreign key is the run's
			return fmt.Errorf("%w: %w", bursar.Errorf(bursar.NotFound, "There is no reconciliation run %s.", e.Run), err)
		}
		return err
	}
	return nil
}

// ReconExceptionGet implements store.Tx.
func (t *tx) ReconExceptionGet(ctx context.Context, id bursar.ReconExceptionID) (bursar.ReconException, error) {
	const q = `SELECT ` + reconExceptionColumns + ` FROM recon_exceptions WHERE id = ?`
	e, err := scanReconException(t.tx.QueryRowContext(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, bursar.Errorf(bursar.NotFound, "There is no reconciliation exception %s.", id)
	}
	if err != nil {
		return e, translate(fmt.Errorf("read reconciliation exception %s: %w", id, err))
	}
	return e, nil
}

// ReconExceptionResolve implements store.Tx as a compare-and-set on open.
func (t *tx) ReconExceptionResolve(ctx context.Context, e bursar.ReconException) error {
	const q = `UPDATE recon_exceptions SET status = ?, action = ?, note = ?, resolved_by = ?, resolved_at = ?,
		carried_from = ? WHERE id = ? AND status = 'open'`
	res, err := t.tx.ExecContext(ctx, q, e.Status, e.Action, e.Note, e.ResolvedBy, nullMS(e.ResolvedAt), e.CarriedFrom, e.ID)
	if err != nil {
		return translate(fmt.Errorf("resolve reconciliation exception %s: %w", e.ID, err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	cur, err := t.ReconExceptionGet(ctx, e.ID)
	if err != nil {
		return err
	}
	return bursar.Errorf(bursar.WrongState, "The reconciliation exception %s is %s, not open.", e.ID, cur.Status)
}

// ReconExceptionSupersede implements store.Tx.
func (t *tx) ReconExceptionSupersede(ctx context.Context, ch bursar.Channel, day time.Time, keep bursar.ReconRunID) (int, error) {
	const q = `UPDATE recon_exceptions SET status = 'superseded'
		WHERE channel = ? AND day = ? AND run_id <> ? AND status = 'open'`
	res, err := t.tx.ExecContext(ctx, q, ch, store.DayText(day), keep)
	if err != nil {
		return 0, translate(fmt.Errorf("supersede %s reconciliation exceptions of %s: %w", ch, store.DayText(day), err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ReconExceptionList implements store.Tx. A run's exceptions come in bill
// order, missing_theirs (line 0) first; others newest first.
func (t *tx) ReconExceptionList(ctx context.Context, f bursar.ReconExceptionFilter) ([]bursar.ReconException, bool, error) {
	if f.Limit < 1 || f.Limit > 1000 {
		return nil, false, bursar.InvalidParam("limit", "A limit is between 1 and 1000.")
	}
	var where []string
	var args []any
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if f.Run != "" {
		add("run_id = ?", f.Run)
	}
	if f.Channel != "" {
		add("channel = ?", f.Channel)
	}
	if !f.Day.IsZero() {
		add("day = ?", store.DayText(f.Day))
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	order := "created_at DESC, id DESC"
	if f.Run != "" {
		order = "line, id"
	}
	if f.Before != "" {
		if f.Run != "" {
			add("(line, id) > (SELECT line, id FROM recon_exceptions WHERE id = ?)", f.Before)
		} else {
			add("(created_at, id) < (SELECT created_at, id FROM recon_exceptions WHERE id = ?)", f.Before)
		}
	}
	q := `SELECT ` + reconExceptionColumns + ` FROM recon_exceptions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ") //nolint:gosec // G202: fixed conditions; every value is bound
	}
	q += ` ORDER BY ` + order + ` LIMIT ?`
	rows, err := t.tx.QueryContext(ctx, q, append(args, f.Limit+1)...)
	if err != nil {
		return nil, false, translate(fmt.Errorf("list reconciliation exceptions: %w", err))
	}
	defer rows.Close()
	var list []bursar.ReconException
	for rows.Next() {
		e, err := scanReconException(rows)
		if err != nil {
			return nil, false, fmt.Errorf("list reconciliation exceptions: %w", err)
		}
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, translate(fmt.Errorf("list reconciliation exceptions: %w", err))
	}
	more := len(list) > f.Limit
	if more {
		list = list[:f.Limit]
	}
	return list, more, nil
}

// reconRecords reads rows of order_id, order_no, refund_id, refund_no,
// amount, status, at.
func (t *tx) reconRecords(ctx context.Context, what, q string, args ...any) ([]store.ReconRecord, error) {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(fmt.Errorf("list %s: %w", what, err))
	}
	defer rows.Close()
	var list []store.ReconRecord
	for rows.Next() {
		var r store.ReconRecord
		var at int64
		if err := rows.Scan(&r.Order, &r.OrderNo, &r.Refund, &r.RefundNo, &r.Amount, &r.Status, &at); err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		r.At = fromMS(at)
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(fmt.Errorf("list %s: %w", what, err))
	}
	return list, nil
}

// ReconPayments implements store.Tx. A payment Bursar booked as received
// is paid, or a duplicate in any of its states; a mismatch booked nothing.
func (t *tx) ReconPayments(ctx context.Context, ch bursar.Channel, from, to time.Time) ([]store.ReconRecord, error) {
	const q = `SELECT o.id, o.order_no, '', '', o.amount, p.status, p.paid_at
		FROM payments p JOIN orders o ON o.id = p.order_id
		WHERE p.channel = ? AND p.paid_at >= ? AND p.paid_at < ?
			AND p.status IN ('paid', 'duplicate', 'returned', 'return_failed')
		ORDER BY p.paid_at, o.id`
	return t.reconRecords(ctx, string(ch)+" payments", q, ch, ms(from), ms(to))
}

// ReconRefunds implements store.Tx. A refund's time is its ledger entry's
// (refund:<id>); a returned duplicate's, its return entry's
// (return:<order>:<channel>).
func (t *tx) ReconRefunds(ctx context.Context, ch bursar.Channel, from, to time.Time) ([]store.ReconRecord, error) {
	const q = `SELECT o.id, o.order_no, r.id, r.channel_refund_no, r.amount, r.status, e.posted_at
		FROM entries e JOIN refunds r ON e.key = 'refund:' || r.id JOIN orders o ON o.id = r.order_id
		WHERE e.kind = 'refund' AND e.posted_at >= ? AND e.posted_at < ? AND o.channel = ?
		UNION ALL
		SELECT o.id, o.order_no, '', 'dup-' || o.order_no, o.amount, p.status, e.posted_at
		FROM entries e JOIN payments p ON e.key = 'return:' || p.order_id || ':' || p.channel
			JOIN orders o ON o.id = p.order_id
		WHERE e.kind = 'duplicate_return' AND e.posted_at >= ? AND e.posted_at < ? AND p.channel = ?
		ORDER BY 7, 1`
	return t.reconRecords(ctx, string(ch)+" refunds", q, ms(from), ms(to), ch, ms(from), ms(to), ch)
}

// ReconPayouts implements store.Tx. The condition on type repeats the
// partial index's literally, so SQLite uses it.
func (t *tx) ReconPayouts(ctx context.Context, ch bursar.Channel, from, to time.Time) ([]store.ReconRecord, error) {
	const q = `SELECT id, order_no, '', '', amount, status, completed_at FROM orders
		WHERE type = 'withdrawal' AND channel = ? AND completed_at >= ? AND completed_at < ? AND status = 'succeeded'
		ORDER BY completed_at, id`
	return t.reconRecords(ctx, string(ch)+" payouts", q, ch, ms(from), ms(to))
}
