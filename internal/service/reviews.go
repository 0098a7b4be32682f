package service

import (
	"context"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Reviews records buyers' scores of completed purchases and sums them up
// per seller.
type Reviews struct{ deps Deps }

// NewReviews returns the review use cases.
func NewReviews(d Deps) *Reviews { return &Reviews{deps: d} }

// Create records the buyer's one review of a completed purchase.
// bursar.WrongState before completion; bursar.Conflict for a second review.
func (s *Reviews) Create(ctx context.Context, actor bursar.Actor, id bursar.OrderID, score int, comment string) (bursar.Review, error) {
	var r bursar.Review
	err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		o, err := visibleOrder(ctx, tx, actor, id, false)
		if err != nil {
			return err
		}
		if !actor.MaySee(o.Buyer) {
			return bursar.Errorf(bursar.Forbidden, "Only the buyer reviews a purchase.")
		}
		if o.Type != bursar.OrderPurchase || o.Status != bursar.OrderCompleted {
			return bursar.Errorf(bursar.WrongState, "Only a completed purchase can be reviewed; the order %s is %s.", o.ID, o.Status)
		}
		r = bursar.Review{Order: o.ID, Buyer: o.Buyer, Seller: o.Seller, Item: o.Item, Score: score, Comment: comment,
			CreatedAt: s.deps.now()}
		if err := r.Validate(); err != nil {
			return err
		}
		return tx.ReviewInsert(ctx, r)
	})
	return r, err
}

// List returns a seller's reviews, newest first. Reviews are public.
func (s *Reviews) List(ctx context.Context, seller bursar.UserID, after bursar.OrderID, limit int) ([]bursar.Review, bool, error) {
	var rs []bursar.Review
	var more bool
	err := s.deps.read(ctx, func(tx store.Tx) error {
		var err error
		rs, more, err = tx.ReviewList(ctx, seller, after, limit)
		return err
	})
	return rs, more, err
}

// Summary returns a seller's rating summary. Ratings are public.
func (s *Reviews) Summary(ctx context.Context, seller bursar.UserID) (bursar.RatingSummary, error) {
	var sum bursar.RatingSummary
	err := s.deps.read(ctx, func(tx store.Tx) error {
		if _, err := tx.UserGet(ctx, seller); err != nil {
			return err
		}
		var err error
		sum, err = tx.ReviewSummary(ctx, seller)
		return err
	})
	return sum, err
}
