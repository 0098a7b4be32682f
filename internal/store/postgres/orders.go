package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/bursar"
)

// orderColumns is what scanOrder reads, in its order.
const orderColumns = `id, order_no, type, status, buyer_id, seller_id, item_id, subject, amount, currency, channel,
	paid_from_cash, paid_from_earnings, refunded, fee, hold_seconds, duration_seconds, metadata,
	created_at, expires_at, paid_at, release_at, completed_at, access_until, updated_at,
	payout_account, payout_name, channel_ref, failure_reason, needs_approval`

// scanOrder reads a row of orderColumns. Metadata stored as "{}" comes back
// nil, so an order without metadata reads back the same whichever it was given.
func scanOrder(row pgx.Row) (bursar.Order, error) {
	var o bursar.Order
	var hold, duration int64
	var created, updated time.Time
	var expires, paid, release, completed, access *time.Time
	var meta []byte
	err := row.Scan(&o.ID, &o.No, &o.Type, &o.Status, &o.Buyer, &o.Seller, &o.Item, &o.Subject,
		&o.Amount.Amount, &o.Amount.Currency, &o.Channel,
		&o.PaidFromCash, &o.PaidFromEarnings, &o.Refunded, &o.Fee, &hold, &duration, &meta,
		&created, &expires, &paid, &release, &completed, &access, &updated,
		&o.PayoutAccount, &o.PayoutName, &o.ChannelRef, &o.FailureReason, &o.NeedsApproval)
	if err != nil {
		return o, err
	}
	o.Hold, o.Duration = fromSeconds(hold), fromSeconds(duration)
	o.CreatedAt, o.UpdatedAt = created.UTC(), updated.UTC()
	o.ExpiresAt, o.PaidAt, o.ReleaseAt = fromNull(expires), fromNull(paid), fromNull(release)
	o.CompletedAt, o.AccessUntil = fromNull(completed), fromNull(access)
	if err := json.Unmarshal(meta, &o.Metadata); err != nil {
		return o, fmt.Errorf("metadata of order %s: %w", o.ID, err)
	}
	if len(o.Metadata) == 0 {
		o.Metadata = nil
	}
	return o, nil
}

// metadataJSON encodes metadata for its column; none is "{}", never "null".
// It is a string so that pgx sends it as JSON text instead of marshalling it
// again.
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
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
			$19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)`
	_, err := t.tx.Exec(ctx, q, o.ID, o.No, o.Type, o.Status, o.Buyer, o.Seller, o.Item, o.Subject,
		o.Amount.Amount, o.Amount.Currency, o.Channel,
		o.PaidFromCash, o.PaidFromEarnings, o.Refunded, o.Fee, seconds(o.Hold), seconds(o.Duration), metadataJSON(o.Metadata),
		o.CreatedAt, nullTime(o.ExpiresAt), nullTime(o.PaidAt), nullTime(o.ReleaseAt), nullTime(o.CompletedAt),
		nullTime(o.AccessUntil), o.UpdatedAt,
		o.PayoutAccount, o.PayoutName, o.ChannelRef, o.FailureReason, o.NeedsApproval)
	if err != nil {
		return translate(fmt.Errorf("insert order %s: %w", o.ID, err))
	}
	return nil
}

// OrderGet implements store.Tx.
func (t *tx) OrderGet(ctx context.Context, id bursar.OrderID) (bursar.Order, error) {
	const q = `SELECT ` + orderColumns + ` FROM orders WHERE id = $1`
	return t.orderGet(ctx, q, id)
}

// OrderGetForUpdate implements store.Tx with SELECT … FOR UPDATE: another
// transaction that wants the order waits until this one ends, then sees
// what it wrote.
func (t *tx) OrderGetForUpdate(ctx context.Context, id bursar.OrderID) (bursar.Order, error) {
	return t.orderGet(ctx, orderForUpdate, id)
}

const orderForUpdate = `SELECT ` + orderColumns + ` FROM orders WHERE id = $1 FOR UPDATE`

// orderGet reads an order with q, one of the two queries above.
func (t *tx) orderGet(ctx context.Context, q string, id bursar.OrderID) (bursar.Order, error) {
	o, err := scanOrder(t.tx.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return o, bursar.Errorf(bursar.NotFound, "There is no order %s.", id)
	}
	if err != nil {
		return o, translate(fmt.Errorf("read order %s: %w", id, err))
	}
	return o, nil
}

// OrderGetByNo implements store.Tx.
func (t *tx) OrderGetByNo(ctx context.Context, no string) (bursar.Order, error) {
	o, err := scanOrder(t.tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE order_no = $1`, no))
	if errors.Is(err, pgx.ErrNoRows) {
		return o, bursar.Errorf(bursar.NotFound, "There is no order with the number %s.", no)
	}
	if err != nil {
		return o, translate(fmt.Errorf("read order number %s: %w", no, err))
	}
	return o, nil
}

