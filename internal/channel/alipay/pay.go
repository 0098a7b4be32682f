package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"unicode/utf8"

	"github.com/smartwalle/alipay/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// orderNoPattern is the contract's order number; refund and transfer numbers
// follow the same rule.
var orderNoPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,32}$`)

// The product codes Alipay expects with each payment method.
const (
	productPage = "FAST_INSTANT_TRADE_PAY"
	productWap  = "QUICK_WAP_WAY"
	productApp  = "QUICK_MSECURITY_PAY"
	productQR   = "FACE_TO_FACE_PAYMENT"
)

func checkMoney(field string, m bursar.Money, minimum bursar.Amount) error {
	switch {
	case m.Currency != bursar.CNY:
		return bursar.InvalidParam(field, "Alipay takes CNY only, not %q.", m.Currency)
	case m.Amount < minimum:
		return bursar.InvalidParam(field, "The amount must be at least %s yuan.", minimum.Yuan())
	}
	return nil
}

func checkNo(field, no string) error {
	if !orderNoPattern.MatchString(no) {
		return bursar.InvalidParam(field, "%q is not 1 to 32 of [0-9A-Za-z_-].", no)
	}
	return nil
}

func checkPay(req channel.PayRequest) error {
	if err := checkNo("order_no", req.OrderNo); err != nil {
		return err
	}
	if err := checkMoney("amount", req.Amount, 1); err != nil {
		return err
	}
	if req.Subject == "" || utf8.RuneCountInString(req.Subject) > 128 {
		return bursar.InvalidParam("subject", "The subject must be 1 to 128 characters.")
	}
	if req.NotifyURL != "" {
		// Alipay would sign the notification without the query string, and
		// the merchant would verify with it: the signature could never match.
		u, err := url.Parse(req.NotifyURL)
		if err != nil || !u.IsAbs() || u.RawQuery != "" || u.ForceQuery {
			return bursar.InvalidParam("notify_url", "The notify URL must be absolute and have no query string.")
		}
	}
	return nil
}

// Pay creates the payment: a cashier URL on the configured gateway for page
// and wap payments, the signed order string for the app, or the QR code's
// content from alipay.trade.precreate. Only precreate calls Alipay; the
// others are signed locally, and Alipay knows of the trade only once the
// buyer opens the cashier.
func (c *Channel) Pay(ctx context.Context, req channel.PayRequest) (channel.Payment, error) {
	if err := checkPay(req); err != nil {
		return channel.Payment{}, err
	}
	t := alipay.Trade{NotifyURL: req.NotifyURL, ReturnURL: req.ReturnURL, Subject: req.Subject,
		OutTradeNo: req.OrderNo, TotalAmount: req.Amount.Amount.Yuan()}
	if !req.ExpiresAt.IsZero() {
		t.TimeExpire = req.ExpiresAt.In(beijing).Format(timeLayout)
	}
	out := channel.Payment{Method: req.Method}
	switch req.Method {
	case channel.AlipayPage:
		t.ProductCode = productPage
		u, err := c.client.TradePagePay(alipay.TradePagePay{Trade: t})
		if err != nil {
			return channel.Payment{}, coded(bursar.Internal, err, "The Alipay page payment could not be signed.")
		}
		out.URL = u.String()
	case channel.AlipayWap:
		t.ProductCode = productWap
		// TradeWapPay has its own time_expire field, which hides the
		// embedded Trade's in the JSON: set that one.
		u, err := c.client.TradeWapPay(alipay.TradeWapPay{Trade: t, TimeExpire: t.TimeExpire})
		if err != nil {
			return channel.Payment{}, coded(bursar.Internal, err, "The Alipay wap payment could not be signed.")
		}
		out.URL = u.String()
	case channel.AlipayApp:
		t.ProductCode = productApp
		s, err := c.client.TradeAppPay(alipay.TradeAppPay{Trade: t})
		if err != nil {
			return channel.Payment{}, coded(bursar.Internal, err, "The Alipay app payment could not be signed.")
		}
		out.OrderString = s
	case channel.AlipayQR:
		t.ProductCode = productQR
		rsp, err := c.client.TradePreCreate(ctx, alipay.TradePreCreate{Trade: t})
		if err != nil {
			return channel.Payment{}, callError("alipay.trade.precreate", err)
		}
		if rsp.IsFailure() {
			return channel.Payment{}, answerError("alipay.trade.precreate", rsp.Error)
		}
		if rsp.QRCode == "" {
			return channel.Payment{}, badAnswer("alipay.trade.precreate", nil)
		}
		out.URL = rsp.QRCode
	default:
		return channel.Payment{}, bursar.InvalidParam("method", "%q is not an Alipay payment method.", req.Method)
	}
	return out, nil
}

// tradeStatus maps Alipay's trade_status.
func tradeStatus(s alipay.TradeStatus) (channel.TradeStatus, bool) {
	switch s {
	case alipay.TradeStatusWaitBuyerPay:
		return channel.TradePending, true
	case alipay.TradeStatusSuccess, alipay.TradeStatusFinished:
		return channel.TradePaid, true
	case alipay.TradeStatusClosed:
		return channel.TradeClosed, true
	}
	return "", false
}

// Query asks alipay.trade.query. A trade Alipay does not know, including a
// page, wap or QR payment whose cashier the buyer never opened, is
// bursar.NotFound. Alipay's answer does not say how much was refunded, so
// Trade.Refunded is zero.
func (c *Channel) Query(ctx context.Context, orderNo string) (channel.Trade, error) {
	const api = "alipay.trade.query"
	if err := checkNo("order_no", orderNo); err != nil {
		return channel.Trade{}, err
	}
	rsp, err := c.client.TradeQuery(ctx, alipay.TradeQuery{OutTradeNo: orderNo})
	if err != nil {
		return channel.Trade{}, callError(api, err)
	}
	if rsp.IsFailure() {
		return channel.Trade{}, answerError(api, rsp.Error)
	}
	status, ok := tradeStatus(rsp.TradeStatus)
	if !ok {
		return channel.Trade{}, badAnswer(api, fmt.Errorf("unknown trade_status %q", rsp.TradeStatus))
	}
	amount, err := yuan(rsp.TotalAmount)
	if err != nil {
		return channel.Trade{}, badAnswer(api, err)
	}
	t := channel.Trade{OrderNo: orderNo, TradeNo: rsp.TradeNo, Status: status, Amount: amount, Payer: rsp.BuyerUserId}
	if t.Payer == "" {
		t.Payer = rsp.BuyerOpenId
	}
	if status == channel.TradePaid {
		if t.PaidAt, err = parseTime(rsp.SendPayDate); err != nil {
			return channel.Trade{}, badAnswer(api, err)
		}
	}
	return t, nil
}

// Close asks alipay.trade.close. A trade Alipay does not know closes
// without error (page, wap and QR trades exist only once the cashier was
// opened); a paid one gives bursar.WrongState.
func (c *Channel) Close(ctx context.Context, orderNo string) error {
	const api = "alipay.trade.close"
	if err := checkNo("order_no", orderNo); err != nil {
		return err
	}
	rsp, err := c.client.TradeClose(ctx, alipay.TradeClose{OutTradeNo: orderNo})
	var answer alipay.Error
	switch e := (*alipay.Error)(nil); {
	case err == nil:
		answer = rsp.Error
	case errors.As(err, &e): // an error answer Alipay did not sign
		answer = *e
	default:
		return callError(api, err)
	}
	if answer.IsSuccess() {
		return nil
	}
	switch answer.SubCode {
	case "ACQ.TRADE_NOT_EXIST":
		return nil
	case "ACQ.TRADE_STATUS_ERROR", "ACQ.TRADE_HAS_SUCCESS", "ACQ.TRADE_HAS_FINISHED":
		return bursar.Errorf(bursar.WrongState, "Alipay cannot close order %s: it is paid (%s).", orderNo, answer.SubCode)
	}
	return answerError(api, answer)
}
