package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// probePrefix starts the signature of WeChat's signature probes, which must
// be rejected like any bad signature.
const probePrefix = "WECHATPAY/SIGNTEST/"

// refundNotice is the plaintext of a REFUND.* notification; the SDK has no
// type for it (refunddomestic.Refund names the status "status", the
// notification "refund_status").
type refundNotice struct {
	MchID         string     `json:"mchid"`
	OutTradeNo    string     `json:"out_trade_no"`
	TransactionID string     `json:"transaction_id"`
	OutRefundNo   string     `json:"out_refund_no"`
	RefundID      string     `json:"refund_id"`
	RefundStatus  string     `json:"refund_status"`
	SuccessTime   *time.Time `json:"success_time"`
	Amount        *struct {
		Total  *int64 `json:"total"`
		Refund *int64 `json:"refund"`
	} `json:"amount"`
}

// ParseNotification verifies a notification with the SDK's notify handler
// (the WeChat Pay public key's signature over timestamp, nonce and body;
// a timestamp within five minutes of now; AES-256-GCM decryption with the
// APIv3 key), checks that it is for this merchant and app, and decodes
// TRANSACTION.SUCCESS as a payment and REFUND.* as a refund. Signature
// probes, other events and any failure give bursar.Invalid.
func (c *Channel) ParseNotification(ctx context.Context, in channel.Inbound) (channel.Notification, error) {
	h := http.Header{}
	for k, v := range in.Header {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
	if strings.HasPrefix(h.Get("Wechatpay-Signature"), probePrefix) {
		return channel.Notification{}, invalid("it is a signature probe (WECHATPAY/SIGNTEST/), not a real notification")
	}
	// The SDK reads resource without a nil check: make sure there is one.
	var env struct {
		Resource *struct {
			OriginalType string `json:"original_type"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(in.Body, &env); err != nil || env.Resource == nil {
		return channel.Notification{}, invalid("the body is not a WeChat Pay notification")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(in.Body))
	if err != nil {
		return channel.Notification{}, invalid("%s", err.Error())
	}
	req.Header = h
	var plain json.RawMessage
	nr, err := c.notify.ParseNotifyRequest(ctx, req, &plain)
	if err != nil {
		return channel.Notification{}, invalid("%s", sdkReason(err))
	}
	n := channel.Notification{ID: nr.ID, Event: nr.EventType}
	switch {
	case nr.EventType == "TRANSACTION.SUCCESS" && env.Resource.OriginalType == "transaction":
		var tx payments.Transaction
		if err := json.Unmarshal(plain, &tx); err != nil {
			return channel.Notification{}, invalid("the transaction does not decode: %s", err.Error())
		}
		if m, a := deref(tx.Mchid), deref(tx.Appid); m != c.cfg.MchID || a != c.cfg.AppID {
			return channel.Notification{}, invalid("it is for merchant %q app %q, not ours", m, a)
		}
		t, err := tradeOf(&tx)
		if err != nil {
			return channel.Notification{}, invalid("%s", bursar.ErrorMessage(err))
		}
		if t.Status != channel.TradePaid {
			return channel.Notification{}, invalid("TRANSACTION.SUCCESS with trade_state %q", deref(tx.TradeState))
		}
		n.Kind, n.Trade = channel.NotifyPayment, t
	case strings.HasPrefix(nr.EventType, "REFUND.") && env.Resource.OriginalType == "refund":
		var rn refundNotice
		if err := json.Unmarshal(plain, &rn); err != nil {
			return channel.Notification{}, invalid("the refund does not decode: %s", err.Error())
		}
		if rn.MchID != c.cfg.MchID {
			return channel.Notification{}, invalid("it is for merchant %q, not ours", rn.MchID)
		}
		r := channel.Refund{OrderNo: rn.OutTradeNo, RefundNo: rn.OutRefundNo, ChannelRef: rn.RefundID,
			Status: refundStatus[rn.RefundStatus]}
		if r.Status == "" || rn.Amount == nil || rn.Amount.Refund == nil {
			return channel.Notification{}, invalid("the refund has status %q and no amount", rn.RefundStatus)
		}
		r.Amount = bursar.Money{Amount: bursar.Amount(*rn.Amount.Refund), Currency: bursar.CNY}
		if r.Status == channel.RefundSucceeded && rn.SuccessTime != nil {
			r.At = *rn.SuccessTime
		}
		n.Kind, n.Refund = channel.NotifyRefund, r
	default:
		return channel.Notification{}, invalid("the event %q (%s) is not one Bursar takes", nr.EventType, env.Resource.OriginalType)
	}
	return n, nil
}

func invalid(format string, args ...any) error {
	return bursar.Errorf(bursar.Invalid, "WeChat Pay notification rejected: "+format+".", args...)
}

// sdkReason shortens the SDK's error, which appends a dump of the whole
// request, to its reason.
func sdkReason(err error) string {
	s := strings.TrimPrefix(err.Error(), "invalid notification, err: ")
	if i := strings.Index(s, ", request: "); i >= 0 {
		s = s[:i]
	}
	return s
}

// Answer is 204 with no body when the notification was taken, else 500
// with WeChat's failure body; WeChat looks at the status only, and sends
// again on anything but 200 or 204.
func (c *Channel) Answer(err error) channel.Answer {
	if err == nil {
		return channel.Answer{Status: http.StatusNoContent}
	}
	return channel.Answer{
		Status:      http.StatusInternalServerError,
		ContentType: "application/json; charset=utf-8",
		Body:        []byte(`{"code":"FAIL","message":"失败"}`),
	}
}
