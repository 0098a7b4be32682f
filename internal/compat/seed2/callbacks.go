package seed2

import (
	"strings"

	"bursar.dev/bursar/internal/bursar"
)

// report is a payment result as the app sends it to /orders/alipay or
// /orders/wxpay (6.2). It carries no signature, so nothing in it is
// trusted: it only names the order whose payment Bursar asks the channel
// about, and what it claims is checked against the channel's answer.
type report struct {
	success      bool
	tradeNo      string
	thirdTradeNo string         // optional: WeChat's app SDK does not tell the app its transaction_id
	amount       *bursar.Amount // optional, in yuan like every amount of the seed
}

func readReport(p params) (report, error) {
	var rep report
	result := p["result"]
	if result == "" {
		return rep, fail(bursar.Invalid, "缺少支付结果参数 result")
	}
	rep.success = result == "2" || strings.EqualFold(result, "SUCCESS")
	var err error
	if rep.tradeNo, err = p.id("trade_no"); err != nil {
		return rep, err
	}
	if rep.tradeNo == "" {
		return rep, fail(bursar.Invalid, "缺少订单编号参数 trade_no")
	}
	if rep.thirdTradeNo, err = p.text("third_trade_no", 64); err != nil {
		return rep, err
	}
	// third_buyer_id is read for its format only: the buyer shown later is
	// the one the channel names.
	if _, err = p.text("third_buyer_id", 128); err != nil {
		return rep, err
	}
	rep.amount, err = p.yuan("amount")
	return rep, err
}

// handleCallback is 6.2 for one channel. The order is settled only by
// what the channel answers Bursar's own query (Orders.ConfirmChannelPayment),
// whatever the report says:
//   - a success report answers {"code": 0} once the channel says the order
//     is paid and agrees with the report's third_trade_no and amount;
//     otherwise it is refused with an error envelope and logged;
//   - a failure report also asks the channel, so a payment the app thought
//     failed is still found, and answers {"code": 0}: the app reported a
//     failure and nothing is expected of it.
func (s *Server) handleCallback(name bursar.Channel) handler {
	return func(c call) (any, error) {
		rep, err := readReport(c.p)
		if err != nil {
			return nil, err
		}
		o, err := s.deps.Orders.GetByNo(c.ctx, c.actor, rep.tradeNo)
		if bursar.ErrorCode(err) == bursar.NotFound || (err == nil && o.Type != bursar.OrderPurchase) {
			return nil, fail(bursar.NotFound, "订单不存在")
		}
		if err != nil {
			return nil, err
		}
		refuse := func(code bursar.Code, desc string, cause error) error {
			s.deps.Log.WarnContext(c.ctx, "seed 2 payment report refused", "channel", name, "order", o.ID,
				"trade_no", rep.tradeNo, "third_trade_no", rep.thirdTradeNo, "amount", c.p["amount"],
				"why", desc, "err", cause)
			return failBecause(code, desc, cause)
		}
		_, err = s.deps.Orders.ConfirmChannelPayment(c.ctx, c.actor, o.ID, name)
		switch {
		case !rep.success && bursar.ErrorCode(err) != bursar.Internal && bursar.ErrorCode(err) != bursar.Unavailable:
			// A failure report asks nothing of Bursar: whatever the channel
			// said was settled above, and the app is told it was heard.
			s.deps.Log.InfoContext(c.ctx, "seed 2 payment failure reported", "channel", name, "order", o.ID, "result", c.p["result"])
			return okBody{}, nil
		case bursar.ErrorCode(err) == bursar.NotFound:
			return nil, refuse(bursar.NotFound, "支付平台没有该订单的支付记录", err)
		case bursar.ErrorCode(err) == bursar.Invalid:
			return nil, refuse(bursar.Invalid, "支付结果与支付平台记录不符", err)
		case err != nil:
			return nil, err
		}
		ps, err := s.deps.Orders.Payments(c.ctx, c.actor, o.ID)
		if err != nil {
			return nil, err
		}
		var p bursar.Payment
		for _, q := range ps {
			if q.Channel == name {
				p = q
			}
		}
		switch {
		// Paid twice (here and another way): the order is paid, and
		// Bursar returns this payment to the payer by itself.
		case p.Status == bursar.PaymentDuplicate || p.Status == bursar.PaymentReturned:
		case p.Status != bursar.PaymentPaid:
			return nil, refuse(bursar.WrongState, "支付平台尚未确认该订单已支付", nil)
		}
		if rep.thirdTradeNo != "" && rep.thirdTradeNo != p.TradeNo {
			return nil, refuse(bursar.Invalid, "third_trade_no 与支付平台记录不符", nil)
		}
		if rep.amount != nil && *rep.amount != o.Amount.Amount {
			return nil, refuse(bursar.Invalid, "amount 与订单金额不符", nil)
		}
		return okBody{}, nil
	}
}
