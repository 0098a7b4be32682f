package service

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Orders creates purchases and takes them through payment and completion.
type Orders struct{ deps Deps }

// NewOrders returns the order use cases.
func NewOrders(d Deps) *Orders { return &Orders{deps: d} }

// PurchaseInput is a new purchase.
type PurchaseInput struct {
	Buyer bursar.UserID
	Item  bursar.ItemID // the price comes from the item
	// Amount, when set, overrides the price (a discount, or a purchase of
	// something not in the catalogue with Seller set); platform only.
	Amount   *bursar.Amount
	Seller   bursar.UserID // only with Amount and no Item
	Subject  string        // defaults to the item's title
	Metadata map[string]string
}

// CreatePurchase creates a purchase order. It returns the order and whether
// it already existed: a course the buyer owns returns the purchase that
// granted it. A free or zero-total purchase is created completed.
func (s *Orders) CreatePurchase(ctx context.Context, actor bursar.Actor, in PurchaseInput) (bursar.Order, bool, error) {
	if !actor.MaySee(in.Buyer) {
		return bursar.Order{}, false, bursar.InvalidParam("buyer_id", "A user may buy only for themselves.")
	}
	if in.Amount != nil && !actor.IsPlatform() {
		return bursar.Order{}, false, bursar.InvalidParam("amount", "Only the platform's secret key may set an amount; the price comes from the item.")
	}
	if err := bursar.ValidateMetadata(in.Metadata); err != nil {
		return bursar.Order{}, false, err
	}
	now := s.deps.now()
	o := bursar.Order{
		ID: bursar.OrderID(newID("ord_")), No: newOrderNo(now), Type: bursar.OrderPurchase,
		Buyer: in.Buyer, Seller: in.Seller, Item: in.Item, Subject: in.Subject, Metadata: in.Metadata,
		Hold: bursar.DefaultHold, CreatedAt: now, UpdatedAt: now,
	}
	var existing bool
	err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.UserGet(ctx, in.Buyer); err != nil {
			if bursar.ErrorCode(err) == bursar.NotFound {
				return bursar.InvalidParam("buyer_id", "There is no user %s.", in.Buyer)
			}
			return err
		}
		switch {
		case in.Item != "":
			it, err := tx.ItemGet(ctx, in.Item)
			if bursar.ErrorCode(err) == bursar.NotFound {
				return bursar.InvalidParam("item_id", "There is no item %s.", in.Item)
			}
			if err != nil {
				return err
			}
			if in.Seller != "" && in.Seller != it.Seller {
				return bursar.InvalidParam("seller_id", "The item is sold by %s.", it.Seller)
			}
			o.Seller, o.Amount, o.Hold, o.Duration = it.Seller, it.Price, it.Hold, it.Duration
			if o.Subject == "" {
				o.Subject = it.Title
			}
			if it.Kind == bursar.ItemCourse {
				owned, err := tx.OrderFindEntitling(ctx, in.Buyer, in.Item, now)
				if err == nil {
					o, existing = owned, true
					return nil
				}
				if bursar.ErrorCode(err) != bursar.NotFound {
					return err
				}
			}
		case in.Seller == "" || in.Amount == nil:
			return bursar.InvalidParam("item_id", "A purchase names an item, or (platform only) a seller and an amount.")
		default:
			if _, err := tx.UserGet(ctx, in.Seller); err != nil {
				if bursar.ErrorCode(err) == bursar.NotFound {
					return bursar.InvalidParam("seller_id", "There is no user %s.", in.Seller)
				}
				return err
			}
			o.Amount.Currency = bursar.CNY
		}
		if in.Amount != nil {
			o.Amount.Amount = *in.Amount
		}
		if err := validatePurchase(o); err != nil {
			return err
		}
		if o.Amount.Amount == 0 {
			completeFree(&o, now)
			return insertOrder(ctx, tx, o)
		}
		o.Status = bursar.OrderPending
		o.ExpiresAt = now.Add(s.deps.orderExpiry())
		if err := insertOrder(ctx, tx, o); err != nil {
			return err
		}
		return tx.JobSchedule(ctx, bursar.JobExpire, string(o.ID), o.ExpiresAt)
	})
	if err != nil {
		return bursar.Order{}, false, err
	}
	return o, existing, nil
}