// OrderUpdate implements store.Tx. The status in the WHERE clause is the
// compare-and-set: a racing update waits for the row lock, then finds the
// status changed and matches nothing. Only then is the order read, to tell
// a missing order from one that moved on.
func (t *tx) OrderUpdate(ctx context.Context, o bursar.Order, from bursar.OrderStatus) error {
	const q = `UPDATE orders SET status = $1, channel = $2, paid_from_cash = $3, paid_from_earnings = $4, refunded = $5,
			fee = $6, metadata = $7, expires_at = $8, paid_at = $9, release_at = $10, completed_at = $11,
			access_until = $12, updated_at = $13, payout_account = $14, payout_name = $15, channel_ref = $16,
			failure_reason = $17, needs_approval = $18
		WHERE id = $19 AND status = $20`
	res, queued, err := t.tx.later(ctx, oneRow, q, o.Status, o.Channel, o.PaidFromCash, o.PaidFromEarnings, o.Refunded, o.Fee,
		metadataJSON(o.Metadata), nullTime(o.ExpiresAt), nullTime(o.PaidAt), nullTime(o.ReleaseAt), nullTime(o.CompletedAt),
		nullTime(o.AccessUntil), o.UpdatedAt, o.PayoutAccount, o.PayoutName, o.ChannelRef, o.FailureReason, o.NeedsApproval,
		o.ID, from)
	if err != nil {
		return translate(fmt.Errorf("update order %s: %w", o.ID, err))
	}
	if queued || res.RowsAffected() == 1 {
		return nil
	}
	var status bursar.OrderStatus
	err = t.tx.QueryRow(ctx, `SELECT status FROM orders WHERE id = $1`, o.ID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
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
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Buyer != "" {
		where = append(where, "buyer_id = "+arg(f.Buyer))
	}
	if f.Seller != "" {
		where = append(where, "seller_id = "+arg(f.Seller))
	}
	if f.Party != "" {
		p := arg(f.Party)
		where = append(where, "(buyer_id = "+p+" OR seller_id = "+p+")")
	}
	if f.Type != "" {
		where = append(where, "type = "+arg(f.Type))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if len(f.Statuses) > 0 {
		in := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			in[i] = arg(st)
		}
		where = append(where, "status IN ("+strings.Join(in, ", ")+")")
	}
	if f.Item != "" {
		where = append(where, "item_id = "+arg(f.Item))
	}
	if f.ChatID != "" {
		where = append(where, "metadata->>'chat_id' = "+arg(f.ChatID))
	}
	if !f.From.IsZero() {
		where = append(where, "created_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "created_at < "+arg(f.To))
	}
	order := "created_at DESC, id DESC"
	if f.After != "" {
		created, err := t.orderCursor(ctx, f.After, "starting_after")
		if err != nil {
			return nil, false, err
		}
		where = append(where, "(created_at, id) < ("+arg(created)+", "+arg(f.After)+")")
	}
	if f.Before != "" {
		created, err := t.orderCursor(ctx, f.Before, "ending_before")
		if err != nil {
			return nil, false, err
		}
		where = append(where, "(created_at, id) > ("+arg(created)+", "+arg(f.Before)+")")
		order = "created_at, id"
	}
	q := `SELECT ` + orderColumns + ` FROM orders`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY ` + order + ` LIMIT ` + arg(f.Limit+1)
	if f.Offset > 0 {
		q += ` OFFSET ` + arg(f.Offset)
	}
	rows, err := t.tx.Query(ctx, q, args...)
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

// orderCursor returns the creation time of the order a list cursor names;
// param is the cursor's name for the error.
func (t *tx) orderCursor(ctx context.Context, id bursar.OrderID, param string) (time.Time, error) {
	var created time.Time
	err := t.tx.QueryRow(ctx, `SELECT created_at FROM orders WHERE id = $1`, id).Scan(&created)
	if errors.Is(err, pgx.ErrNoRows) {
		return created, bursar.InvalidParam(param, "There is no order %s to page from.", id)
	}
	if err != nil {
		return created, translate(fmt.Errorf("read order cursor %s: %w", id, err))
	}
	return created, nil
}

// OrderFindEntitling implements store.Tx.
func (t *tx) OrderFindEntitling(ctx context.Context, buyer bursar.UserID, item bursar.ItemID, now time.Time) (bursar.Order, error) {
	const q = `SELECT ` + orderColumns + ` FROM orders
		WHERE buyer_id = $1 AND item_id = $2 AND type = $3 AND status IN ($4, $5, $6)
			AND (access_until IS NULL OR access_until > $7)
		ORDER BY created_at DESC, id DESC LIMIT 1`
	o, err := scanOrder(t.tx.QueryRow(ctx, q, buyer, item, bursar.OrderPurchase,
		bursar.OrderPaid, bursar.OrderRefundRequested, bursar.OrderCompleted, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return o, bursar.Errorf(bursar.NotFound, "The user %s has no access to the item %s.", buyer, item)
	}
	if err != nil {
		return o, translate(fmt.Errorf("find purchase of %s by %s: %w", item, buyer, err))
	}
	return o, nil
}

// WithdrawalTotals implements store.Tx. The type is a literal, not a bound
// value, so PostgreSQL can match the partial index orders_withdrawal_idx in
// a generic plan. The sum is numeric in PostgreSQL; past the largest amount
// the cast back to bigint fails with numeric_value_out_of_range, which
// translate makes errTooLarge.
func (t *tx) WithdrawalTotals(ctx context.Context, user bursar.UserID, since time.Time) (int, bursar.Amount, error) {
	const q = `SELECT count(*), coalesce(sum(amount), 0)::bigint FROM orders
		WHERE buyer_id = $1 AND type = 'withdrawal' AND created_at >= $2 AND status <> $3`
	var n int
	var sum bursar.Amount
	if err := t.tx.QueryRow(ctx, q, user, since, bursar.OrderFailed).Scan(&n, &sum); err != nil {
		return 0, 0, translate(fmt.Errorf("sum up withdrawals of %s: %w", user, err))
	}
	return n, sum, nil
}
