package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"bursar.dev/bursar/internal/bursar"
)

// refundColumns is what scanRefund reads, in its order.
const refundColumns = `id, order_id, amount, currency, reason, status, requested_by, decided_by, decision_note,
	to_earnings, to_cash, channel_refund_no, channel_ref, created_at, decided_at`

// scanRefund reads a row of refundColumns.
func scanRefund(row scanner) (bursar.Refund, error) {
	var r bursar.Refund
	var created int64
	var decided sql.NullInt64
	err := row.Scan(&r.ID, &r.Order, &r.Amount.Amount, &r.Amount.Currency, &r.Reason, &r.Status,
		&r.RequestedBy, &r.DecidedBy, &r.DecisionNote, &r.ToEarnings, &r.ToCash,
		&r.ChannelRefundNo, &r.ChannelRef, &created, &decided)
	if err != nil {
		return r, err
	}
	r.CreatedAt, r.DecidedAt = fromMS(created), fromNullMS(decided)
	return r, nil
}

// RefundInsert implements store.Tx. A second open refund (requested or
// processing) for one order breaks the unique partial index
// refunds_one_open, which SQLite reports as refunds.order_id.
func (t *tx) RefundInsert(ctx context.Context, r bursar.Refund) error {
	const q = `INSERT INTO refunds (` + refundColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	_, err := t.tx.ExecContext(ctx, q, r.ID, r.Order, r.Amount.Amount, r.Amount.Currency, r.Reason, r.Status,
		r.RequestedBy, r.DecidedBy, r.DecisionNote, r.ToEarnings, r.ToCash, r.ChannelRefundNo, r.ChannelRef,
		ms(r.CreatedAt), nullMS(r.DecidedAt))
	if err != nil {
		return translate(fmt.Errorf("insert refund %s: %w", r.ID, err))
	}
	return nil
}

// RefundGet implements store.Tx.
func (t *tx) RefundGet(ctx context.Context, id bursar.RefundID) (bursar.Refund, error) {
	r, err := scanRefund(t.tx.QueryRowContext(ctx, `SELECT `+refundColumns+` FROM refunds WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, bursar.Errorf(bursar.NotFound, "There is no refund %s.", id)
	}
	if err != nil {
		return r, translate(fmt.Errorf("read refund %s: %w", id, err))
	}
	return r, nil
}

// RefundGetForUpdate implements store.Tx. It is RefundGet: a write
// transaction holds SQLite's one write lock from its start.
func (t *tx) RefundGetForUpdate(ctx context.Context, id bursar.RefundID) (bursar.Refund, error) {
	return t.RefundGet(ctx, id)
}

// RefundUpdate implements store.Tx. The status in the WHERE clause is the
// compare-and-set; only when it matches nothing is the refund read, to tell
// a missing refund from one that moved on.
func (t *tx) RefundUpdate(ctx context.Context, r bursar.Refund, from bursar.RefundStatus) error {
	const q = `UPDATE refunds SET status = ?, decided_by = ?, decision_note = ?, to_earnings = ?, to_cash = ?,
			channel_refund_no = ?, channel_ref = ?, decided_at = ?
		WHERE id = ? AND status = ?`
	res, err := t.tx.ExecContext(ctx, q, r.Status, r.DecidedBy, r.DecisionNote, r.ToEarnings, r.ToCash,
		r.ChannelRefundNo, r.ChannelRef, nullMS(r.DecidedAt), r.ID, from)
	if err != nil {
		return translate(fmt.Errorf("update refund %s: %w", r.ID, err))
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var status bursar.RefundStatus
	err = t.tx.QueryRowContext(ctx, `SELECT status FROM refunds WHERE id = ?`, r.ID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return bursar.Errorf(bursar.NotFound, "There is no refund %s.", r.ID)
	}
	if err != nil {
		return translate(fmt.Errorf("read status of refund %s: %w", r.ID, err))
	}
	return bursar.Errorf(bursar.WrongState, "The refund %s is %s, not %s.", r.ID, status, from)
}

// RefundList implements store.Tx. An order has a handful of refunds at
// most, so there is no limit.
func (t *tx) RefundList(ctx context.Context, order bursar.OrderID) ([]bursar.Refund, error) {
	const q = `SELECT ` + refundColumns + ` FROM refunds WHERE order_id = ? ORDER BY created_at, id`
	rows, err := t.tx.QueryContext(ctx, q, order)
	if err != nil {
		return nil, translate(fmt.Errorf("list refunds of order %s: %w", order, err))
	}
	defer rows.Close()
	var list []bursar.Refund
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, fmt.Errorf("list refunds of order %s: %w", order, err)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(fmt.Errorf("list refunds of order %s: %w", order, err))
	}
	return list, nil
}
