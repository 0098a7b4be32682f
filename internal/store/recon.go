package store

import (
	"context"
	"fmt"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// ReconTx is the part of Tx that stores reconciliation runs and their
// exceptions, and reads Bursar's side of a channel's day.
type ReconTx interface {
	// ReconRunInsert stores a new run; bursar.Conflict if its ID is taken.
	ReconRunInsert(ctx context.Context, r bursar.ReconRun) error
	// ReconRunUpdate stores a run's status, finish time, error, counts and
	// totals if it is still running; bursar.WrongState when it has
	// finished, bursar.NotFound when there is no such run.
	ReconRunUpdate(ctx context.Context, r bursar.ReconRun) error
	// ReconRunGet returns a run, or bursar.NotFound.
	ReconRunGet(ctx context.Context, id bursar.ReconRunID) (bursar.ReconRun, error)
	// ReconRunList returns runs matching f, newest first (by start, then
	// ID), at most f.Limit, and whether there are more. bursar.Invalid for
	// a limit outside 1 to 100.
	ReconRunList(ctx context.Context, f bursar.ReconRunFilter) ([]bursar.ReconRun, bool, error)

	// ReconExceptionInsert stores a new exception; bursar.Conflict if its
	// ID is taken, bursar.NotFound if its run does not exist.
	ReconExceptionInsert(ctx context.Context, e bursar.ReconException) error
	// ReconExceptionGet returns an exception, or bursar.NotFound.
	ReconExceptionGet(ctx context.Context, id bursar.ReconExceptionID) (bursar.ReconException, error)
	// ReconExceptionResolve stores an exception's status, action, note,
	// resolver and time if it is still open: a compare-and-set, so two
	// people resolving at once cannot both win. bursar.WrongState when it
	// is no longer open, bursar.NotFound when there is no such exception.
	ReconExceptionResolve(ctx context.Context, e bursar.ReconException) error
	// ReconExceptionSupersede marks superseded the open exceptions of the
	// channel and day that belong to other runs than keep, and returns how
	// many it marked.
	ReconExceptionSupersede(ctx context.Context, ch bursar.Channel, day time.Time, keep bursar.ReconRunID) (int, error)
	// ReconExceptionList returns exceptions matching f, newest first (by
	// creation, then ID; a run's in bill order), at most f.Limit, and
	// whether there are more. bursar.Invalid for a limit outside 1 to 1000.
	ReconExceptionList(ctx context.Context, f bursar.ReconExceptionFilter) ([]bursar.ReconException, bool, error)

	// ReconPayments returns the channel's payments that Bursar booked as
	// received (paid, and duplicates whether or not returned) whose
	// channel-side payment time is in [from, to), by time.
	ReconPayments(ctx context.Context, ch bursar.Channel, from, to time.Time) ([]ReconRecord, error)
	// ReconRefunds returns the money Bursar booked as sent back through the
	// channel in [from, to) (by the ledger entry's time), by time: refunds
	// that succeeded, and duplicate payments returned to their payer, whose
	// refund number is "dup-" and the order number.
	ReconRefunds(ctx context.Context, ch bursar.Channel, from, to time.Time) ([]ReconRecord, error)
	// ReconPayouts returns the withdrawals paid out through the channel
	// that succeeded in [from, to), by time.
	ReconPayouts(ctx context.Context, ch bursar.Channel, from, to time.Time) ([]ReconRecord, error)
}

// ReconRecord is one movement of money at a channel as Bursar booked it,
// for reconciliation against the channel's bill.
type ReconRecord struct {
	Order    bursar.OrderID
	OrderNo  string
	Refund   bursar.RefundID // refunds only; empty for a duplicate's return
	RefundNo string          // the refund number sent to the channel
	Amount   bursar.Amount   // the order's amount for payments; the refund's or payout's amount
	Status   string          // the payment's, refund's or withdrawal's status
	At       time.Time
}

// beijing is the time zone the channels' bills count days in.
var beijing = time.FixedZone("CST", 8*3600)

// DayText is how both engines store a reconciliation day: its Beijing date,
// yyyy-MM-dd, which sorts and compares as the days do.
func DayText(day time.Time) string { return day.In(beijing).Format(time.DateOnly) }

// DayOf reads a stored day back as midnight Beijing time.
func DayOf(s string) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, s, beijing)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored day %q: %w", s, err)
	}
	return d, nil
}
