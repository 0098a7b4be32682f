package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/bursar"
)

// ItemInsert implements store.Tx. A seller that does not exist is
// bursar.NotFound.
func (t *tx) ItemInsert(ctx context.Context, it bursar.Item) error {
	const q = `INSERT INTO items (id, seller_id, kind, title, price, currency, hold_seconds, duration_seconds, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	_, err := t.tx.Exec(ctx, q, it.ID, it.Seller, it.Kind, it.Title, it.Price.Amount, it.Price.Currency,
		seconds(it.Hold), seconds(it.Duration), it.CreatedAt, it.UpdatedAt)
	if err != nil {
		return translate(fmt.Errorf("insert item %s: %w", it.ID, err))
	}
	return nil
}

// ItemGet implements store.Tx.
func (t *tx) ItemGet(ctx context.Context, id bursar.ItemID) (bursar.Item, error) {
	var it bursar.Item
	var hold, duration int64
	var created, updated time.Time
	const q = `SELECT id, seller_id, kind, title, price, currency, hold_seconds, duration_seconds, created_at, updated_at
		FROM items WHERE id = $1`
	err := t.tx.QueryRow(ctx, q, id).Scan(&it.ID, &it.Seller, &it.Kind, &it.Title, &it.Price.Amount, &it.Price.Currency,
		&hold, &duration, &created, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return it, bursar.Errorf(bursar.NotFound, "There is no item %s.", id)
	}
	if err != nil {
		return it, translate(fmt.Errorf("read item %s: %w", id, err))
	}
	it.Hold, it.Duration = fromSeconds(hold), fromSeconds(duration)
	it.CreatedAt, it.UpdatedAt = created.UTC(), updated.UTC()
	return it, nil
}
