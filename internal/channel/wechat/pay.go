package wechat

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/app"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/h5"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// beijing is the zone of WeChat's times; a fixed zone needs no tzdata.
var beijing = time.FixedZone("CST", 8*3600)

// maxDescription is WeChat's limit on description, in characters.
const maxDescription = 127

// Pay places the order with WeChat Pay (Native, JSAPI, H5 or App prepay)
// and returns what the buyer's client needs: Native's code_url or H5's
// h5_url as URL, or the signed parameters the JSAPI bridge or the app SDK
// take. Placing it again with the same numbers gives an equivalent answer;
// WeChat refuses the same order number with other parameters
// (bursar.ChannelFailed, INVALID_REQUEST).
func (c *Channel) Pay(ctx context.Context, req channel.PayRequest) (channel.Payment, error) {
	if err := checkPay(req); err != nil {
		return channel.Payment{}, err
	}
	desc := req.Subject
	if utf8.RuneCountInString(desc) > maxDescription {
		desc = string([]rune(desc)[:maxDescription])
	}
	total, cny := int64(req.Amount.Amount), string(bursar.CNY)
	var expire *time.Time
	if !req.ExpiresAt.IsZero() {
		t := req.ExpiresAt.In(beijing)
		expire = &t
	}
	const op = "create the payment"
	pay := channel.Payment{Method: req.Method}
	switch req.Method {
	case channel.WeChatNative:
		resp, result, err := c.native.Prepay(ctx, native.PrepayRequest{
			Appid: &c.cfg.AppID, Mchid: &c.cfg.MchID, Description: &desc, OutTradeNo: &req.OrderNo,
			TimeExpire: expire, NotifyUrl: &req.NotifyURL, Amount: &native.Amount{Total: &total, Currency: &cny},
		})
		if err != nil {
			return channel.Payment{}, fail(op, result, err)
		}
		pay.URL = deref(resp.CodeUrl)
	case channel.WeChatJSAPI:
		resp, result, err := c.jsapi.PrepayWithRequestPayment(ctx, jsapi.PrepayRequest{
			Appid: &c.cfg.AppID, Mchid: &c.cfg.MchID, Description: &desc, OutTradeNo: &req.OrderNo,
			TimeExpire: expire, NotifyUrl: &req.NotifyURL, Amount: &jsapi.Amount{Total: &total, Currency: &cny},
			Payer: &jsapi.Payer{Openid: &req.OpenID},
		})
		if err != nil {
			return channel.Payment{}, fail(op, result, err)
		}
		pay.Params = map[string]string{
			"appId": deref(resp.Appid), "timeStamp": deref(resp.TimeStamp), "nonceStr": deref(resp.NonceStr),
			"package": deref(resp.Package), "signType": deref(resp.SignType), "paySign": deref(resp.PaySign),
		}
	case channel.WeChatH5:
		resp, result, err := c.h5.Prepay(ctx, h5.PrepayRequest{
			Appid: &c.cfg.AppID, Mchid: &c.cfg.MchID, Description: &desc, OutTradeNo: &req.OrderNo,
			TimeExpire: expire, NotifyUrl: &req.NotifyURL, Amount: &h5.Amount{Total: &total, Currency: &cny},
			SceneInfo: &h5.SceneInfo{PayerClientIp: &req.ClientIP, H5Info: &h5.H5Info{Type: core.String("Wap")}},
		})
		if err != nil {
			return channel.Payment{}, fail(op, result, err)
		}
		pay.URL = deref(resp.H5Url)
	case channel.WeChatApp:
		resp, result, err := c.app.PrepayWithRequestPayment(ctx, app.PrepayRequest{
			Appid: &c.cfg.AppID, Mchid: &c.cfg.MchID, Description: &desc, OutTradeNo: &req.OrderNo,
			TimeExpire: expire, NotifyUrl: &req.NotifyURL, Amount: &app.Amount{Total: &total, Currency: &cny},
		})
		if err != nil {
			return channel.Payment{}, fail(op, result, err)
		}
		// The names the app SDK's PayReq takes (the SDK's own struct
		// has JSON names for another purpose).
		pay.Params = map[string]string{
			"appid": c.cfg.AppID, "partnerid": deref(resp.PartnerId), "prepayid": deref(resp.PrepayId),
			"package": deref(resp.Package), "noncestr": deref(resp.NonceStr), "timestamp": deref(resp.TimeStamp),
			"sign": deref(resp.Sign),
		}
	}
	if pay.URL == "" && pay.Params == nil {
		return channel.Payment{}, bursar.Errorf(bursar.ChannelFailed, "WeChat Pay answered %s without a payment to open.", req.Method)
	}
	return pay, nil
}

