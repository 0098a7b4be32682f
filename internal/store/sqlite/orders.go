package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"bursar.dev/bursar/internal/bursar"
)

// orderColumns is what scanOrder reads, in its order.
const orderColumns = `id, order_no, type, status, buyer_id, seller_id, item_id, subject, amount, currency, channel,
	paid_from_cash, paid_from_earnings, refunded, fee, hold_seconds, duration_seconds, metadata,
	created_at, expires_at, paid_at, release_at, completed_at, access_until, updated_at,
	payout_account, payout_name, channel_ref, failure_reason, needs_approval`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanOrder reads a row of orderColumns. Metadata stored as "{}" comes back
// nil, so an order without metadata reads back the same whichever it was given.
func scanOrder(row scanner) (bursar.Order, error) {
	var o bursar.Order
	var hold, duration, created, updated int64
	var expires, paid, release, completed, access sql.NullInt64
	var meta string
	err := row.Scan(&o.ID, &o.No, &o.Type, &o.Status, &o.Buyer, &o.Seller, &o.Item, &o.Subject,
		&o.Amount.Amount, &o.Amount.Currency, &o.Channel,
		&o.PaidFromCash, &o.PaidFromEarnings, &o.Refunded, &o.Fee, &hold, &duration, &meta,
		&created, &expires, &paid, &release, &completed, &access, &updated,
		&o.PayoutAccount, &o.PayoutName, &o.ChannelRef, &o.FailureReason, &o.NeedsApproval)
	if err != nil {
		return o, err
	}
	o.Hold, o.Duration = fromSeconds(hold), fromSeconds(duration)
	o.CreatedAt, o.UpdatedAt = fromMS(created), fromMS(updated)
	o.ExpiresAt, o.PaidAt, o.ReleaseAt = fromNullMS(expires), fromNullMS(paid), fromNullMS(release)
	o.CompletedAt, o.AccessUntil = fromNullMS(completed), fromNullMS(access)
	if err := json.Unmarshal([]byte(meta), &o.Metadata); err != nil {
		return o, fmt.Errorf("metadata of order %s: %w", o.ID, err)
	}
	if len(o.Metadata) == 0 {
		o.Metadata = nil
	}
	return o, nil
}

// metadataJSON encodes metadata for its column; none is "{}", never "null".
func metadataJSON(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map of strings always marshals
	return string(b)
}

// OrderInsert implements store.Tx.
func (t *tx) OrderInsert(ctx context.Context, o bursar.Order) error {
	const q = `INSERT INTO orders (` + orderColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	_, err := t.tx.ExecContext(ctx, q, o.ID, o.No, o.Type, o.Status, o.Buyer, o.Seller, o.Item, o.Subject,
		o.Amount.Amount, o.Amount.Currency, o.Channel,
		o.PaidFromCash, o.PaidFromEarnings, o.Refunded, o.Fee, seconds(o.Hold), seconds(o.Duration), metadataJSON(o.Metadata),
		ms(o.CreatedAt), nullMS(o.ExpiresAt), nullMS(o.PaidAt), nullMS(o.ReleaseAt), nullMS(o.CompletedAt),
		nullMS(o.AccessUntil), ms(o.UpdatedAt),
		o.PayoutAccount, o.PayoutName, o.ChannelRef, o.FailureReason, o.NeedsApproval)
	if err != nil {
		return translate(fmt.Errorf("insert order %s: %w", o.ID, err))
	}
	return nil
}

// OrderGet implements store.Tx.
func (t *tx) OrderGet(ctx context.Context, id bursar.OrderID) (bursar.Order, error) {
	o, err := scanOrder(t.tx.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return o, bursar.Errorf(bursar.NotFound, "There is no order %s.", id)
	}
	if err != nil {
		return o, translate(fmt.Errorf("read order %s: %w", id, err))
	}
	return o, nil
}

// OrderGetForUpdate implements store.Tx. It is OrderGet: a write
// transaction holds SQLite's one write lock from its start.
func (t *tx) OrderGetForUpdate(ctx context.Context, id bursar.OrderID) (bursar.Order, error) {
	return t.OrderGet(ctx, id)
}

