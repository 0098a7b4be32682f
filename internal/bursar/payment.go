package bursar

import "time"

// PaymentStatus is where an order's payment at a channel is.
type PaymentStatus string

// The states of a channel payment:
//
//	pending ──paid at the channel──▶ paid
//	   │
//	 closed at the channel (order expired or cancelled)
//	   ▼
//	 closed
//
// A payment that arrives for an order already paid another way is a
// duplicate: it is refunded through its channel and ends returned (or
// return_failed, for people to act on). A paid trade whose amount is not the
// order's ends mismatch, moving no money in the ledger, for people to act on.
const (
	PaymentPending      PaymentStatus = "pending"       // created at the channel, not paid yet
	PaymentPaid         PaymentStatus = "paid"          // paid; the order was settled from it
	PaymentClosed       PaymentStatus = "closed"        // closed unpaid at the channel
	PaymentFailed       PaymentStatus = "failed"        // the channel says the payment failed
	PaymentDuplicate    PaymentStatus = "duplicate"     // paid, but the order was already paid: being refunded
	PaymentReturned     PaymentStatus = "returned"      // a duplicate, refunded to the payer
	PaymentReturnFailed PaymentStatus = "return_failed" // a duplicate the channel refused to refund: for people to return
	PaymentMismatch     PaymentStatus = "mismatch"      // paid another amount than the order's: for people to return or book
)

// Payment is an order's payment at one channel. An order has at most one
// per channel: the order number is the channel's out_trade_no, which the
// channels refuse again with another method, so a payment keeps its method.
type Payment struct {
	Order     OrderID
	Channel   Channel
	Method    string // how the buyer pays (alipay_qr, wechat_native, ...)
	Amount    Money
	Status    PaymentStatus
	TradeNo   string // the channel's trade number, once known
	Payer     string // the buyer's account at the channel, once known
	CreatedAt time.Time
	PaidAt    time.Time
	UpdatedAt time.Time
}

// NoticeOutcome says what a channel notification did.
type NoticeOutcome string

// The notification outcomes.
const (
	NoticeApplied   NoticeOutcome = "applied"   // it changed an order, refund or withdrawal
	NoticeDuplicate NoticeOutcome = "duplicate" // what it says was already known
	NoticeIgnored   NoticeOutcome = "ignored"   // verified, but nothing to do (an unpaid status, ...)
	NoticeRejected  NoticeOutcome = "rejected"  // failed verification or checks: moved no money
)

// Notice is a notification from a channel, kept raw for audit whatever it
// turned out to be.
type Notice struct {
	ID         int64
	Channel    Channel
	ReceivedAt time.Time
	Header     map[string][]string // the HTTP headers that carry signatures
	Body       []byte              // exactly as received
	Kind       string              // payment, refund, transfer; empty when unreadable
	Event      string              // the channel's name for it (TRADE_SUCCESS, REFUND.SUCCESS, ...)
	OrderNo    string              // the order it names, when readable
	Outcome    NoticeOutcome
	Detail     string // why it was rejected, or what it did
}
