package wechat

import (
	"context"

	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// Refund asks WeChat to return money of a paid order. WeChat accepts it
// PROCESSING and settles it later (a REFUND.* notification, or
// QueryRefund). A retry with the same refund number returns that refund,
// never a second one; more than the order has left is refused
// (bursar.ChannelFailed).
func (c *Channel) Refund(ctx context.Context, req channel.RefundRequest) (channel.Refund, error) {
	switch {
	case req.OrderNo == "" || req.RefundNo == "":
		return channel.Refund{}, bursar.InvalidParam("refund_no", "The order and refund numbers are required.")
	case req.Amount.Currency != bursar.CNY || req.Total.Currency != bursar.CNY:
		return channel.Refund{}, bursar.InvalidParam("amount", "WeChat Pay refunds CNY only.")
	case req.Amount.Amount <= 0 || req.Total.Amount < req.Amount.Amount:
		return channel.Refund{}, bursar.InvalidParam("amount",
			"A refund must be more than zero and at most the order's total (%s yuan).", req.Total.Amount.Yuan())
	}
	refund, total, cny := int64(req.Amount.Amount), int64(req.Total.Amount), string(bursar.CNY)
	cr := refunddomestic.CreateRequest{
		OutTradeNo: &req.OrderNo, OutRefundNo: &req.RefundNo,
		Amount: &refunddomestic.AmountReq{Refund: &refund, Total: &total, Currency: &cny},
	}
	if req.Reason != "" {
		cr.Reason = &req.Reason
	}
	if c.cfg.RefundNotifyURL != "" {
		cr.NotifyUrl = &c.cfg.RefundNotifyURL
	}
	r, result, err := c.refunds.Create(ctx, cr)
	if err != nil {
		return channel.Refund{}, fail("refund", result, err)
	}
	return refundOf(r)
}

// QueryRefund returns the refund's state. WeChat finds refunds by refund
// number alone; one that belongs to another order is not found.
func (c *Channel) QueryRefund(ctx context.Context, orderNo, refundNo string) (channel.Refund, error) {
	if refundNo == "" {
		return channel.Refund{}, bursar.InvalidParam("refund_no", "The refund number is required.")
	}
	r, result, err := c.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: &refundNo})
	if err != nil {
		return channel.Refund{}, fail("query the refund", result, err)
	}
	out, err := refundOf(r)
	if err != nil {
		return channel.Refund{}, err
	}
	if orderNo != "" && out.OrderNo != orderNo {
		return channel.Refund{}, bursar.Errorf(bursar.NotFound, "The refund %s is not of the order %s.", refundNo, orderNo)
	}
	return out, nil
}

func refundOf(r *refunddomestic.Refund) (channel.Refund, error) {
	var status string
	if r.Status != nil {
		status = string(*r.Status)
	}
	out := channel.Refund{
		OrderNo: deref(r.OutTradeNo), RefundNo: deref(r.OutRefundNo), ChannelRef: deref(r.RefundId),
		Status: refundStatus[status],
	}
	if out.Status == "" {
		return channel.Refund{}, bursar.Errorf(bursar.ChannelFailed, "WeChat Pay gave the unknown refund status %q.", status)
	}
	if r.Amount != nil && r.Amount.Refund != nil {
		cur := deref(r.Amount.Currency)
		if cur == "" {
			cur = string(bursar.CNY)
		}
		out.Amount = bursar.Money{Amount: bursar.Amount(*r.Amount.Refund), Currency: bursar.Currency(cur)}
	}
	if out.Status == channel.RefundSucceeded && r.SuccessTime != nil {
		out.At = *r.SuccessTime
	}
	return out, nil
}

// refundStatus maps a refund's status. ABNORMAL (the buyer's card was
// frozen or closed) is not final: the merchant resolves it at WeChat and
// the refund then succeeds, so it stays processing here.
var refundStatus = map[string]channel.RefundStatus{
	"PROCESSING": channel.RefundProcessing,
	"ABNORMAL":   channel.RefundProcessing,
	"SUCCESS":    channel.RefundSucceeded,
	"CLOSED":     channel.RefundFailed,
}

// Transfer is refused: Bursar pays sellers out through Alipay, and WeChat's
// 商家转账 needs the payee to confirm in WeChat, which a withdrawal cannot
// wait for.
func (c *Channel) Transfer(context.Context, channel.TransferRequest) (channel.Transfer, error) {
	return channel.Transfer{}, errNoPayouts()
}

// QueryTransfer is refused, as Transfer is.
func (c *Channel) QueryTransfer(context.Context, string) (channel.Transfer, error) {
	return channel.Transfer{}, errNoPayouts()
}

func errNoPayouts() error {
	return bursar.Errorf(bursar.ChannelFailed, "WeChat Pay does not pay out in Bursar: payouts go through Alipay.")
}
