package seed1

import (
	"cmp"
	"fmt"
	"strconv"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// chargeObject is a payment in the shape of a Ping++ Charge, so the seed's
// apps hand it to the Ping++ client SDK unchanged: the SDK reads channel
// and credential.alipay.orderInfo (the signed order string the Alipay app
// takes) or credential.wx (what the WeChat app's PayReq takes). The other
// fields are a charge's as Ping++ answered one just created.
type chargeObject struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Created        int64             `json:"created"`
	Livemode       bool              `json:"livemode"`
	Paid           bool              `json:"paid"`
	Refunded       bool              `json:"refunded"`
	App            string            `json:"app"`
	Channel        string            `json:"channel"`
	OrderNo        string            `json:"order_no"`
	ClientIP       string            `json:"client_ip"`
	Amount         bursar.Amount     `json:"amount"`
	AmountSettle   bursar.Amount     `json:"amount_settle"`
	Currency       string            `json:"currency"`
	Subject        string            `json:"subject"`
	Body           string            `json:"body"`
	TimePaid       *int64            `json:"time_paid"`
	TimeExpire     int64             `json:"time_expire"`
	TransactionNo  *string           `json:"transaction_no"`
	AmountRefunded bursar.Amount     `json:"amount_refunded"`
	FailureCode    *string           `json:"failure_code"`
	FailureMsg     *string           `json:"failure_msg"`
	Metadata       map[string]string `json:"metadata"`
	Credential     credentialObject  `json:"credential"`
	Description    *string           `json:"description"`
}

type credentialObject struct {
	Object string            `json:"object"`
	Alipay *alipayCredential `json:"alipay,omitempty"`
	WX     *wxCredential     `json:"wx,omitempty"`
}

type alipayCredential struct {
	OrderInfo string `json:"orderInfo"`
}

// wxCredential is Ping++'s wx credential: WeChat's app PayReq fields under
// Ping++'s names, the time stamp as a number.
type wxCredential struct {
	AppID        string `json:"appId"`
	PartnerID    string `json:"partnerId"`
	PrepayID     string `json:"prepayId"`
	NonceStr     string `json:"nonceStr"`
	TimeStamp    int64  `json:"timeStamp"`
	PackageValue string `json:"packageValue"`
	Sign         string `json:"sign"`
}

// chargeID names an order's charge. Ping++'s ids are "ch_" and 24
// characters; an order number is 24 digits, so the id is stable for the
// order and the same in every answer that shows it (pingChargeId).
func chargeID(o bursar.Order) string { return "ch_" + o.No }

func (s *Server) chargeJSON(o bursar.Order, pay channel.Payment, ip string) (*chargeObject, error) {
	ch := &chargeObject{
		ID: chargeID(o), Object: "charge", Created: s.deps.Now().Unix(), App: s.deps.PingApp,
		OrderNo: o.No, ClientIP: ip, Amount: o.Amount.Amount, AmountSettle: o.Amount.Amount, Currency: "cny",
		Subject: o.Subject, Body: o.Subject, TimeExpire: o.ExpiresAt.Unix(), Metadata: map[string]string{},
		Credential: credentialObject{Object: "credential"},
	}
	switch pay.Method {
	case channel.AlipayApp:
		if pay.OrderString == "" {
			return nil, fmt.Errorf("alipay app payment of order %s has no order string", o.ID)
		}
		ch.Channel = "alipay"
		ch.Credential.Alipay = &alipayCredential{OrderInfo: pay.OrderString}
	case channel.WeChatApp:
		p := pay.Params
		ts, err := strconv.ParseInt(p["timestamp"], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("wechat app payment of order %s: time stamp %q: %w", o.ID, p["timestamp"], err)
		}
		ch.Channel = "wx"
		ch.Credential.WX = &wxCredential{AppID: p["appid"], PartnerID: p["partnerid"], PrepayID: p["prepayid"],
			NonceStr: p["noncestr"], TimeStamp: ts, PackageValue: cmp.Or(p["package"], "Sign=WXPay"), Sign: p["sign"]}
	default:
		return nil, fmt.Errorf("order %s: no charge for the payment method %q", o.ID, pay.Method)
	}
	return ch, nil
}
