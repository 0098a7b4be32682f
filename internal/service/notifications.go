package service

import (
	"context"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/store"
)

// Notifications takes in what the channels send: payment, refund and payout
// results. Each is verified by its channel's adapter, checked against
// Bursar's own records, applied at most once whatever arrives (the same
// notification ten times, two at once, out of order, after the order
// expired) and stored raw with its outcome.
type Notifications struct {
	deps   Deps
	orders *Orders
}

// NewNotifications returns the notification use case.
func NewNotifications(d Deps) *Notifications { return &Notifications{deps: d, orders: NewOrders(d)} }

// maxRejectedBody is how much of a notification that fails verification is
// stored.
const maxRejectedBody = 4 << 10

// Accept handles one notification from the named channel and returns the
// answer the channel expects: taken, or send again. It fails only when the
// channel is not configured, which the caller answers as not found.
func (s *Notifications) Accept(ctx context.Context, name bursar.Channel, in channel.Inbound) (channel.Answer, error) {
	ch, ok := s.deps.Channels[name]
	if !ok {
		return channel.Answer{}, bursar.Errorf(bursar.NotFound, "The channel %q is not configured on this server.", name)
	}
	now := s.deps.now()
	notice := bursar.Notice{Channel: name, ReceivedAt: now, Header: signatureHeaders(in.Header), Body: in.Body}
	n, err := ch.ParseNotification(ctx, in)
	if err != nil {
		// Anyone can post to the endpoint: keep enough of what failed
		// verification to see what it was, not all of it.
		if len(notice.Body) > maxRejectedBody {
			notice.Body = notice.Body[:maxRejectedBody]
		}
		notice.Outcome, notice.Detail = bursar.NoticeRejected, bursar.ErrorMessage(err)
		s.deps.log().WarnContext(ctx, "channel notification rejected", "channel", name, "err", err)
		if err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.NoticeInsert(ctx, notice)
			return err
		}); err != nil {
			s.deps.log().ErrorContext(ctx, "rejected notification not stored", "channel", name, "err", err)
		}
		return ch.Answer(err), nil
	}
	notice.Kind, notice.Event = string(n.Kind), n.Event
	var res settled
	err = s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		var err error
		switch n.Kind {
		case channel.NotifyPayment:
			res, err = s.orders.settlePayment(ctx, tx, name, n.Trade, now)
		case channel.NotifyRefund:
			res, err = settleRefund(ctx, tx, name, n.Refund, now)
		case channel.NotifyTransfer:
			res, err = settleTransfer(ctx, tx, name, n.Transfer, now)
		default:
			res = settled{outcome: bursar.NoticeIgnored, detail: "a kind of notification Bursar does not use"}
		}
		if err != nil {
			return err
		}
		notice.OrderNo, notice.Outcome, notice.Detail = res.orderNo, res.outcome, res.detail
		_, err = tx.NoticeInsert(ctx, notice)
		return err
	})
	if err != nil {
		// Not applied: the channel sends it again later.
		s.deps.log().ErrorContext(ctx, "channel notification not applied", "channel", name, "event", n.Event, "err", err)
		return ch.Answer(err), nil
	}
	if res.outcome == bursar.NoticeRejected {
		s.deps.log().WarnContext(ctx, "channel notification rejected", "channel", name, "event", n.Event,
			"order_no", res.orderNo, "why", res.detail)
		return ch.Answer(bursar.Errorf(bursar.Invalid, "%s", res.detail)), nil
	}
	s.deps.log().InfoContext(ctx, "channel notification", "channel", name, "event", n.Event, "order_no", res.orderNo,
		"outcome", res.outcome, "detail", res.detail)
	return ch.Answer(nil), nil
}

// signatureHeaders keeps the headers a notification's signature depends on
// (WeChat Pay sends its signature in headers; Alipay in the body).
func signatureHeaders(h map[string][]string) map[string][]string {
	keep := map[string][]string{}
	for _, k := range []string{"Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial",
		"Wechatpay-Signature-Type", "Content-Type", "Request-Id"} {
		if v, ok := h[k]; ok {
			keep[k] = v
		}
	}
	return keep
}
