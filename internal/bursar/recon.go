package bursar

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ReconRunID identifies a reconciliation run.
type ReconRunID string

// ReconExceptionID identifies an exception a reconciliation run found.
type ReconExceptionID string

// ReconStatus is where a reconciliation run is.
type ReconStatus string

// The run states: running while the bill is matched, then done, or failed
// with the reason (a bill that does not parse, a channel that failed).
const (
	ReconRunning ReconStatus = "running"
	ReconDone    ReconStatus = "done"
	ReconFailed  ReconStatus = "failed"
)

// ReconRun is one reconciliation of a channel's bill for a day (Beijing
// time) against Bursar's records. A channel and day may be reconciled again;
// every run is kept. A run only reads: it never changes money.
type ReconRun struct {
	ID        ReconRunID
	Channel   Channel
	Day       time.Time // midnight Beijing time
	Status    ReconStatus
	StartedBy string // who asked: "platform:key_…", or "system" for the daily job
	StartedAt time.Time
	// FinishedAt is when it ended, done or failed; zero while running.
	FinishedAt time.Time
	Error      string // why it failed

	Lines   int // bill lines read
	Matched int // bill lines that agree with Bursar
	// Exceptions of each kind.
	MissingOurs      int
	MissingTheirs    int
	AmountMismatches int
	StatusMismatches int

	// What the bill states: counts and sums of payments and refunds, and
	// the channel's fees on them.
	BillPayments     int
	BillPaymentTotal Amount
	BillRefunds      int
	BillRefundTotal  Amount
	BillFeeTotal     Amount
	// What Bursar booked at the channel that day. Bursar does not book the
	// channel's fees, so there is no fee total of ours; payouts are not on a
	// trade bill, so they are shown for the record, not matched.
	OurPayments     int
	OurPaymentTotal Amount
	OurRefunds      int
	OurRefundTotal  Amount
	OurPayouts      int
	OurPayoutTotal  Amount
}

// Exceptions is how many exceptions the run found.
func (r ReconRun) Exceptions() int {
	return r.MissingOurs + r.MissingTheirs + r.AmountMismatches + r.StatusMismatches
}

// ReconKind says how a channel's bill and Bursar disagree.
type ReconKind string

// The exception kinds.
const (
	// ReconMissingOurs is on the bill but not in Bursar ("long": the
	// channel holds money Bursar does not account for).
	ReconMissingOurs ReconKind = "missing_ours"
	// ReconMissingTheirs is in Bursar but not on the bill ("short").
	ReconMissingTheirs ReconKind = "missing_theirs"
	// ReconAmountMismatch is on both, with different amounts.
	ReconAmountMismatch ReconKind = "amount_mismatch"
	// ReconStatusMismatch is on both, but Bursar has not booked what the
	// bill says happened (a payment still pending, a refund not succeeded).
	ReconStatusMismatch ReconKind = "status_mismatch"
)

// ReconKinds lists the kinds, for validation and documentation.
var ReconKinds = []ReconKind{ReconMissingOurs, ReconMissingTheirs, ReconAmountMismatch, ReconStatusMismatch}

// ReconExceptionStatus is where an exception is.
type ReconExceptionStatus string

// The exception states: open until someone resolves it. An open exception
// is superseded when the channel and day are reconciled again: the newer
// run's exceptions are what stands.
const (
	ReconOpen       ReconExceptionStatus = "open"
	ReconResolved   ReconExceptionStatus = "resolved"
	ReconSuperseded ReconExceptionStatus = "superseded"
)

// ReconAction is what someone did about an exception.
type ReconAction string

// The resolution actions. None of them changes money by itself except
// through the ordinary payment path that sync uses.
const (
	// ReconAccept: explained, nothing to change (a channel's own test
	// payment, a trade of another system on the same merchant number).
	ReconAccept ReconAction = "accept"
	// ReconSync: the channel was asked about the order or refund again and
	// its answer applied through the same path its notifications take.
	ReconSync ReconAction = "sync"
	// ReconAdjusted: the money was put right by a wallet adjustment; the
	// note says which.
	ReconAdjusted ReconAction = "adjusted"
)

// ReconActions lists the actions, for validation and documentation.
var ReconActions = []ReconAction{ReconAccept, ReconSync, ReconAdjusted}

// ReconException is one disagreement between a channel's bill and Bursar:
// what the bill says, what Bursar says, and how it was resolved.
type ReconException struct {
	ID      ReconExceptionID
	Run     ReconRunID
	Channel Channel
	Day     time.Time // the run's day, midnight Beijing time
	Kind    ReconKind
	// What the bill says; zero for missing_theirs.
	Line       int // 1-based line in the bill file
	OrderNo    string
	TradeNo    string
	RefundNo   string // the refund number, for a refund
	BillAmount Amount
	BillFee    Amount
	BillAt     time.Time
	// What Bursar says; empty for missing_ours.
	Order      OrderID
	Refund     RefundID
	OurAmount  Amount
	OurStatus  string // the payment's, the refund's or the order's status
	Detail     string // the disagreement in words, for people
	Status     ReconExceptionStatus
	Action     ReconAction
	Note       string
	ResolvedBy string
	ResolvedAt time.Time
	// CarriedFrom names the exception of an earlier run of the same channel
	// and day whose resolution this one took over.
	CarriedFrom ReconExceptionID
	CreatedAt   time.Time
}

// Key identifies the disagreement across runs of a channel and day: the
// kind, the numbers it is about and both sides' amounts, so a resolution
// carries over only to the same difference, not to one that has changed.
func (e ReconException) Key() string {
	return fmt.Sprintf("%s|%s|%s|%d|%d", e.Kind, e.OrderNo, e.RefundNo, e.BillAmount, e.OurAmount)
}

// ReconRunFilter selects runs. Zero fields do not filter.
type ReconRunFilter struct {
	Channel Channel
	Day     time.Time // midnight Beijing time
	Status  ReconStatus
	Before  ReconRunID // a cursor: only runs started before this one
	Limit   int        // 1 to 100
}

// ReconExceptionFilter selects exceptions. Zero fields do not filter.
type ReconExceptionFilter struct {
	Run     ReconRunID
	Channel Channel
	Day     time.Time
	Status  ReconExceptionStatus
	Kind    ReconKind
	Before  ReconExceptionID // a cursor: only exceptions created before this one
	Limit   int              // 1 to 1000
}

// ValidateReconNote checks a resolution's note: required, at most 500
// characters.
func ValidateReconNote(s string) error {
	if strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > 500 || !utf8.ValidString(s) {
		return InvalidParam("note", "A note saying what was found and done is required, 1 to 500 characters.")
	}
	return nil
}
