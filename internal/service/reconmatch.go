package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/store"
)

// matching is one run's comparison of a bill with Bursar's records.
//
// Lines are matched by key first (a payment by its order number, a refund
// by its refund number) and only then are dates looked at: a payment the
// channel put on this day's bill at 23:59:59 that Bursar learnt of at
// 00:00:01 matches, whatever day Bursar filed it under. What Bursar booked
// in the day and no line matched is missing on the channel's side, unless
// it lies within edgeWindow of midnight and the channel, asked, dates it on
// the neighbouring day.
type matching struct {
	recon      *Recon
	ch         channel.Channel
	run        *bursar.ReconRun
	start, end time.Time // the day, [start, end)

	payments map[string]store.ReconRecord // by order number
	refunds  map[string]store.ReconRecord // by refund number
	used     map[string]bool              // records a line matched, by recordKey

	exceptions []bursar.ReconException
	lookups    int // questions asked of the channel about unmatched records
}

// maxLookups bounds the channel queries of one run: a bill that is wholly
// wrong must not turn into thousands of calls.
const maxLookups = 200

// booked reports whether a payment's status means Bursar booked its money
// as received at the channel.
func booked(status string) bool {
	switch bursar.PaymentStatus(status) {
	case bursar.PaymentPaid, bursar.PaymentDuplicate, bursar.PaymentReturned, bursar.PaymentReturnFailed:
		return true
	}
	return false
}

func recordKey(kind channel.BillLineKind, no string) string { return string(kind) + ":" + no }

// match compares every line of bill with Bursar's records, then looks for
// what Bursar has and the bill lacks, and fills the run's counts.
func (m *matching) match(ctx context.Context, bill channel.Bill, progress func(done, total int)) error {
	if err := m.load(ctx); err != nil {
		return err
	}
	total := len(bill.Lines)
	report := func(done int) {
		if progress != nil {
			progress(done, total)
		}
	}
	report(0)
	for i, l := range bill.Lines {
		if err := m.line(ctx, l); err != nil {
			return err
		}
		if (i+1)%progressEvery == 0 {
			report(i + 1)
		}
	}
	report(total)
	if err := m.missingTheirs(ctx); err != nil {
		return err
	}
	r := m.run
	r.Lines = total
	r.Matched = total
	for _, e := range m.exceptions {
		switch e.Kind {
		case bursar.ReconMissingOurs:
			r.MissingOurs++
		case bursar.ReconMissingTheirs:
			r.MissingTheirs++
		case bursar.ReconAmountMismatch:
			r.AmountMismatches++
		case bursar.ReconStatusMismatch:
			r.StatusMismatches++
		}
		if e.Line > 0 {
			r.Matched--
		}
	}
	r.BillPayments, r.BillPaymentTotal = bill.Payments, bill.PaymentTotal
	r.BillRefunds, r.BillRefundTotal, r.BillFeeTotal = bill.Refunds, bill.RefundTotal, bill.FeeTotal
	return nil
}

// load reads Bursar's side of the day, widened by edgeWindow on both sides
// so that lines near midnight find their records without a query each.
func (m *matching) load(ctx context.Context) error {
	from, to := m.start.Add(-edgeWindow), m.end.Add(edgeWindow)
	name := m.run.Channel
	m.payments, m.refunds, m.used = map[string]store.ReconRecord{}, map[string]store.ReconRecord{}, map[string]bool{}
	return m.recon.deps.read(ctx, func(tx store.Tx) error {
		ps, err := tx.ReconPayments(ctx, name, from, to)
		if err != nil {
			return err
		}
		rs, err := tx.ReconRefunds(ctx, name, from, to)
		if err != nil {
			return err
		}
		payouts, err := tx.ReconPayouts(ctx, name, m.start, m.end)
		if err != nil {
			return err
		}
		r := m.run
		for _, p := range ps {
			m.payments[p.OrderNo] = p
			if m.inDay(p.At) {
				r.OurPayments, r.OurPaymentTotal = r.OurPayments+1, r.OurPaymentTotal+p.Amount
			}
		}
		for _, rf := range rs {
			m.refunds[rf.RefundNo] = rf
			if m.inDay(rf.At) {
				r.OurRefunds, r.OurRefundTotal = r.OurRefunds+1, r.OurRefundTotal+rf.Amount
			}
		}
		for _, p := range payouts {
			r.OurPayouts, r.OurPayoutTotal = r.OurPayouts+1, r.OurPayoutTotal+p.Amount
		}
		return nil
	})
}