// OrderGetByNo implements store.Tx.
func (t *tx) OrderGetByNo(ctx context.Context, no string) (bursar.Order, error) {
	o, err := scanOrder(t.tx.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE order_no = ?`, no))
	if errors.Is(err, sql.ErrNoRows) {
		return o, bursar.Errorf(bursar.NotFound, "There is no order with the number %s.", no)
	}
	if err != nil {
		return o, translate(fmt.Errorf("read order number %s: %w", no, err))
	}
	return o, nil
}

// OrderUpdate implements store.Tx. The status in the WHERE clause is the
// compare-and-set; only when it matches nothing is the order read, to tell
// a missing order from one that moved on.
func (t *tx) OrderUpdate(ctx context.Context, o bursar.Order, from bursar.OrderStatus) error {
	const q = `UPDATE orders SET status = ?, channel = ?, paid_from_cash = ?, paid_from_earnings = ?, refunded = ?, fee = ?,
			metadata = ?, expires_at = ?, paid_at = ?, release_at = ?, completed_at = ?, access_until = ?, updated_at = ?,
			payout_account = ?, payout_name = ?, channel_ref = ?, failure_reason = ?, needs_approval = ?
		WHERE id = ? AND status = ?`
	res, err := t.tx.ExecContext(ctx, q, o.Status, o.Channel, o.PaidFromCash, o.PaidFromEarnings, o.Refunded, o.Fee,
		metadataJSON(o.Metadata), nullMS(o.ExpiresAt), nullMS(o.PaidAt), nullMS(o.ReleaseAt), nullMS(o.CompletedAt),
		nullMS(o.AccessUntil), ms(o.UpdatedAt), o.PayoutAccount, o.PayoutName, o.ChannelRef, o.FailureReason, o.NeedsApproval,
		o.ID, from)
	if err != nil {
		return translate(fmt.Errorf("update order %s: %w", o.ID, err))
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var status bursar.OrderStatus
	err = t.tx.QueryRowContext(ctx, `SELECT status FROM orders WHERE id = ?`, o.ID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return bursar.Errorf(bursar.NotFound, "There is no order %s.", o.ID)
	}
	if err != nil {
		return translate(fmt.Errorf("read status of order %s: %w", o.ID, err))
	}
	return bursar.Errorf(bursar.WrongState, "The order %s is %s, not %s.", o.ID, status, from)
}

// maxOffset bounds how deep number paging may go: each page reads and
// skips every order before it.
const maxOffset = 10_000

// OrderList implements store.Tx. It reads one row past the limit to learn
// whether there are more. A Before page is read oldest first, starting next
// to the cursor, and turned around. Every value is a bound parameter; only
// the fixed conditions below are joined into the statement.
func (t *tx) OrderList(ctx context.Context, f bursar.OrderFilter) ([]bursar.Order, bool, error) {
	if f.Limit < 1 || f.Limit > 100 {
		return nil, false, bursar.InvalidParam("limit", "A limit is between 1 and 100.")
	}
	if f.Offset < 0 || f.Offset > maxOffset {
		return nil, false, bursar.InvalidParam("offset", "An offset is between 0 and %d.", maxOffset)
	}
	var where []string
	var args []any
	add := func(cond string, vs ...any) {
		where = append(where, cond)
		args = append(args, vs...)
	}
	if f.Buyer != "" {
		add("buyer_id = ?", f.Buyer)
	}
	if f.Seller != "" {
		add("seller_id = ?", f.Seller)
	}
	if f.Party != "" {
		add("(buyer_id = ? OR seller_id = ?)", f.Party, f.Party)
	}
	if f.Type != "" {
		add("type = ?", f.Type)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if len(f.Statuses) > 0 {
		in := make([]any, len(f.Statuses))
		for i, st := range f.Statuses {
			in[i] = st
		}
		add("status IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(in)), ", ")+")", in...)
	}
	if f.Item != "" {
		add("item_id = ?", f.Item)
	}
	if f.ChatID != "" {
		add("json_extract(metadata, '$.chat_id') = ?", f.ChatID)
	}
	if !f.From.IsZero() {
		add("created_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		add("created_at < ?", ms(f.To))
	}
	order := "created_at DESC, id DESC"
	if f.After != "" {
		created, err := t.orderCursor(ctx, f.After, "starting_after")
		if err != nil {
			return nil, false, err
		}
		add("(created_at, id) < (?, ?)", created, f.After)
	}
	if f.Before != "" {
		created, err := t.orderCursor(ctx, f.Before, "ending_before")
		if err != nil {
			return nil, false, err
		}
		add("(created_at, id) > (?, ?)", created, f.Before)
		order = "created_at, id"
	}
	q := `SELECT ` + orderColumns + ` FROM orders`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ") //nolint:gosec // G202: fixed conditions; every value is bound
	}
	q += ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	args = append(args, f.Limit+1, f.Offset)
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, translate(fmt.Errorf("list orders: %w", err))
	}
	defer rows.Close()
	var list []bursar.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, false, fmt.Errorf("list orders: %w", err)
		}
		list = append(list, o)
	}
	if err := rows.Err(); err != nil {
		return nil, false, translate(fmt.Errorf("list orders: %w", err))
	}
	more := len(list) > f.Limit
	if more {
		list = list[:f.Limit]
	}
	if f.Before != "" {
		slices.Reverse(list)
	}
	return list, more, nil
}

// orderCursor returns the creation time, as stored, of the order a list
// cursor names; param is the cursor's name for the error.
func (t *tx) orderCursor(ctx context.Context, id bursar.OrderID, param string) (int64, error) {
	var created int64
	err := t.tx.QueryRowContext(ctx, `SELECT created_at FROM orders WHERE id = ?`, id).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, bursar.InvalidParam(param, "There is no order %s to page from.", id)
	}
	if err != nil {
		return 0, translate(fmt.Errorf("read order cursor %s: %w", id, err))
	}
	return created, nil
}

// OrderFindEntitling implements store.Tx.
func (t *tx) OrderFindEntitling(ctx context.Context, buyer bursar.UserID, item bursar.ItemID, now time.Time) (bursar.Order, error) {
	const q = `SELECT ` + orderColumns + ` FROM orders
		WHERE buyer_id = ? AND item_id = ? AND type = ? AND status IN (?, ?, ?)
			AND (access_until IS NULL OR access_until > ?)
		ORDER BY created_at DESC, id DESC LIMIT 1`
	o, err := scanOrder(t.tx.QueryRowContext(ctx, q, buyer, item, bursar.OrderPurchase,
		bursar.OrderPaid, bursar.OrderRefundRequested, bursar.OrderCompleted, ms(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return o, bursar.Errorf(bursar.NotFound, "The user %s has no access to the item %s.", buyer, item)
	}
	if err != nil {
		return o, translate(fmt.Errorf("find purchase of %s by %s: %w", item, buyer, err))
	}
	return o, nil
}

// WithdrawalTotals implements store.Tx. The type is a literal, not a bound
// value: SQLite uses the partial index orders_withdrawal_idx only when the
// query repeats its condition as written. A sum past the largest amount
// fails with "integer overflow", which is errTooLarge, as PostgreSQL's is.
func (t *tx) WithdrawalTotals(ctx context.Context, user bursar.UserID, since time.Time) (int, bursar.Amount, error) {
	const q = `SELECT count(*), coalesce(sum(amount), 0) FROM orders
		WHERE buyer_id = ? AND type = 'withdrawal' AND created_at >= ? AND status <> ?`
	var n int
	var sum bursar.Amount
	err := t.tx.QueryRowContext(ctx, q, user, ms(since), bursar.OrderFailed).Scan(&n, &sum)
	if se, ok := errors.AsType[*sqlite.Error](err); ok && se.Code() == sqlite3.SQLITE_ERROR &&
		strings.Contains(se.Error(), "integer overflow") {
		return 0, 0, fmt.Errorf("%w: sum up withdrawals of %s: %w", errTooLarge, user, err)
	}
	if err != nil {
		return 0, 0, translate(fmt.Errorf("sum up withdrawals of %s: %w", user, err))
	}
	return n, sum, nil
}
