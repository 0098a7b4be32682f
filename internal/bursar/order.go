package bursar

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// OrderType says what an order is for.
type OrderType string

// The order types.
const (
	OrderPurchase   OrderType = "purchase"   // a buyer pays for an item (seed 1 "deal")
	OrderTopup      OrderType = "topup"      // money into the wallet's cash (seed 1 "recharge")
	OrderWithdrawal OrderType = "withdrawal" // earnings out to Alipay (seed 1 "withdrawals")
)

// OrderStatus is where an order is in its life.
type OrderStatus string

// The states of a purchase:
//
//	pending ──pay──▶ paid ──release/confirm──▶ completed
//	   │               │ ▲
//	 close        refund│ │reject (or a partial refund)
//	   ▼               ▼ │
//	 closed      refund_requested ──approve (in full)──▶ refunded
//
// A free, zero-total or already-owned purchase is created completed.
const (
	OrderPending         OrderStatus = "pending"          // created, not paid; closes at its expiry
	OrderPaid            OrderStatus = "paid"             // money in escrow, released at release_at
	OrderCompleted       OrderStatus = "completed"        // money released to the seller
	OrderRefundRequested OrderStatus = "refund_requested" // the buyer asked for money back; release paused
	OrderRefunded        OrderStatus = "refunded"         // all money back with the buyer
	OrderClosed          OrderStatus = "closed"           // expired or cancelled unpaid
)

// The states of a withdrawal; one that needs no approval starts processing:
//
//	requested ──approved──▶ processing ──▶ succeeded
//	    │                                               │
//	 rejected                                     the channel failed
//	    ▼                                               ▼
//	  failed ◀──────────────────────────────────────────┘
//
// Its money leaves earnings for payout:pending when requested and comes
// back when it fails.
const (
	OrderRequested  OrderStatus = "requested"  // funds held; waits for the platform's approval
	OrderProcessing OrderStatus = "processing" // sent to the channel
	OrderSucceeded  OrderStatus = "succeeded"  // paid out
	OrderFailed     OrderStatus = "failed"     // rejected or refused by the channel; funds returned
)

// OrderStatuses lists every order status: a purchase's, then a
// withdrawal's; OrderTypes every order type. For filters to check against
// and show.
var (
	OrderStatuses = []OrderStatus{OrderPending, OrderPaid, OrderRefundRequested, OrderCompleted, OrderRefunded, OrderClosed,
		OrderRequested, OrderProcessing, OrderSucceeded, OrderFailed}
	OrderTypes = []OrderType{OrderPurchase, OrderTopup, OrderWithdrawal}
)

// orderTransitions lists, for each state, the states it may move to.
var orderTransitions = map[OrderStatus][]OrderStatus{
	OrderPending:         {OrderPaid, OrderCompleted, OrderClosed}, // a top-up completes when paid
	OrderPaid:            {OrderCompleted, OrderRefundRequested},
	OrderRefundRequested: {OrderPaid, OrderRefunded},
	OrderClosed:          {OrderPaid, OrderCompleted}, // a payment that arrives late re-opens it
	OrderRequested:       {OrderProcessing, OrderFailed},
	OrderProcessing:      {OrderSucceeded, OrderFailed},
}

// CanTransition reports whether an order may move from one state to another.
func CanTransition(from, to OrderStatus) bool {
	return slices.Contains(orderTransitions[from], to)
}

// Order is a purchase, top-up or withdrawal.
type Order struct {
	ID OrderID
	// No is the merchant order number sent to channels as out_trade_no:
	// digits staff can read aloud, unique, at most 32 characters.
	No      string
	Type    OrderType
	Status  OrderStatus
	Buyer   UserID // who pays (for a withdrawal: whose earnings)
	Seller  UserID // who is paid; empty for top-ups and withdrawals
	Item    ItemID // empty unless a purchase of an item
	Subject string
	Amount  Money // the total to pay
	Channel Channel
	// PaidFromCash and PaidFromEarnings record how a wallet payment was
	// funded, so a refund goes back where the money came from.
	PaidFromCash     Amount
	PaidFromEarnings Amount
	Refunded         Amount // money returned to the buyer so far
	Fee              Amount // commission taken at release
	Hold             time.Duration
	Duration         time.Duration // a session's window from payment; zero for a course
	Metadata         map[string]string
	CreatedAt        time.Time
	ExpiresAt        time.Time // when a pending order closes
	PaidAt           time.Time
	ReleaseAt        time.Time // when escrow is released without confirmation
	CompletedAt      time.Time
	// AccessUntil ends a session's window: paid_at + duration, or the moment
	// the buyer confirmed. Zero with a course means for ever.
	AccessUntil time.Time
	UpdatedAt   time.Time

	// A withdrawal's payee at the channel, the channel's reference for the
	// payout, and why it failed.
	PayoutAccount string
	PayoutName    string
	ChannelRef    string
	FailureReason string
	// NeedsApproval holds a large withdrawal until the platform approves it.
	NeedsApproval bool
}

// Escrowed is the money of the order still held in escrow.
func (o Order) Escrowed() Amount {
	if o.Status != OrderPaid && o.Status != OrderRefundRequested {
		return 0
	}
	return o.Amount.Amount - o.Refunded
}

// DefaultOrderExpiry is how long an unpaid order stays payable.
const DefaultOrderExpiry = 30 * time.Minute

// ValidateMetadata checks client metadata: at most 20 keys of at most 40
// bytes, values of at most 500.
func ValidateMetadata(m map[string]string) error {
	if len(m) > 20 {
		return InvalidParam("metadata", "Metadata has at most 20 keys.")
	}
	for k, v := range m {
		if k == "" || len(k) > 40 || len(v) > 500 || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return InvalidParam("metadata", "Metadata keys are 1 to 40 bytes and values at most 500, in UTF-8.")
		}
	}
	return nil
}

// ValidateSubject checks an order's subject line.
func ValidateSubject(s string) error {
	if s == "" || utf8.RuneCountInString(s) > 128 || !utf8.ValidString(s) {
		return InvalidParam("subject", "A subject is 1 to 128 characters.")
	}
	return nil
}

// OrderWrongState builds the error for an order not in a state that allows an action.
func OrderWrongState(o Order, action string) error {
	return &Error{Code: WrongState, Message: fmt.Sprintf("The order %s is %s, so it cannot be %s.", o.ID, o.Status, action)}
}
