package seed1

import (
	"context"

	"bursar.dev/bursar/internal/bursar"
)

// people looks up the profiles one answer shows, each user once.
//
// The service shows a user's profile only to that user and the platform,
// so a buyer sees the seller's id but not yet their name and picture (see
// docs/compat/seed1.md): a profile the caller may not read is shown with
// its _id and empty fields, never refused.
type people struct {
	s     *Server
	actor bursar.Actor
	seen  map[bursar.UserID]bursar.User
}

func (s *Server) people(actor bursar.Actor) *people {
	return &people{s: s, actor: actor, seen: map[bursar.UserID]bursar.User{}}
}

func (p *people) get(ctx context.Context, id bursar.UserID) (bursar.User, error) {
	if u, ok := p.seen[id]; ok || id == "" {
		return u, nil
	}
	u, err := p.s.deps.Users.Profile(ctx, p.actor, id)
	if bursar.ErrorCode(err) == bursar.NotFound {
		u, err = bursar.User{ID: id}, nil
	}
	if err != nil {
		return bursar.User{}, err
	}
	p.seen[id] = u
	return u, nil
}

// decorate adds what getOrderDetail and getOrder show beside the order:
// the payer's name (user), the payee's profile (receiver; empty for a
// recharge or a withdrawal, which have none) and the reason of a refund
// asked for.
func (s *Server) decorate(ctx context.Context, c *call, p *people, o bursar.Order, obj *orderObject) error {
	buyer, err := p.get(ctx, o.Buyer)
	if err != nil {
		return err
	}
	seller, err := p.get(ctx, o.Seller)
	if err != nil {
		return err
	}
	obj.User = &buyer.DisplayName
	obj.Receiver = profileJSON(seller)
	if o.Status == bursar.OrderRefundRequested || o.Status == bursar.OrderRefunded || o.Refunded > 0 {
		rs, err := s.deps.Refunds.List(ctx, c.actor, o.ID)
		if err != nil {
			return err
		}
		if len(rs) > 0 {
			obj.RefundReason = rs[len(rs)-1].Reason
		}
	}
	return nil
}
