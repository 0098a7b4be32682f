package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"bursar.dev/bursar/internal/bursar"
)

// paymentColumns is what scanPayment reads, in its order.
const paymentColumns = `order_id, channel, method, amount, currency, status, trade_no, payer,
	created_at, paid_at, updated_at`

// scanPayment reads a row of paymentColumns.
func scanPayment(row scanner) (bursar.Payment, error) {
	var p bursar.Payment
	var created, updated int64
	var paid sql.NullInt64
	err := row.Scan(&p.Order, &p.Channel, &p.Method, &p.Amount.Amount, &p.Amount.Currency, &p.Status,
		&p.TradeNo, &p.Payer, &created, &paid, &updated)
	if err != nil {
		return p, err
	}
	p.CreatedAt, p.PaidAt, p.UpdatedAt = fromMS(created), fromNullMS(paid), fromMS(updated)
	return p, nil
}

// PaymentPut implements store.Tx with one upsert.
func (t *tx) PaymentPut(ctx context.Context, p bursar.Payment) error {
	const q = `INSERT INTO payments (` + paymentColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (order_id, channel) DO UPDATE SET method = excluded.method, amount = excluded.amount,
			currency = excluded.currency, status = excluded.status, trade_no = excluded.trade_no,
			payer = excluded.payer, created_at = excluded.created_at, paid_at = excluded.paid_at,
			updated_at = excluded.updated_at`
	_, err := t.tx.ExecContext(ctx, q, p.Order, p.Channel, p.Method, p.Amount.Amount, p.Amount.Currency, p.Status,
		p.TradeNo, p.Payer, ms(p.CreatedAt), nullMS(p.PaidAt), ms(p.UpdatedAt))
	if err != nil {
		return translate(fmt.Errorf("put %s payment of order %s: %w", p.Channel, p.Order, err))
	}
	return nil
}

// PaymentGet implements store.Tx.
func (t *tx) PaymentGet(ctx context.Context, order bursar.OrderID, ch bursar.Channel) (bursar.Payment, error) {
	const q = `SELECT ` + paymentColumns + ` FROM payments WHERE order_id = ? AND channel = ?`
	p, err := scanPayment(t.tx.QueryRowContext(ctx, q, order, ch))
	if errors.Is(err, sql.ErrNoRows) {
		return p, bursar.Errorf(bursar.NotFound, "The order %s has no payment at %s.", order, ch)
	}
	if err != nil {
		return p, translate(fmt.Errorf("read %s payment of order %s: %w", ch, order, err))
	}
	return p, nil
}

// PaymentList implements store.Tx. An order has a payment at each channel
// at most, so there is no limit; the primary key finds them.
func (t *tx) PaymentList(ctx context.Context, order bursar.OrderID) ([]bursar.Payment, error) {
	const q = `SELECT ` + paymentColumns + ` FROM payments WHERE order_id = ? ORDER BY created_at, channel`
	rows, err := t.tx.QueryContext(ctx, q, order)
	if err != nil {
		return nil, translate(fmt.Errorf("list payments of order %s: %w", order, err))
	}
	defer rows.Close()
	var list []bursar.Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("list payments of order %s: %w", order, err)
		}
		list = append(list, p)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(fmt.Errorf("list payments of order %s: %w", order, err))
	}
	return list, nil
}