func (m *matching) inDay(t time.Time) bool { return !t.Before(m.start) && t.Before(m.end) }

// line matches one bill line and records an exception if it disagrees.
func (m *matching) line(ctx context.Context, l channel.BillLine) error {
	e := bursar.ReconException{Line: l.Line, OrderNo: l.OrderNo, TradeNo: l.TradeNo, RefundNo: l.RefundNo,
		BillAmount: l.Amount, BillFee: l.Fee, BillAt: l.At}
	key := l.OrderNo
	index := m.payments
	if l.Kind == channel.BillRefund {
		key, index = l.RefundNo, m.refunds
	}
	rec, ok := index[key]
	if !ok {
		var err error
		if rec, ok, err = m.lookup(ctx, l); err != nil {
			return err
		}
	}
	what := "payment"
	if l.Kind == channel.BillRefund {
		what = "refund"
	}
	if !ok {
		e.Kind = bursar.ReconMissingOurs
		e.Detail = fmt.Sprintf("The bill has a %s of %s yuan for %s that Bursar does not know.", what, l.Amount.Yuan(), numbers(l.OrderNo, l.RefundNo))
		m.exceptions = append(m.exceptions, e)
		return nil
	}
	m.used[recordKey(l.Kind, key)] = true
	e.Order, e.Refund, e.OurAmount, e.OurStatus = rec.Order, rec.Refund, rec.Amount, rec.Status
	switch {
	case l.Kind == channel.BillPayment && bursar.PaymentStatus(rec.Status) == bursar.PaymentMismatch,
		(l.Kind == channel.BillPayment && booked(rec.Status) || l.Kind == channel.BillRefund && m.refundDone(rec, l)) && rec.Amount != l.Amount:
		e.Kind = bursar.ReconAmountMismatch
		e.Detail = fmt.Sprintf("The bill has a %s of %s yuan for %s; Bursar's is %s yuan (%s).", what, l.Amount.Yuan(),
			numbers(l.OrderNo, l.RefundNo), rec.Amount.Yuan(), rec.Status)
	case l.Kind == channel.BillPayment && !booked(rec.Status), l.Kind == channel.BillRefund && !m.refundDone(rec, l):
		e.Kind = bursar.ReconStatusMismatch
		e.Detail = fmt.Sprintf("The bill has a %s of %s yuan for %s that Bursar has as %s, not booked.", what, l.Amount.Yuan(),
			numbers(l.OrderNo, l.RefundNo), rec.Status)
		if rec.RefundNo != "" && rec.RefundNo != l.RefundNo {
			e.Detail += fmt.Sprintf(" Bursar's refund %s went to the channel as %s.", rec.Refund, rec.RefundNo)
		}
	default:
		return nil
	}
	m.exceptions = append(m.exceptions, e)
	return nil
}

// refundDone reports whether Bursar booked a refund line's money as sent
// back: a refund succeeded under the line's number, or a duplicate payment
// returned.
func (m *matching) refundDone(rec store.ReconRecord, l channel.BillLine) bool {
	if strings.HasPrefix(l.RefundNo, returnPrefix) {
		return bursar.PaymentStatus(rec.Status) == bursar.PaymentReturned
	}
	return bursar.RefundStatus(rec.Status) == bursar.RefundSucceeded && rec.RefundNo == l.RefundNo
}

