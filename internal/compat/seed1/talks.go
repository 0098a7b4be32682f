package seed1

import (
	"context"

	"bursar.dev/bursar/internal/bursar"
)

// A chat is a paid session: a purchase of a skill (a session item) whose
// metadata chat_id names the chat. It stays open from payment for the
// skill's duration (24 h in the seed), or until the buyer confirms.

type talkAnswer struct {
	ok
	// ChatID is the open chat's id, or the number 0 when there is none,
	// as the seed's apps test it.
	ChatID any            `json:"chatId"`
	OID    bursar.OrderID `json:"oid,omitempty"`
}

// handleTalkFind is shouldCreateNewTalk: is there an open paid chat of
// the payer userId with receiverId about skillId? If so the answer names
// it and its order; if not chatId is 0 and the app creates a new one.
func (s *Server) handleTalkFind(ctx context.Context, c *call) (any, error) {
	user, err := s.user(ctx, c, "userId")
	if err != nil {
		return nil, err
	}
	receiver, err := c.p.need("receiverId")
	if err != nil {
		return nil, err
	}
	skill, err := c.p.id("skillId")
	if err != nil {
		return nil, err
	}
	it, err := s.deps.Items.Get(ctx, bursar.ItemID(skill))
	switch {
	case bursar.ErrorCode(err) == bursar.NotFound || (err == nil && it.Kind != bursar.ItemSession):
		return nil, invalid("找不到此技能：" + skill)
	case err != nil:
		return nil, err
	}
	e, err := s.deps.Entitlements.Check(ctx, c.actor, user, it.ID)
	if err != nil {
		return nil, err
	}
	if !e.HasAccess || string(e.Seller) != receiver {
		return talkAnswer{ok: success, ChatID: 0}, nil
	}
	o, err := s.deps.Orders.Get(ctx, c.actor, e.Order)
	if err != nil {
		return nil, err
	}
	answer := talkAnswer{ok: success, ChatID: 0, OID: o.ID}
	if chat := o.Metadata[chatKey]; chat != "" {
		answer.ChatID = chat
	}
	return answer, nil
}

type talkCheckAnswer struct {
	ok
	Should  bool   `json:"should"`
	PayTime string `json:"payTime,omitempty"`
}

// maxChatPurchases bounds how many of a chat's purchases are looked at; a
// chat is bought again only after its window closed, so the one that is
// open is among the newest.
const maxChatPurchases = 100

// handleTalkCheck is shouldContinueTalk: may the chat chatId go on? It
// may while its newest purchase that still grants access does; payTime
// is when that purchase was paid. The caller must be the chat's payer or
// payee: anyone else's chat answers as one never paid for.
func (s *Server) handleTalkCheck(ctx context.Context, c *call) (any, error) {
	chat, err := c.p.need("chatId")
	if err != nil {
		return nil, err
	}
	if len(chat) > 500 {
		return nil, invalid("chatId 不能超过 500 个字节")
	}
	orders, _, err := s.deps.Orders.List(ctx, c.actor, bursar.OrderFilter{ChatID: chat, Type: bursar.OrderPurchase,
		Statuses: []bursar.OrderStatus{bursar.OrderPaid, bursar.OrderRefundRequested, bursar.OrderCompleted},
		Limit:    maxChatPurchases})
	if err != nil {
		return nil, err
	}
	now := s.deps.Now()
	for _, o := range orders {
		// A purchase with no window (no session item behind it) keeps its
		// chat open until the buyer confirms it, as the seed's "未手动关闭".
		open := o.AccessUntil.After(now) || (o.AccessUntil.IsZero() && o.Status != bursar.OrderCompleted)
		if open {
			return talkCheckAnswer{ok: success, Should: true, PayTime: stamp(o.PaidAt)}, nil
		}
	}
	return talkCheckAnswer{ok: success, Should: false}, nil
}
