package service

import (
	"context"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Entitlements answers what a user's purchases give them access to now.
type Entitlements struct{ deps Deps }

// NewEntitlements returns the entitlement queries.
func NewEntitlements(d Deps) *Entitlements { return &Entitlements{deps: d} }

// Entitlement is a user's access to an item at one moment.
type Entitlement struct {
	User      bursar.UserID
	Item      bursar.ItemID
	Seller    bursar.UserID
	HasAccess bool
	// Order is the purchase that grants the access (seed 1's open chat);
	// AccessUntil ends it, zero meaning for ever (a course).
	Order       bursar.OrderID
	AccessUntil time.Time
}

// Check says whether user has access to item now: a paid or completed
// purchase of a course, or of a session whose window is still open. Refunded
// purchases grant nothing; a refund request does not take access away until
// it is approved.
func (s *Entitlements) Check(ctx context.Context, actor bursar.Actor, user bursar.UserID, item bursar.ItemID) (Entitlement, error) {
	if !actor.MaySee(user) {
		return Entitlement{}, notFound("user", user)
	}
	e := Entitlement{User: user, Item: item}
	err := s.deps.read(ctx, func(tx store.Tx) error {
		it, err := tx.ItemGet(ctx, item)
		if err != nil {
			return err
		}
		e.Seller = it.Seller
		o, err := tx.OrderFindEntitling(ctx, user, item, s.deps.now())
		switch {
		case bursar.ErrorCode(err) == bursar.NotFound:
			return nil
		case err != nil:
			return err
		}
		e.HasAccess, e.Order, e.AccessUntil = true, o.ID, o.AccessUntil
		return nil
	})
	return e, err
}
