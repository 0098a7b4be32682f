package alipay

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/smartwalle/alipay/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// msgTransferChanged is the Alipay message that ends a payout.
const msgTransferChanged = "alipay.fund.trans.order.changed"

// invalid is a notification refused: it is never decoded.
func invalid(format string, args ...any) error {
	return bursar.Errorf(bursar.Invalid, "Alipay notification refused: "+format, args...)
}

// ParseNotification verifies and decodes a notification: a trade's
// trade_status_sync sent to the notify_url, or the payout message
// alipay.fund.trans.order.changed sent to the app's gateway.
//
// The body is parsed once, and the signature verified by the SDK over the
// values as received (all but sign and sign_type); a notification with an
// empty or repeated field is refused before that, as Alipay never sends one
// and smartwalle would count it. Then the app id, and the seller when
// configured, must be ours. A trade_status_sync with out_biz_no comes from
// a refund: NotifyRefund, with the refund (its amount is not in the
// notification: Refund.Amount is zero) and the trade, whose Refunded is the
// total refunded so far. Without out_biz_no it is NotifyPayment, whatever
// the status (a closed trade is TradeClosed). Every failure is
// bursar.Invalid.
func (c *Channel) ParseNotification(ctx context.Context, in channel.Inbound) (channel.Notification, error) {
	vals, err := url.ParseQuery(string(in.Body))
	if err != nil {
		return channel.Notification{}, invalid("the body is not a form.")
	}
	for k, vs := range vals {
		switch {
		case len(vs) != 1:
			return channel.Notification{}, invalid("the field %q is repeated.", k)
		case vs[0] == "":
			return channel.Notification{}, invalid("the field %q is empty.", k)
		}
	}
	switch sn := vals.Get("alipay_cert_sn"); {
	case vals.Get("sign") == "":
		return channel.Notification{}, invalid("it is not signed.")
	case sn != "" && sn != c.certSN:
		// The SDK would otherwise fetch an unknown certificate from the
		// gateway for a notification anyone can send.
		return channel.Notification{}, invalid("alipay_cert_sn %q is not our Alipay certificate.", sn)
	}
	if err := c.client.VerifySign(ctx, vals); err != nil {
		return channel.Notification{}, invalid("the signature does not verify.")
	}
	if id := vals.Get("app_id"); id != c.appID {
		return channel.Notification{}, invalid("it is for app %q, not ours.", id)
	}
	n := channel.Notification{ID: vals.Get("notify_id")}
	if n.ID == "" {
		return channel.Notification{}, invalid("it has no notify_id.")
	}
	switch {
	case vals.Get("msg_method") == msgTransferChanged:
		err = decodeTransfer(&n, vals.Get("biz_content"))
	case vals.Get("notify_type") == "trade_status_sync":
		err = c.decodeTrade(&n, vals)
	default:
		err = invalid("notify_type %q / msg_method %q is not one Bursar takes.", vals.Get("notify_type"), vals.Get("msg_method"))
	}
	if err != nil {
		return channel.Notification{}, err
	}
	return n, nil
}

func (c *Channel) decodeTrade(n *channel.Notification, vals url.Values) error {
	if c.sellerID != "" && vals.Get("seller_id") != c.sellerID {
		return invalid("it is for seller %q, not ours.", vals.Get("seller_id"))
	}
	t := channel.Trade{OrderNo: vals.Get("out_trade_no"), TradeNo: vals.Get("trade_no"), Payer: vals.Get("buyer_id")}
	if t.OrderNo == "" || t.TradeNo == "" {
		return invalid("out_trade_no or trade_no is missing.")
	}
	if t.Payer == "" {
		t.Payer = vals.Get("buyer_open_id")
	}
	n.Event = vals.Get("trade_status")
	status, ok := tradeStatus(alipay.TradeStatus(n.Event))
	if !ok {
		return invalid("trade_status %q is unknown.", n.Event)
	}
	t.Status = status
	var err error
	if t.Amount, err = yuan(vals.Get("total_amount")); err != nil {
		return invalid("total_amount %q is not an amount.", vals.Get("total_amount"))
	}
	if s := vals.Get("refund_fee"); s != "" {
		if t.Refunded, err = bursar.ParseYuan(s); err != nil {
			return invalid("refund_fee %q is not an amount.", s)
		}
	}
	if status == channel.TradePaid {
		if t.PaidAt, err = parseTime(vals.Get("gmt_payment")); err != nil || t.PaidAt.IsZero() {
			return invalid("a paid trade needs gmt_payment, not %q.", vals.Get("gmt_payment"))
		}
	}
	n.Trade = t
	n.Kind = channel.NotifyPayment
	refundNo := vals.Get("out_biz_no")
	if refundNo == "" {
		return nil
	}
	at, err := parseTime(vals.Get("gmt_refund"))
	if err != nil {
		return invalid("gmt_refund %q is not a time.", vals.Get("gmt_refund"))
	}
	n.Kind = channel.NotifyRefund
	n.Refund = channel.Refund{OrderNo: t.OrderNo, RefundNo: refundNo, ChannelRef: t.TradeNo,
		Status: channel.RefundSucceeded, At: at}
	return nil
}

// transferMessage is the biz_content of alipay.fund.trans.order.changed.
type transferMessage struct {
	OutBizNo    string `json:"out_biz_no"`
	OrderID     string `json:"order_id"`
	Status      string `json:"status"`
	TransAmount string `json:"trans_amount"`
	PayDate     string `json:"pay_date"`
	ErrorCode   string `json:"error_code"`
	FailReason  string `json:"fail_reason"`
}

func decodeTransfer(n *channel.Notification, bizContent string) error {
	var m transferMessage
	if err := json.Unmarshal([]byte(bizContent), &m); err != nil || m.OutBizNo == "" {
		return invalid("biz_content is not a payout.")
	}
	status, err := transferStatus(m.Status)
	if err != nil {
		return invalid("payout status %q is unknown.", m.Status)
	}
	amount, err := yuan(m.TransAmount)
	if err != nil {
		return invalid("trans_amount %q is not an amount.", m.TransAmount)
	}
	t := channel.Transfer{TransferNo: m.OutBizNo, ChannelRef: m.OrderID, Status: status, Amount: amount}
	switch status {
	case channel.TransferSucceeded:
		if t.At, err = parseTime(m.PayDate); err != nil {
			return invalid("pay_date %q is not a time.", m.PayDate)
		}
	case channel.TransferFailed:
		t.Reason = failReason(m.ErrorCode, m.FailReason)
	}
	n.Kind, n.Event, n.Transfer = channel.NotifyTransfer, m.Status, t
	return nil
}

// Answer is what Alipay must read to stop resending: HTTP 200 and exactly
// "success". Anything else, here "fail", makes it try again later.
func (c *Channel) Answer(err error) channel.Answer {
	body := "success"
	if err != nil {
		body = "fail"
	}
	return channel.Answer{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte(body)}
}