func checkPay(req channel.PayRequest) error {
	switch {
	case req.Method.Channel() != bursar.ChannelWeChat:
		return bursar.InvalidParam("method", "WeChat Pay cannot take the payment method %q.", req.Method)
	case req.Amount.Currency != bursar.CNY:
		return bursar.InvalidParam("amount", "WeChat Pay takes CNY only, not %q.", req.Amount.Currency)
	case req.Amount.Amount <= 0:
		return bursar.InvalidParam("amount", "A WeChat Pay payment must be more than zero.")
	case req.OrderNo == "":
		return bursar.InvalidParam("order_no", "The order number is required.")
	case req.NotifyURL == "":
		return bursar.InvalidParam("notify_url", "WeChat Pay needs a notify URL.")
	case req.Method == channel.WeChatJSAPI && req.OpenID == "":
		return bursar.InvalidParam("openid", "A JSAPI payment needs the payer's openid.")
	case req.Method == channel.WeChatH5 && req.ClientIP == "":
		return bursar.InvalidParam("client_ip", "An H5 payment needs the buyer's IP address.")
	}
	return nil
}

// Query returns WeChat's view of the order's payment. An order WeChat
// never saw gives bursar.NotFound.
func (c *Channel) Query(ctx context.Context, orderNo string) (channel.Trade, error) {
	if orderNo == "" {
		return channel.Trade{}, bursar.InvalidParam("order_no", "The order number is required.")
	}
	tx, result, err := c.native.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{
		OutTradeNo: &orderNo, Mchid: &c.cfg.MchID,
	})
	if err != nil {
		return channel.Trade{}, fail("query the payment", result, err)
	}
	return tradeOf(tx)
}

// tradeOf maps a WeChat transaction (a query's answer or a payment
// notification's plaintext).
func tradeOf(tx *payments.Transaction) (channel.Trade, error) {
	t := channel.Trade{
		OrderNo: deref(tx.OutTradeNo), TradeNo: deref(tx.TransactionId),
		Status: tradeStatus[deref(tx.TradeState)],
	}
	if t.Status == "" {
		return channel.Trade{}, bursar.Errorf(bursar.ChannelFailed, "WeChat Pay gave the unknown trade_state %q.", deref(tx.TradeState))
	}
	if tx.Amount != nil && tx.Amount.Total != nil {
		cur := deref(tx.Amount.Currency)
		if cur == "" {
			cur = string(bursar.CNY)
		}
		t.Amount = bursar.Money{Amount: bursar.Amount(*tx.Amount.Total), Currency: bursar.Currency(cur)}
	}
	if tx.Payer != nil {
		t.Payer = deref(tx.Payer.Openid)
	}
	if s := deref(tx.SuccessTime); s != "" && t.Status == channel.TradePaid {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return channel.Trade{}, bursar.Errorf(bursar.ChannelFailed, "WeChat Pay gave the unreadable success_time %q.", s)
		}
		t.PaidAt = at
	}
	return t, nil
}

// tradeStatus maps trade_state. REFUND means "a refund was made since": the
// trade was paid, and WeChat does not say whether in full.
var tradeStatus = map[string]channel.TradeStatus{
	"NOTPAY":     channel.TradePending,
	"USERPAYING": channel.TradePending,
	"SUCCESS":    channel.TradePaid,
	"REFUND":     channel.TradePaid,
	"CLOSED":     channel.TradeClosed,
	"PAYERROR":   channel.TradeFailed,
	"REVOKED":    channel.TradeFailed,
}

// Close closes the unpaid order at WeChat (a signed 204). An order WeChat
// never saw closes without error; a paid one gives bursar.WrongState.
func (c *Channel) Close(ctx context.Context, orderNo string) error {
	if orderNo == "" {
		return bursar.InvalidParam("order_no", "The order number is required.")
	}
	result, err := c.native.CloseOrder(ctx, native.CloseOrderRequest{OutTradeNo: &orderNo, Mchid: &c.cfg.MchID})
	if result != nil && result.Response != nil {
		_ = result.Response.Body.Close()
	}
	if err == nil {
		return nil
	}
	if apiErr, ok := errors.AsType[*core.APIError](err); ok {
		switch apiErr.Code {
		case "ORDERPAID":
			return bursar.Errorf(bursar.WrongState, "The order %s is already paid at WeChat Pay.", orderNo)
		case "ORDER_NOT_EXIST":
			return nil
		}
	}
	return fail("close the payment", result, err)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
