package alipay

import (
	"context"
	"fmt"

	"github.com/smartwalle/alipay/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// Refund asks alipay.trade.refund with RefundNo as out_request_no, which
// makes a retry harmless. code 10000 alone proves nothing: the refund
// succeeded only if the answer says fund_change=Y (money moved in this
// call) or, when it says N, the refund query shows REFUND_SUCCESS for this
// refund (an earlier call moved it). N with no such refund is reported as
// RefundProcessing: nothing is known to have moved, and the same request may
// be retried or the refund queried later.
func (c *Channel) Refund(ctx context.Context, req channel.RefundRequest) (channel.Refund, error) {
	const api = "alipay.trade.refund"
	if err := checkNo("order_no", req.OrderNo); err != nil {
		return channel.Refund{}, err
	}
	if err := checkNo("refund_no", req.RefundNo); err != nil {
		return channel.Refund{}, err
	}
	if err := checkMoney("amount", req.Amount, 1); err != nil {
		return channel.Refund{}, err
	}
	rsp, err := c.client.TradeRefund(ctx, alipay.TradeRefund{OutTradeNo: req.OrderNo, OutRequestNo: req.RefundNo,
		RefundAmount: req.Amount.Amount.Yuan(), RefundReason: req.Reason})
	if err != nil {
		return channel.Refund{}, callError(api, err)
	}
	if rsp.IsFailure() {
		return channel.Refund{}, answerError(api, rsp.Error)
	}
	if rsp.FundChange == "Y" {
		// The SDK's answer type has no gmt_refund_pay, so the refund is
		// dated when its answer came.
		return channel.Refund{OrderNo: req.OrderNo, RefundNo: req.RefundNo, ChannelRef: rsp.TradeNo,
			Status: channel.RefundSucceeded, Amount: req.Amount, At: c.now()}, nil
	}
	got, err := c.QueryRefund(ctx, req.OrderNo, req.RefundNo)
	switch {
	case bursar.ErrorCode(err) == bursar.NotFound:
		return channel.Refund{OrderNo: req.OrderNo, RefundNo: req.RefundNo, ChannelRef: rsp.TradeNo,
			Status: channel.RefundProcessing, Amount: req.Amount}, nil
	case err != nil:
		return channel.Refund{}, err
	case got.Amount != req.Amount:
		return channel.Refund{}, bursar.Errorf(bursar.ChannelFailed,
			"Alipay has refund %s of order %s for %s, not %s.", req.RefundNo, req.OrderNo, got.Amount, req.Amount)
	}
	return got, nil
}

// QueryRefund asks alipay.trade.fastpay.refund.query. Alipay's refunds are
// synchronous, so a refund is either REFUND_SUCCESS or unknown to Alipay
// (never received, or refused): the latter, and an unknown order, are
// bursar.NotFound.
func (c *Channel) QueryRefund(ctx context.Context, orderNo, refundNo string) (channel.Refund, error) {
	const api = "alipay.trade.fastpay.refund.query"
	if err := checkNo("order_no", orderNo); err != nil {
		return channel.Refund{}, err
	}
	if err := checkNo("refund_no", refundNo); err != nil {
		return channel.Refund{}, err
	}
	rsp, err := c.client.TradeFastPayRefundQuery(ctx, alipay.TradeFastPayRefundQuery{OutTradeNo: orderNo, OutRequestNo: refundNo})
	if err != nil {
		return channel.Refund{}, callError(api, err)
	}
	if rsp.IsFailure() {
		return channel.Refund{}, answerError(api, rsp.Error)
	}
	if rsp.RefundStatus != "REFUND_SUCCESS" {
		return channel.Refund{}, bursar.Errorf(bursar.NotFound, "Alipay has no refund %s of order %s.", refundNo, orderNo)
	}
	amount, err := yuan(rsp.RefundAmount)
	if err != nil {
		return channel.Refund{}, badAnswer(api, err)
	}
	at, err := parseTime(rsp.GMTRefundPay)
	if err != nil {
		return channel.Refund{}, badAnswer(api, fmt.Errorf("gmt_refund_pay: %w", err))
	}
	return channel.Refund{OrderNo: orderNo, RefundNo: refundNo, ChannelRef: rsp.TradeNo,
		Status: channel.RefundSucceeded, Amount: amount, At: at}, nil
}
