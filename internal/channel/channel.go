// Package channel is the contract between Bursar and an outside payment
// channel (Alipay, WeChat Pay): create a payment, query it, close it,
// refund it, pay money out, download the daily bill, and read the channel's
// notifications. Its implementations live beneath it (alipay, wechat), each
// on the channel's real SDK; sandbox holds fake gateways that speak the same
// wire protocols, for development and tests.
//
// Amounts are bursar.Amount in fen whatever the wire uses (Alipay sends yuan
// strings, WeChat Pay fen integers); converting is the adapter's job and is
// never done through a float.
//
// Errors an adapter returns carry a bursar code, so the service can tell
// what to do next without knowing the channel:
//   - bursar.NotFound: the channel has no such trade, refund or transfer
//     (Alipay ACQ.TRADE_NOT_EXIST, WeChat ORDER_NOT_EXIST, ...);
//   - bursar.Unavailable: the channel could not be reached or answered
//     with a server error; the call may be retried with the same numbers;
//   - bursar.ChannelFailed: the channel refused the request; the message
//     carries its code and text.
package channel

import (
	"context"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// Channel is one payment channel as the service uses it. Implementations
// are safe for concurrent use.
type Channel interface {
	// Name is the channel's name in orders and ledger accounts.
	Name() bursar.Channel
	// Pay creates the channel's side of a payment for an order and returns
	// what the buyer's client needs to pay it. Asking again with the same
	// order number and amount gives an equivalent answer.
	Pay(ctx context.Context, req PayRequest) (Payment, error)
	// Query returns the channel's view of the payment for an order number.
	Query(ctx context.Context, orderNo string) (Trade, error)
	// Close closes an unpaid payment so that it can no longer be paid. A
	// payment the channel never saw closes without error; one that is
	// already paid gives bursar.WrongState.
	Close(ctx context.Context, orderNo string) error
	// Refund returns money of a paid order to the buyer. A retry with the
	// same refund number never refunds twice.
	Refund(ctx context.Context, req RefundRequest) (Refund, error)
	// QueryRefund returns the state of a refund.
	QueryRefund(ctx context.Context, orderNo, refundNo string) (Refund, error)
	// Transfer pays money out to an account at the channel (a seller's
	// withdrawal). A retry with the same transfer number never pays twice.
	// Channels that cannot pay out give bursar.ChannelFailed.
	Transfer(ctx context.Context, req TransferRequest) (Transfer, error)
	// QueryTransfer returns the state of a transfer.
	QueryTransfer(ctx context.Context, transferNo string) (Transfer, error)
	// Bill downloads the channel's bill of trades for a day (Beijing time)
	// as the channel serves it, uncompressed: Alipay's GBK CSV detail file,
	// WeChat Pay's UTF-8 CSV. A day with no bill gives bursar.NotFound.
	Bill(ctx context.Context, day time.Time) ([]byte, error)
	// ParseBill reads a file Bill returned for day, in the channel's own
	// format, and checks the totals it states against its lines. A
	// malformed file is an error with code bursar.Invalid that names the
	// line it broke on; nothing is returned with it.
	ParseBill(day time.Time, data []byte) (Bill, error)
	// ParseNotification verifies a notification the channel sent (its
	// signature, and that it is for this merchant) and decodes it. Any
	// failure is an error with code bursar.Invalid and nothing is decoded;
	// the service still checks the amount and order against its own.
	ParseNotification(ctx context.Context, in Inbound) (Notification, error)
	// Answer is the HTTP answer that tells the channel a notification was
	// taken (err == nil) or must be sent again (err != nil).
	Answer(err error) Answer
}

// Method is how the buyer pays at the channel.
type Method string

// The payment methods.
const (
	AlipayPage    Method = "alipay_page"   // PC web: the buyer's browser opens URL (alipay.trade.page.pay)
	AlipayWap     Method = "alipay_wap"    // mobile web: as above (alipay.trade.wap.pay)
	AlipayApp     Method = "alipay_app"    // the Alipay app SDK takes OrderString (alipay.trade.app.pay)
	AlipayQR      Method = "alipay_qr"     // QR code of URL, scanned in the Alipay app (alipay.trade.precreate)
	WeChatNative  Method = "wechat_native" // QR code of URL (weixin://...), scanned in WeChat
	WeChatJSAPI   Method = "wechat_jsapi"  // inside WeChat: the page calls WeixinJSBridge with Params
	WeChatH5      Method = "wechat_h5"     // mobile browser outside WeChat: open URL
	WeChatApp     Method = "wechat_app"    // the WeChat app SDK takes Params
	MethodUnknown Method = ""
)

// Channel returns the channel a method belongs to.
func (m Method) Channel() bursar.Channel {
	switch m {
	case AlipayPage, AlipayWap, AlipayApp, AlipayQR:
		return bursar.ChannelAlipay
	case WeChatNative, WeChatJSAPI, WeChatH5, WeChatApp:
		return bursar.ChannelWeChat
	}
	return ""
}

// Methods lists every method, for validation and documentation.
var Methods = []Method{AlipayPage, AlipayWap, AlipayApp, AlipayQR, WeChatNative, WeChatJSAPI, WeChatH5, WeChatApp}

// MethodList names the methods for messages people read.
func MethodList() string {
	names := make([]string, len(Methods))
	for i, m := range Methods {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

// PayRequest asks a channel to create a payment.
type PayRequest struct {
	OrderNo   string       // out_trade_no: at most 32 of [0-9A-Za-z_-]
	Amount    bursar.Money // CNY; more than zero
	Subject   string       // what the buyer sees; at most 128 characters
	Method    Method
	ExpiresAt time.Time // the channel stops accepting payment after this
	NotifyURL string    // where the channel sends its notifications; no query string
	ReturnURL string    // where the browser returns after an Alipay page or wap payment
	OpenID    string    // the payer's openid for WeChatJSAPI
	ClientIP  string    // the buyer's IP address, required by WeChatH5
}

// Payment is what the buyer's client needs to pay.
type Payment struct {
	Method Method
	// URL is the page to open (Alipay page/wap, WeChat H5) or the content
	// of the QR code to show (Alipay QR, WeChat Native).
	URL string `json:"url,omitempty"`
	// OrderString is the signed order string the Alipay app SDK takes.
	OrderString string `json:"order_string,omitempty"`
	// Params are what WeChat's JSAPI or app SDK takes (appId, timeStamp,
	// nonceStr, package, signType, paySign; or the app's equivalents).
	Params map[string]string `json:"params,omitempty"`
}

// TradeStatus is the channel's view of a payment.
type TradeStatus string

// The trade states, common to both channels.
const (
	TradePending TradeStatus = "pending" // created, not paid (Alipay WAIT_BUYER_PAY, WeChat NOTPAY/USERPAYING)
	TradePaid    TradeStatus = "paid"    // paid, possibly partly refunded since (TRADE_SUCCESS/FINISHED, SUCCESS/REFUND)
	TradeClosed  TradeStatus = "closed"  // closed unpaid, or paid and refunded in full
	TradeFailed  TradeStatus = "failed"  // the payment failed (WeChat PAYERROR/REVOKED)
)

// Trade is a payment as the channel records it.
type Trade struct {
	OrderNo  string // ours (out_trade_no)
	TradeNo  string // the channel's (Alipay trade_no, WeChat transaction_id)
	Status   TradeStatus
	Amount   bursar.Money  // the order total the channel holds
	Refunded bursar.Amount // refunded so far, where the channel tells
	Payer    string        // the buyer's account at the channel (buyer_id, openid)
	PaidAt   time.Time     // zero unless paid
}

// RefundRequest asks for money back to the buyer.
type RefundRequest struct {
	OrderNo  string
	RefundNo string       // ours (out_request_no, out_refund_no); one per refund
	Amount   bursar.Money // this refund
	Total    bursar.Money // the order's total (WeChat wants both)
	Reason   string
}

// RefundStatus is where a refund is at the channel.
type RefundStatus string

// The refund states.
const (
	RefundProcessing RefundStatus = "processing" // accepted; the result comes later
	RefundSucceeded  RefundStatus = "succeeded"
	RefundFailed     RefundStatus = "failed" // final: the money stays with the merchant
)

// Refund is a refund as the channel records it.
type Refund struct {
	OrderNo    string
	RefundNo   string
	ChannelRef string // the channel's refund id, where it has one
	Status     RefundStatus
	Amount     bursar.Money
	At         time.Time // when it succeeded; zero otherwise
}

// TransferRequest asks for money to be paid out.
type TransferRequest struct {
	TransferNo string       // ours (out_biz_no); the idempotency key
	Amount     bursar.Money // at least 0.10 yuan for Alipay
	Account    string       // the payee's account: an Alipay login (phone or e-mail) or 2088... user id
	Name       string       // the payee's real name, checked by the channel
	Title      string       // shown to the payee
}

// TransferStatus is where a payout is at the channel.
type TransferStatus string

// The transfer states.
const (
	TransferProcessing TransferStatus = "processing"
	TransferSucceeded  TransferStatus = "succeeded"
	TransferFailed     TransferStatus = "failed" // final: no money left the merchant
)

// Transfer is a payout as the channel records it.
type Transfer struct {
	TransferNo string
	ChannelRef string // the channel's order id
	Status     TransferStatus
	Amount     bursar.Money
	Reason     string    // why it failed, in the channel's words
	At         time.Time // when it succeeded; zero otherwise
}

// Inbound is an HTTP request from a channel, as received: the headers and
// the raw body, never decoded or re-encoded before verification.
type Inbound struct {
	Header map[string][]string // canonical keys, as net/http gives them
	Body   []byte
}

// NotificationKind says what a notification is about.
type NotificationKind string

// The notification kinds.
const (
	NotifyPayment  NotificationKind = "payment"  // Trade is set
	NotifyRefund   NotificationKind = "refund"   // Refund is set
	NotifyTransfer NotificationKind = "transfer" // Transfer is set
)

// Notification is a verified, decoded notification.
type Notification struct {
	Kind NotificationKind
	// ID is the channel's id of the notification (Alipay notify_id, WeChat
	// event id); retries of one notification share it.
	ID       string
	Event    string // the channel's own name (TRADE_SUCCESS, REFUND.SUCCESS, ...)
	Trade    Trade
	Refund   Refund
	Transfer Transfer
}

// Answer is an HTTP answer to a channel.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
}

// BillLineKind says what a line of a channel's bill is.
type BillLineKind string

// The bill line kinds.
const (
	BillPayment BillLineKind = "payment"
	BillRefund  BillLineKind = "refund"
)

// BillLine is one trade or refund in a channel's daily bill, as the channel
// reports it.
type BillLine struct {
	Line     int // where it is in the file, 1-based, for people checking it
	Kind     BillLineKind
	OrderNo  string        // ours (out_trade_no)
	TradeNo  string        // the channel's trade number
	RefundNo string        // ours (out_request_no, out_refund_no); refunds only
	Amount   bursar.Amount // positive: what was paid, or what was refunded
	Fee      bursar.Amount // the channel's fee on the line, in fen; negative when a refund returns fee
	At       time.Time     // when it was paid or refunded
}

// Bill is a channel's bill for a day, parsed: every line and the totals the
// channel states, which the parser has checked against the lines.
type Bill struct {
	Day          time.Time // the day, at midnight Beijing time
	Lines        []BillLine
	Payments     int           // how many payment lines the channel counts
	PaymentTotal bursar.Amount // their sum, as the channel states it
	Refunds      int
	RefundTotal  bursar.Amount
	FeeTotal     bursar.Amount
}
