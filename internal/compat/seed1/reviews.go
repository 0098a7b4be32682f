package seed1

import (
	"context"
	"unicode/utf8"

	"bursar.dev/bursar/internal/bursar"
)

// handleReviewCreate is comment: the payer scores a completed order from
// 1 to 5, once, with an optional comment.
func (s *Server) handleReviewCreate(ctx context.Context, c *call) (any, error) {
	id, err := c.p.id("oid")
	if err != nil {
		return nil, err
	}
	score, ok, err := c.p.int("score")
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, invalid("缺少参数 score")
	case score < 1 || score > 5:
		return nil, invalid("score 须为 1 到 5 的整数")
	}
	text, err := c.p.str("comment")
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(text) > 2000 {
		return nil, invalid("comment 不能超过 2000 个字")
	}
	if _, err := s.deps.Reviews.Create(ctx, c.actor, bursar.OrderID(id), int(score), text); err != nil {
		err = recast(err, bursar.WrongState, "", "只有已完成的订单可以评价")
		err = recast(err, bursar.Conflict, "", "此订单已经评价过")
		return nil, recast(err, bursar.Forbidden, "", "只有付款人可以评价")
	}
	return success, nil
}