func validatePurchase(o bursar.Order) error {
	switch {
	case o.Seller == o.Buyer:
		return bursar.InvalidParam("buyer_id", "A user cannot buy from themselves.")
	case o.Amount.Amount < 0 || o.Amount.Amount > 1_000_000_000:
		return bursar.InvalidParam("amount", "An amount is between 0 and 1000000000 fen.")
	}
	return bursar.ValidateSubject(o.Subject)
}

// completeFree makes a zero-total purchase complete at once: nothing is
// paid, nothing is held, access starts now.
func completeFree(o *bursar.Order, now time.Time) {
	o.Status = bursar.OrderCompleted
	o.Channel = bursar.ChannelWallet
	o.PaidAt, o.CompletedAt = now, now
	if o.Duration > 0 {
		o.AccessUntil = now.Add(o.Duration)
	}
}

// newOrderNo returns a merchant order number staff can read aloud: the UTC
// time to the second and ten random digits, 24 digits in all.
func newOrderNo(now time.Time) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(10_000_000_000)) // crypto/rand never fails
	return fmt.Sprintf("%s%010d", now.UTC().Format("20060102150405"), n.Int64())
}

// Get returns an order the actor is buyer or seller of.
func (s *Orders) Get(ctx context.Context, actor bursar.Actor, id bursar.OrderID) (bursar.Order, error) {
	var o bursar.Order
	err := s.deps.read(ctx, func(tx store.Tx) error {
		var err error
		o, err = visibleOrder(ctx, tx, actor, id, false)
		return err
	})
	return o, err
}

// GetWithEntries returns an order and its ledger entries.
func (s *Orders) GetWithEntries(ctx context.Context, actor bursar.Actor, id bursar.OrderID) (bursar.Order, []bursar.PostedEntry, error) {
	var o bursar.Order
	var es []bursar.PostedEntry
	err := s.deps.read(ctx, func(tx store.Tx) error {
		var err error
		if o, err = visibleOrder(ctx, tx, actor, id, false); err != nil {
			return err
		}
		es, err = tx.EntryList(ctx, string(id))
		return err
	})
	return o, es, err
}

// visibleOrder reads an order, locked when forUpdate, and hides it from
// actors who are neither its buyer nor its seller.
func visibleOrder(ctx context.Context, tx store.Tx, actor bursar.Actor, id bursar.OrderID, forUpdate bool) (bursar.Order, error) {
	get := tx.OrderGet
	if forUpdate {
		get = tx.OrderGetForUpdate
	}
	o, err := get(ctx, id)
	if bursar.ErrorCode(err) == bursar.NotFound || (err == nil && !actor.MaySee(o.Buyer, o.Seller)) {
		return bursar.Order{}, notFound("order", id)
	}
	return o, err
}

// List returns orders matching f that the actor may see: a user's own as
// buyer or seller, the platform anyone's.
func (s *Orders) List(ctx context.Context, actor bursar.Actor, f bursar.OrderFilter) ([]bursar.Order, bool, error) {
	if !actor.IsPlatform() {
		// A user lists orders they bought or sold, possibly narrowed to a
		// counterparty; anyone else's are an empty list, as if there were none.
		mine := f.Buyer == actor.User || f.Seller == actor.User || f.Party == actor.User
		switch {
		case !mine && (f.Buyer != "" || f.Seller != "" || f.Party != ""):
			return nil, false, nil
		case !mine:
			f.Party = actor.User
		}
	}
	if f.Limit == 0 {
		f.Limit = 10
	}
	var orders []bursar.Order
	var more bool
	err := s.deps.read(ctx, func(tx store.Tx) error {
		var err error
		orders, more, err = tx.OrderList(ctx, f)
		return err
	})
	return orders, more, err
}
