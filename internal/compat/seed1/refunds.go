package seed1

import (
	"context"
	"unicode/utf8"

	"bursar.dev/bursar/internal/bursar"
)

// handleRefundCreate is applyRefund: the payer asks for everything still
// held in escrow back, with a reason. The escrow release pauses until the
// seller or the platform decides (through Bursar's v1 API or console: the
// seed has no endpoint for it); getOrder then shows 退款申请中, and 退款成功
// once the money is back.
func (s *Server) handleRefundCreate(ctx context.Context, c *call) (any, error) {
	reason, err := c.p.need("reason")
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(reason) > 500 {
		return nil, invalid("reason 不能超过 500 个字")
	}
	id, err := c.p.id("oid")
	if err != nil {
		return nil, err
	}
	if _, err := s.deps.Refunds.Request(ctx, c.actor, bursar.OrderID(id), nil, reason); err != nil {
		err = recast(err, bursar.Conflict, "", "此订单已有退款申请在处理中")
		err = recast(err, bursar.WrongState, "", "只有已付款、尚未完成的订单可以申请退款")
		return nil, recast(err, bursar.Forbidden, "", "只有付款人可以申请退款")
	}
	o, err := s.deps.Orders.Get(ctx, c.actor, bursar.OrderID(id))
	if err != nil {
		return nil, err
	}
	return orderAnswer{ok: success, Order: orderJSON(o)}, nil
}
