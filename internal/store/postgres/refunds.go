package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/bursar"
)

// refundColumns is what scanRefund reads, in its order.
const refundColumns = `id, order_id, amount, currency, reason, status, requested_by, decided_by, decision_note,
	to_earnings, to_cash, channel_refund_no, channel_ref, created_at, decided_at`

// scanRefund reads a row of refundColumns.
func scanRefund(row pgx.Row) (bursar.Refund, error) {
	var r bursar.Refund
	var created time.Time
	var decided *time.Time
	err := row.Scan(&r.ID, &r.Order, &r.Amount.Amount, &r.Amount.Currency, &r.Reason, &r.Status,
		&r.RequestedBy, &r.DecidedBy, &r.DecisionNote, &r.ToEarnings, &r.ToCash,
		&r.ChannelRefundNo, &r.ChannelRef, &created, &decided)
	if err != nil {
		return r, err
	}
	r.CreatedAt, r.DecidedAt = created.UTC(), fromNull(decided)
	return r, nil
}

// RefundInsert implements store.Tx. A second open refund (requested or
// processing) for one order breaks the unique partial index refunds_one_open.
func (t *tx) RefundInsert(ctx context.Context, r bursar.Refund) error {
	const q = `INSERT INTO refunds (` + refundColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	_, err := t.tx.Exec(ctx, q, r.ID, r.Order, r.Amount.Amount, r.Amount.Currency, r.Reason, r.Status,
		r.RequestedBy, r.DecidedBy, r.DecisionNote, r.ToEarnings, r.ToCash, r.ChannelRefundNo, r.ChannelRef,
		r.CreatedAt, nullTime(r.DecidedAt))
	if err != nil {
		return translate(fmt.Errorf("insert refund %s: %w", r.ID, err))
	}
	return nil
}

// RefundGet implements store.Tx.
func (t *tx) RefundGet(ctx context.Context, id bursar.RefundID) (bursar.Refund, error) {
	const q = `SELECT ` + refundColumns + ` FROM refunds WHERE id = $1`
	return t.refundGet(ctx, q, id)
}

// RefundGetForUpdate implements store.Tx with SELECT … FOR UPDATE: another
// transaction deciding the same refund waits until this one ends, then sees
// what it wrote.
func (t *tx) RefundGetForUpdate(ctx context.Context, id bursar.RefundID) (bursar.Refund, error) {
	const q = `SELECT ` + refundColumns + ` FROM refunds WHERE id = $1 FOR UPDATE`
	return t.refundGet(ctx, q, id)
}

// refundGet reads a refund with q, one of the two queries above.
func (t *tx) refundGet(ctx context.Context, q string, id bursar.RefundID) (bursar.Refund, error) {
	r, err := scanRefund(t.tx.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, bursar.Errorf(bursar.NotFound, "There is no refund %s.", id)
	}
	if err != nil {
		return r, translate(fmt.Errorf("read refund %s: %w", id, err))
	}
	return r, nil
}

// RefundUpdate implements store.Tx. The status in the WHERE clause is the
// compare-and-set: a racing update waits for the row lock, then finds the
// status changed and matches nothing. Only then is the refund read, to tell
// a missing refund from one that moved on.
func (t *tx) RefundUpdate(ctx context.Context, r bursar.Refund, from bursar.RefundStatus) error {
	const q = `UPDATE refunds SET status = $1, decided_by = $2, decision_note = $3, to_earnings = $4, to_cash = $5,
			channel_refund_no = $6, channel_ref = $7, decided_at = $8
		WHERE id = $9 AND status = $10`
	res, err := t.tx.Exec(ctx, q, r.Status, r.DecidedBy, r.DecisionNote, r.ToEarnings, r.ToCash,
		r.ChannelRefundNo, r.ChannelRef, nullTime(r.DecidedAt), r.ID, from)
	if err != nil {
		return translate(fmt.Errorf("update refund %s: %w", r.ID, err))
	}
	if res.RowsAffected() == 1 {
		return nil
	}
	var status bursar.RefundStatus
	err = t.tx.QueryRow(ctx, `SELECT status FROM refunds WHERE id = $1`, r.ID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
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
	const q = `SELECT ` + refundColumns + ` FROM refunds WHERE order_id = $1 ORDER BY created_at, id`
	rows, err := t.tx.Query(ctx, q, order)
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
