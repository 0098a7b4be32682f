package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// reconDay is the Beijing day the reconciliation tests reconcile.
var reconDay = time.Date(2026, 11, 21, 0, 0, 0, 0, cst)

func newRun(id bursar.ReconRunID, ch bursar.Channel, day time.Time, at time.Time) bursar.ReconRun {
	return bursar.ReconRun{ID: id, Channel: ch, Day: day, Status: bursar.ReconRunning, StartedBy: "system", StartedAt: at}
}

func newException(id bursar.ReconExceptionID, run bursar.ReconRun, kind bursar.ReconKind, line int, orderNo string) bursar.ReconException {
	return bursar.ReconException{ID: id, Run: run.ID, Channel: run.Channel, Day: run.Day, Kind: kind, Line: line,
		OrderNo: orderNo, BillAmount: 1990, Status: bursar.ReconOpen, CreatedAt: run.StartedAt}
}

func runIDs(rs []bursar.ReconRun) []bursar.ReconRunID {
	var out []bursar.ReconRunID
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func exceptionIDs(es []bursar.ReconException) []bursar.ReconExceptionID {
	var out []bursar.ReconExceptionID
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testRecon(t *testing.T, h Harness) {
	t.Run("runs", func(t *testing.T) { testReconRuns(t, h) })
	t.Run("exceptions", func(t *testing.T) { testReconExceptions(t, h) })
	t.Run("Bursar's side of a day", func(t *testing.T) { testReconRecords(t, h) })
}

func testReconRuns(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	a := newRun("rr_a", bursar.ChannelAlipay, reconDay, t0.In(cst))
	b := newRun("rr_b", bursar.ChannelWeChat, reconDay, t0.Add(time.Minute))
	c := newRun("rr_c", bursar.ChannelAlipay, reconDay.AddDate(0, 0, -1), t0.Add(2*time.Minute))
	mustWrite(t, db, func(tx store.Tx) error {
		for _, r := range []bursar.ReconRun{a, b, c} {
			if err := tx.ReconRunInsert(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	_, err := writeTx(db, func(tx store.Tx) (any, error) { return nil, tx.ReconRunInsert(ctx, a) })
	wantCode(t, "inserting a run twice", err, bursar.Conflict)

	// Finishing sets every count and total, at their largest.
	done := a
	done.Status, done.FinishedAt = bursar.ReconDone, t0.Add(time.Hour).In(cst)
	done.Lines, done.Matched, done.MissingOurs, done.MissingTheirs, done.AmountMismatches, done.StatusMismatches = 9, 4, 1, 2, 1, 1
	done.BillPayments, done.BillPaymentTotal, done.BillRefunds, done.BillRefundTotal, done.BillFeeTotal = 7, bursar.MaxAmount, 2, 980, -6
	done.OurPayments, done.OurPaymentTotal, done.OurRefunds, done.OurRefundTotal, done.OurPayouts, done.OurPayoutTotal = 6, 1990, 1, 980, 3, 300
	mustWrite(t, db, func(tx store.Tx) error { return tx.ReconRunUpdate(ctx, done) })
	got, err := readTx(db, func(tx store.Tx) (bursar.ReconRun, error) { return tx.ReconRunGet(ctx, a.ID) })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(done, got); diff != "" {
		t.Errorf("the finished run reads back differently (-stored +read):\n%s", diff)
	}
	checkUTC(t, "run", got.StartedAt, got.FinishedAt)
	if got.Day.Location().String() != "CST" || got.Day.Hour() != 0 {
		t.Errorf("the day reads back as %v, want midnight Beijing time", got.Day)
	}

	// A finished run is not finished again; an unknown one is not found.
	_, err = writeTx(db, func(tx store.Tx) (any, error) { return nil, tx.ReconRunUpdate(ctx, done) })
	wantCode(t, "finishing a finished run", err, bursar.WrongState)
	ghost := done
	ghost.ID = "rr_ghost"
	_, err = writeTx(db, func(tx store.Tx) (any, error) { return nil, tx.ReconRunUpdate(ctx, ghost) })
	wantCode(t, "finishing a run that does not exist", err, bursar.NotFound)
	_, err = readTx(db, func(tx store.Tx) (bursar.ReconRun, error) { return tx.ReconRunGet(ctx, "rr_ghost") })
	wantCode(t, "reading a run that does not exist", err, bursar.NotFound)

	tests := []struct {
		name string
		f    bursar.ReconRunFilter
		want []bursar.ReconRunID
		more bool
	}{
		{"all, newest first", bursar.ReconRunFilter{Limit: 10}, []bursar.ReconRunID{"rr_c", "rr_b", "rr_a"}, false},
		{"one channel", bursar.ReconRunFilter{Channel: bursar.ChannelAlipay, Limit: 10}, []bursar.ReconRunID{"rr_c", "rr_a"}, false},
		{"one day", bursar.ReconRunFilter{Day: reconDay, Limit: 10}, []bursar.ReconRunID{"rr_b", "rr_a"}, false},
		{"the same day given in UTC", bursar.ReconRunFilter{Day: reconDay.UTC(), Limit: 10}, []bursar.ReconRunID{"rr_b", "rr_a"}, false},
		{"one status", bursar.ReconRunFilter{Status: bursar.ReconRunning, Limit: 10}, []bursar.ReconRunID{"rr_c", "rr_b"}, false},
		{"a page with more", bursar.ReconRunFilter{Limit: 2}, []bursar.ReconRunID{"rr_c", "rr_b"}, true},
		{"the page after a cursor", bursar.ReconRunFilter{Before: "rr_b", Limit: 2}, []bursar.ReconRunID{"rr_a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type page struct {
				rs   []bursar.ReconRun
				more bool
			}
			p, err := readTx(db, func(tx store.Tx) (page, error) {
				rs, more, err := tx.ReconRunList(ctx, tt.f)
				return page{rs, more}, err
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, runIDs(p.rs)); diff != "" || p.more != tt.more {
				t.Errorf("ReconRunList() more = %v, want %v; runs (-want +got):\n%s", p.more, tt.more, diff)
			}
		})
	}
	for _, limit := range []int{0, 101} {
		_, err := readTx(db, func(tx store.Tx) ([]bursar.ReconRun, error) {
			rs, _, err := tx.ReconRunList(ctx, bursar.ReconRunFilter{Limit: limit})
			return rs, err
		})
		wantCode(t, "a limit out of range", err, bursar.Invalid)
	}
}

func testReconExceptions(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	first := newRun("rr_1", bursar.ChannelAlipay, reconDay, t0)
	second := newRun("rr_2", bursar.ChannelAlipay, reconDay, t0.Add(time.Hour))
	other := newRun("rr_3", bursar.ChannelWeChat, reconDay, t0.Add(time.Hour))

	// full sets every field, times in China Standard Time.
	full := newException("re_full", first, bursar.ReconAmountMismatch, 7, "N1")
	full.TradeNo, full.RefundNo, full.BillFee, full.BillAt = "2026112122001400000000000001", "R1", -6, t0.Add(-time.Hour).In(cst)
	full.Order, full.Refund, full.OurAmount, full.OurStatus, full.Detail = "ord_1", "rf_1", bursar.MaxAmount, "succeeded", "the bill says 19.90"
	theirs := newException("re_theirs", first, bursar.ReconMissingTheirs, 0, "N2")
	ours := newException("re_ours", first, bursar.ReconMissingOurs, 3, "N3")
	later := newException("re_later", second, bursar.ReconMissingOurs, 3, "N3")
	wechat := newException("re_wechat", other, bursar.ReconStatusMismatch, 1, "N4")
	mustWrite(t, db, func(tx store.Tx) error {
		for _, r := range []bursar.ReconRun{first, second, other} {
			if err := tx.ReconRunInsert(ctx, r); err != nil {
				return err
			}
		}
		for _, e := range []bursar.ReconException{full, theirs, ours, later, wechat} {
			if err := tx.ReconExceptionInsert(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := readTx(db, func(tx store.Tx) (bursar.ReconException, error) { return tx.ReconExceptionGet(ctx, full.ID) })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full, got); diff != "" {
		t.Errorf("the exception reads back differently (-stored +read):\n%s", diff)
	}
	checkUTC(t, "exception", got.BillAt, got.CreatedAt, got.ResolvedAt)

	orphan := newException("re_orphan", bursar.ReconRun{ID: "rr_none", Channel: bursar.ChannelAlipay, Day: reconDay, StartedAt: t0},
		bursar.ReconMissingOurs, 1, "N9")
	_, err = writeTx(db, func(tx store.Tx) (any, error) { return nil, tx.ReconExceptionInsert(ctx, orphan) })
	wantCode(t, "an exception of a run that does not exist", err, bursar.NotFound)
	_, err = writeTx(db, func(tx store.Tx) (any, error) { return nil, tx.ReconExceptionInsert(ctx, ours) })
	wantCode(t, "inserting an exception twice", err, bursar.Conflict)
	_, err = readTx(db, func(tx store.Tx) (bursar.ReconException, error) { return tx.ReconExceptionGet(ctx, "re_none") })
	wantCode(t, "reading an exception that does not exist", err, bursar.NotFound)

	// Resolving is a compare-and-set on open.
	resolved := theirs
	resolved.Status, resolved.Action, resolved.Note = bursar.ReconResolved, bursar.ReconAccept, "A test payment."
	resolved.ResolvedBy, resolved.ResolvedAt = "platform:key_1", t0.Add(2*time.Hour).In(cst)
	mustWrite(t, db, func(tx store.Tx) error { return tx.ReconExceptionResolve(ctx, resolved) })
	got, err = readTx(db, func(tx store.Tx) (bursar.ReconException, error) { return tx.ReconExceptionGet(ctx, theirs.ID) })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(resolved, got); diff != "" {
		t.Errorf("the resolved exception reads back differently (-stored +read):\n%s", diff)
	}
	_, err = writeTx(db, func(tx store.Tx) (any, error) { return nil, tx.ReconExceptionResolve(ctx, resolved) })
	wantCode(t, "resolving twice", err, bursar.WrongState)
	resolved.ID = "re_none"
	_, err = writeTx(db, func(tx store.Tx) (any, error) { return nil, tx.ReconExceptionResolve(ctx, resolved) })
	wantCode(t, "resolving an exception that does not exist", err, bursar.NotFound)

	// A newer run supersedes the open exceptions of the older ones of its
	// channel and day, and only those.
	n, err := writeTx(db, func(tx store.Tx) (int, error) {
		return tx.ReconExceptionSupersede(ctx, bursar.ChannelAlipay, reconDay.UTC(), second.ID)
	})
	if err != nil || n != 2 {
		t.Errorf("ReconExceptionSupersede() = %d, %v; want the 2 open exceptions of the first run", n, err)
	}

	tests := []struct {
		name string
		f    bursar.ReconExceptionFilter
		want []bursar.ReconExceptionID
		more bool
	}{
		{"a run's, in bill order", bursar.ReconExceptionFilter{Run: first.ID, Limit: 10}, []bursar.ReconExceptionID{"re_theirs", "re_ours", "re_full"}, false},
		{"a run's after a cursor", bursar.ReconExceptionFilter{Run: first.ID, Before: "re_ours", Limit: 10}, []bursar.ReconExceptionID{"re_full"}, false},
		{"open ones, newest first", bursar.ReconExceptionFilter{Status: bursar.ReconOpen, Limit: 10}, []bursar.ReconExceptionID{"re_wechat", "re_later"}, false},
		{"superseded ones", bursar.ReconExceptionFilter{Status: bursar.ReconSuperseded, Limit: 10}, []bursar.ReconExceptionID{"re_ours", "re_full"}, false},
		{"resolved ones of a channel and day", bursar.ReconExceptionFilter{Channel: bursar.ChannelAlipay, Day: reconDay, Status: bursar.ReconResolved, Limit: 10},
			[]bursar.ReconExceptionID{"re_theirs"}, false},
		{"one kind", bursar.ReconExceptionFilter{Kind: bursar.ReconMissingOurs, Limit: 10}, []bursar.ReconExceptionID{"re_later", "re_ours"}, false},
		{"a page with more", bursar.ReconExceptionFilter{Limit: 1}, []bursar.ReconExceptionID{"re_wechat"}, true},
		{"after a cursor", bursar.ReconExceptionFilter{Before: "re_wechat", Limit: 1}, []bursar.ReconExceptionID{"re_later"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type page struct {
				es   []bursar.ReconException
				more bool
			}
			p, err := readTx(db, func(tx store.Tx) (page, error) {
				es, more, err := tx.ReconExceptionList(ctx, tt.f)
				return page{es, more}, err
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, exceptionIDs(p.es)); diff != "" || p.more != tt.more {
				t.Errorf("ReconExceptionList() more = %v, want %v; exceptions (-want +got):\n%s", p.more, tt.more, diff)
			}
		})
	}
	for _, limit := range []int{0, 1001} {
		_, err := readTx(db, func(tx store.Tx) ([]bursar.ReconException, error) {
			es, _, err := tx.ReconExceptionList(ctx, bursar.ReconExceptionFilter{Limit: limit})
			return es, err
		})
		wantCode(t, "a limit out of range", err, bursar.Invalid)
	}
}

// testReconRecords checks which of Bursar's payments, refunds and payouts
// fall in a channel's day: by the channel's payment time, the ledger
// entry's time and the payout's completion, from midnight to midnight
// Beijing time, with the end left out.
func testReconRecords(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	from, to := reconDay, reconDay.AddDate(0, 0, 1)
	order := func(id bursar.OrderID, ch bursar.Channel, amount bursar.Amount) bursar.Order {
		o := pendingOrder(id)
		o.Status, o.Channel, o.Amount = bursar.OrderPaid, ch, cny(amount)
		return o
	}
	payment := func(id bursar.OrderID, ch bursar.Channel, status bursar.PaymentStatus, paidAt time.Time) bursar.Payment {
		p := pendingPayment(id, ch)
		p.Status, p.PaidAt = status, paidAt
		return p
	}
	orders := []bursar.Order{
		order("o_first", bursar.ChannelAlipay, 100), order("o_last", bursar.ChannelAlipay, 200),
		order("o_before", bursar.ChannelAlipay, 300), order("o_after", bursar.ChannelAlipay, 400),
		order("o_pending", bursar.ChannelAlipay, 500), order("o_wechat", bursar.ChannelWeChat, 600),
		order("o_dup", bursar.ChannelAlipay, 700), order("o_refunded", bursar.ChannelAlipay, 800),
	}
	w := pendingOrder("o_payout")
	w.Type, w.Status, w.Channel, w.Amount, w.CompletedAt = bursar.OrderWithdrawal, bursar.OrderSucceeded, bursar.ChannelAlipay, cny(900), from.Add(time.Hour)
	failed := pendingOrder("o_payout_failed")
	failed.Type, failed.Status, failed.Channel, failed.CompletedAt = bursar.OrderWithdrawal, bursar.OrderFailed, bursar.ChannelAlipay, from.Add(time.Hour)
	mustOrders(t, db, append(orders, w, failed)...)
	mustPayments(t, db,
		payment("o_first", bursar.ChannelAlipay, bursar.PaymentPaid, from),
		payment("o_last", bursar.ChannelAlipay, bursar.PaymentPaid, to.Add(-time.Millisecond)),
		payment("o_before", bursar.ChannelAlipay, bursar.PaymentPaid, from.Add(-time.Millisecond)),
		payment("o_after", bursar.ChannelAlipay, bursar.PaymentPaid, to),
		payment("o_pending", bursar.ChannelAlipay, bursar.PaymentPending, time.Time{}),
		payment("o_wechat", bursar.ChannelWeChat, bursar.PaymentPaid, from.Add(time.Hour)),
		payment("o_dup", bursar.ChannelAlipay, bursar.PaymentReturned, from.Add(2*time.Hour)),
		payment("o_refunded", bursar.ChannelAlipay, bursar.PaymentPaid, from.Add(-48*time.Hour)),
	)
	rf := decide(openRefund("rf_1", "o_refunded"), bursar.RefundSucceeded, from.Add(-time.Hour))
	rf.ChannelRefundNo, rf.Amount = "rf_1", cny(80)
	mustRefunds(t, db, rf)
	refundEntry := transfer("refund:rf_1", bursar.EscrowAccount("o_refunded"), bursar.ChannelAccount(bursar.ChannelAlipay), 80)
	refundEntry.Kind, refundEntry.PostedAt = "refund", from.Add(3*time.Hour)
	returnEntry := transfer("return:o_dup:alipay", bursar.DuplicateEscrowAccount("o_dup", bursar.ChannelAlipay), bursar.ChannelAccount(bursar.ChannelAlipay), 700)
	returnEntry.Kind, returnEntry.PostedAt = "duplicate_return", from.Add(4*time.Hour)
	fund(t, db, bursar.EscrowAccount("o_refunded"), 80)
	fund(t, db, bursar.DuplicateEscrowAccount("o_dup", bursar.ChannelAlipay), 700)
	mustPost(t, db, refundEntry)
	mustPost(t, db, returnEntry)

	type records struct{ payments, refunds, payouts []store.ReconRecord }
	got, err := readTx(db, func(tx store.Tx) (records, error) {
		var r records
		var err error
		if r.payments, err = tx.ReconPayments(ctx, bursar.ChannelAlipay, from, to); err != nil {
			return r, err
		}
		if r.refunds, err = tx.ReconRefunds(ctx, bursar.ChannelAlipay, from, to); err != nil {
			return r, err
		}
		r.payouts, err = tx.ReconPayouts(ctx, bursar.ChannelAlipay, from, to)
		return r, err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := records{
		payments: []store.ReconRecord{
			{Order: "o_first", OrderNo: "No_first", Amount: 100, Status: "paid", At: from.UTC()},
			{Order: "o_dup", OrderNo: "No_dup", Amount: 700, Status: "returned", At: from.Add(2 * time.Hour).UTC()},
			{Order: "o_last", OrderNo: "No_last", Amount: 200, Status: "paid", At: to.Add(-time.Millisecond).UTC()},
		},
		refunds: []store.ReconRecord{
			{Order: "o_refunded", OrderNo: "No_refunded", Refund: "rf_1", RefundNo: "rf_1", Amount: 80, Status: "succeeded", At: from.Add(3 * time.Hour).UTC()},
			{Order: "o_dup", OrderNo: "No_dup", RefundNo: "dup-No_dup", Amount: 700, Status: "returned", At: from.Add(4 * time.Hour).UTC()},
		},
		payouts: []store.ReconRecord{
			{Order: "o_payout", OrderNo: "No_payout", Amount: 900, Status: "succeeded", At: from.Add(time.Hour).UTC()},
		},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(records{})); diff != "" {
		t.Errorf("Bursar's side of the day (-want +got):\n%s", diff)
	}
	for _, r := range append(append(got.payments, got.refunds...), got.payouts...) {
		checkUTC(t, "record", r.At)
	}
}
