package bursar

import (
	"strings"
	"time"
	"unicode/utf8"
)

// RefundID identifies a refund.
type RefundID string

// RefundStatus is where a refund request is in its life.
type RefundStatus string

// The refund states: requested → succeeded | rejected; a refund of a
// channel payment passes through processing while the channel works, and
// goes back to requested, with the channel's reason, if the channel refuses.
const (
	RefundRequested  RefundStatus = "requested"  // asked by the buyer; escrow release paused
	RefundProcessing RefundStatus = "processing" // approved; the channel is returning the money
	RefundSucceeded  RefundStatus = "succeeded"  // approved: the money went back where it came from
	RefundRejected   RefundStatus = "rejected"   // refused with a reason: the hold resumed
)

// Refund is a buyer's request to get some or all of a purchase's money back.
type Refund struct {
	ID           RefundID
	Order        OrderID
	Amount       Money
	Reason       string
	Status       RefundStatus
	RequestedBy  string // the actor who asked: "user:42", "platform:key_…"
	DecidedBy    string // who approved or rejected
	DecisionNote string // why it was rejected, or an approver's note
	// ToEarnings and ToCash split a wallet refund: money goes back to
	// earnings first, as much as the payment took from there, then cash.
	ToEarnings Amount
	ToCash     Amount
	// ChannelRefundNo is the refund number sent to the channel
	// (out_request_no, out_refund_no), one per attempt; ChannelRef is the
	// channel's own refund id.
	ChannelRefundNo string
	ChannelRef      string
	CreatedAt       time.Time
	DecidedAt       time.Time
}

// ValidateReason checks a refund's or a rejection's reason.
func ValidateReason(param, s string) error {
	if strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > 500 || !utf8.ValidString(s) {
		return InvalidParam(param, "A reason is 1 to 500 characters.")
	}
	return nil
}

// RefundSplit says how a wallet refund of amount goes back to the buyer after
// refunded was already returned: to earnings first, up to what the payment
// took from earnings, then to cash. Returning earnings first never turns
// non-withdrawable cash into withdrawable earnings.
func RefundSplit(o Order, amount Amount) (toEarnings, toCash Amount) {
	earningsBack := min(o.Refunded, o.PaidFromEarnings)
	toEarnings = min(amount, o.PaidFromEarnings-earningsBack)
	return toEarnings, amount - toEarnings
}

// Review is a buyer's score and comment on a completed purchase.
type Review struct {
	Order     OrderID
	Buyer     UserID
	Seller    UserID
	Item      ItemID
	Score     int // 1 to 5
	Comment   string
	CreatedAt time.Time
}

// Validate checks a review's score and comment.
func (r Review) Validate() error {
	if r.Score < 1 || r.Score > 5 {
		return InvalidParam("score", "A score is a whole number from 1 to 5.")
	}
	if utf8.RuneCountInString(r.Comment) > 2000 || !utf8.ValidString(r.Comment) {
		return InvalidParam("comment", "A comment is at most 2000 characters.")
	}
	return nil
}

// RatingSummary sums up a seller's reviews.
type RatingSummary struct {
	Seller  UserID
	Count   int
	Sum     int    // of scores; the average is Sum/Count
	ByScore [5]int // ByScore[s-1] reviews scored s
}