// lookup finds Bursar's record of a line that was not in the day's: a
// payment by order number at this channel, in any status; a refund by the
// ID its number carries, if it is of this order and channel; a duplicate's
// return by the order.
func (m *matching) lookup(ctx context.Context, l channel.BillLine) (store.ReconRecord, bool, error) {
	name := m.run.Channel
	var rec store.ReconRecord
	found := false
	err := m.recon.deps.read(ctx, func(tx store.Tx) error {
		orderNo, isReturn := strings.CutPrefix(l.RefundNo, returnPrefix)
		isReturn = isReturn && l.Kind == channel.BillRefund
		if l.Kind == channel.BillPayment || isReturn {
			if !isReturn {
				orderNo = l.OrderNo
			}
			o, err := tx.OrderGetByNo(ctx, orderNo)
			if bursar.ErrorCode(err) == bursar.NotFound {
				return nil
			}
			if err != nil {
				return err
			}
			p, err := tx.PaymentGet(ctx, o.ID, name)
			if bursar.ErrorCode(err) == bursar.NotFound {
				return nil
			}
			if err != nil {
				return err
			}
			rec, found = store.ReconRecord{Order: o.ID, OrderNo: o.No, Amount: o.Amount.Amount, Status: string(p.Status)}, true
			if l.Kind == channel.BillRefund {
				rec.RefundNo = l.RefundNo
			}
			return nil
		}
		r, err := tx.RefundGet(ctx, refundIDOf(l.RefundNo))
		if bursar.ErrorCode(err) == bursar.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		o, err := tx.OrderGet(ctx, r.Order)
		if err != nil {
			return err
		}
		if o.No != l.OrderNo || o.Channel != name {
			return nil // another order's refund of the same ID shape: not ours
		}
		rec, found = store.ReconRecord{Order: o.ID, OrderNo: o.No, Refund: r.ID, RefundNo: r.ChannelRefundNo,
			Amount: r.Amount.Amount, Status: string(r.Status)}, true
		return nil
	})
	return rec, found, err
}

// missingTheirs records what Bursar booked in the day that no line matched.
func (m *matching) missingTheirs(ctx context.Context) error {
	check := func(kind channel.BillLineKind, key string, rec store.ReconRecord) error {
		if m.used[recordKey(kind, key)] || !m.inDay(rec.At) {
			return nil
		}
		elsewhere, err := m.elsewhere(ctx, kind, rec)
		if err != nil || elsewhere {
			return err
		}
		what := "payment"
		if kind == channel.BillRefund {
			what = "refund"
		}
		m.exceptions = append(m.exceptions, bursar.ReconException{Kind: bursar.ReconMissingTheirs, OrderNo: rec.OrderNo,
			RefundNo: rec.RefundNo, Order: rec.Order, Refund: rec.Refund, OurAmount: rec.Amount, OurStatus: rec.Status,
			Detail: fmt.Sprintf("Bursar booked a %s of %s yuan for %s at %s that the bill does not have.", what,
				rec.Amount.Yuan(), numbers(rec.OrderNo, rec.RefundNo), rec.At.In(beijing).Format(time.DateTime))})
		return nil
	}
	for _, rec := range sortedRecords(m.payments) {
		if err := check(channel.BillPayment, rec.OrderNo, rec); err != nil {
			return err
		}
	}
	for _, rec := range sortedRecords(m.refunds) {
		if err := check(channel.BillRefund, rec.RefundNo, rec); err != nil {
			return err
		}
	}
	return nil
}

// elsewhere reports whether a record near midnight that the bill lacks is
// on the neighbouring day's bill: the channel, asked, dates it outside the
// day. A record far from midnight is never looked up.
func (m *matching) elsewhere(ctx context.Context, kind channel.BillLineKind, rec store.ReconRecord) (bool, error) {
	// A payment is placed by the channel's own time, so only one near
	// midnight can be on the other day's bill. A refund is placed by when
	// Bursar booked it, which may be hours after the channel refunded (a
	// lost notification, an outage), so each unmatched one is asked about,
	// up to maxLookups a run.
	nearEdge := rec.At.Sub(m.start) < edgeWindow || m.end.Sub(rec.At) <= edgeWindow
	if kind == channel.BillPayment && !nearEdge || m.lookups >= maxLookups {
		return false, nil
	}
	m.lookups++
	var at time.Time
	if kind == channel.BillRefund {
		r, err := m.ch.QueryRefund(ctx, rec.OrderNo, rec.RefundNo)
		if bursar.ErrorCode(err) == bursar.NotFound {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		at = r.At
	} else {
		t, err := m.ch.Query(ctx, rec.OrderNo)
		if bursar.ErrorCode(err) == bursar.NotFound {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		at = t.PaidAt
	}
	return !at.IsZero() && !m.inDay(at), nil
}

// sortedRecords returns records by time, then order number, so a run's
// exceptions come in a stable order.
func sortedRecords(index map[string]store.ReconRecord) []store.ReconRecord {
	out := make([]store.ReconRecord, 0, len(index))
	for _, r := range index {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.ReconRecord) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.OrderNo+a.RefundNo, b.OrderNo+b.RefundNo)
	})
	return out
}

// numbers names a payment by its order number, a refund by both.
func numbers(orderNo, refundNo string) string {
	if refundNo == "" {
		return "order " + orderNo
	}
	return "order " + orderNo + " refund " + refundNo
}
