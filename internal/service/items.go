package service

import (
	"context"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Items manages what sellers sell.
type Items struct{ deps Deps }

// NewItems returns the item use cases.
func NewItems(d Deps) *Items { return &Items{deps: d} }

// Create stores a new item for its seller. A user may create items only as
// their own seller; the platform for anyone. A zero Hold means the default.
func (is *Items) Create(ctx context.Context, actor bursar.Actor, it bursar.Item) (bursar.Item, error) {
	if !actor.MaySee(it.Seller) {
		return bursar.Item{}, bursar.InvalidParam("seller_id", "A user may sell only as themselves.")
	}
	if it.ID == "" {
		it.ID = bursar.ItemID(newID("itm_"))
	} else if _, err := bursar.ParseUserID(string(it.ID)); err != nil {
		return bursar.Item{}, bursar.InvalidParam("id", "An item ID is 1 to 64 letters, digits, '_' or '-'.")
	}
	if it.Price.Currency == "" {
		it.Price.Currency = bursar.CNY
	}
	if it.Hold == 0 {
		it.Hold = bursar.DefaultHold
	}
	if err := it.Validate(); err != nil {
		return bursar.Item{}, err
	}
	it.CreatedAt = is.deps.now()
	it.UpdatedAt = it.CreatedAt
	err := is.deps.DB.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.UserGet(ctx, it.Seller); err != nil {
			if bursar.ErrorCode(err) == bursar.NotFound {
				return bursar.InvalidParam("seller_id", "There is no user %s.", it.Seller)
			}
			return err
		}
		return tx.ItemInsert(ctx, it)
	})
	return it, err
}

// Get returns an item. Items are a public catalogue: any authenticated
// actor may read one.
func (is *Items) Get(ctx context.Context, id bursar.ItemID) (bursar.Item, error) {
	var it bursar.Item
	err := is.deps.read(ctx, func(tx store.Tx) error {
		var err error
		it, err = tx.ItemGet(ctx, id)
		return err
	})
	return it, err
}
