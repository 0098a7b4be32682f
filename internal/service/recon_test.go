package service_test

import (
	"context"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// offsetClock is real time moved by an offset: the Alipay sandbox's clock,
// moved a day on so that it publishes today's bill, which Alipay does only
// the next day. WeChat Pay serves a day's bill the same day, and its SDK
// refuses answers signed more than five minutes off, so its sandbox keeps
// the real clock.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) SetTo(t time.Time)       { c.offset.Store(int64(time.Until(t))) }
func (c *offsetClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// reconWorld is withChannels with the Alipay sandbox on a clock of its own,
// and the reconciliation service.
type reconWorld struct {
	*channelWorld
	alipayClock *offsetClock
	recon       *service.Recon
}

func withReconChannels(t *testing.T, db store.DB) *reconWorld {
	t.Helper()
	clock := &offsetClock{}
	w := withChannelsAt(t, db, clock.Now)
	return &reconWorld{channelWorld: w, alipayClock: clock, recon: service.NewRecon(w.deps)}
}

var beijing = time.FixedZone("CST", 8*3600)

// paidThrough buys item and pays it at the channel with method m.
func (w *reconWorld) paidThrough(t *testing.T, item bursar.Item, m channel.Method) bursar.Order {
	t.Helper()
	o := w.buy(t, item)
	w.startPaying(t, o, m)
	w.buyerPays(t, o, m.Channel())
	return w.waitStatus(t, o.ID, bursar.OrderPaid)
}

// course puts a new course on sale, so the buyer can buy it once more.
func (w *reconWorld) course(t *testing.T, price bursar.Amount) bursar.Item {
	t.Helper()
	it, err := w.items.Create(context.Background(), w.platform, bursar.Item{Seller: "seller", Kind: bursar.ItemCourse,
		Title: "Course", Price: bursar.Money{Amount: price, Currency: bursar.CNY}, Hold: 2 * time.Hour})
	must(t, err)
	return it
}

// refunded refunds part of a paid order through its channel.
func (w *reconWorld) refunded(t *testing.T, o bursar.Order, amount bursar.Amount) bursar.Refund {
	t.Helper()
	ctx := context.Background()
	r, err := w.refunds().Request(ctx, w.buyer, o.ID, &amount, "part of it")
	must(t, err)
	r, err = w.refunds().Approve(ctx, w.platform, r.ID, "")
	must(t, err)
	eventually(t, "the refund to succeed", func() bool {
		w.runJobs(t)
		r, _ = w.refunds().Get(ctx, w.buyer, r.ID)
		return r.Status == bursar.RefundSucceeded
	})
	return r
}

// plant plants a difference in a sandbox's bill of day.
func (w *reconWorld) plant(t *testing.T, name bursar.Channel, day time.Time, form url.Values) {
	t.Helper()
	form.Set("date", day.In(beijing).Format(time.DateOnly))
	w.control(t, "/"+string(name)+"/sandbox/bill/plant", form)
}

func (w *reconWorld) reconcile(t *testing.T, name bursar.Channel, day time.Time) (bursar.ReconRun, []bursar.ReconException) {
	t.Helper()
	w.clock.Advance(time.Second) // runs are listed by when they started
	var calls int
	run, excs, err := w.recon.Run(context.Background(), w.platform, name, day, func(done, total int) {
		calls++
		if done > total {
			t.Errorf("progress %d of %d", done, total)
		}
	})
	must(t, err)
	if run.Status != bursar.ReconDone || calls < 2 {
		t.Fatalf("%s run %s with %d progress reports: %+v", name, run.Status, calls, run)
	}
	return run, excs
}

// found is an exception as the tests compare them: kind and numbers.
type found struct {
	Kind              bursar.ReconKind
	OrderNo, RefundNo string
}

func foundOf(excs []bursar.ReconException) []found {
	var out []found
	for _, e := range excs {
		out = append(out, found{e.Kind, e.OrderNo, e.RefundNo})
	}
	return sortFound(out)
}

func sortFound(out []found) []found {
	out = slices.Clone(out)
	slices.SortFunc(out, func(a, b found) int {
		return compareStrings(string(a.Kind)+a.OrderNo+a.RefundNo, string(b.Kind)+b.OrderNo+b.RefundNo)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ledgerState is what a reconciliation must leave as it found it: the
// ledger's size and every balance the tests touch.
type ledgerState struct {
	report   bursar.LedgerReport
	balances map[bursar.AccountID]bursar.Amount
}

func (w *reconWorld) ledger(t *testing.T, orders ...bursar.Order) ledgerState {
	t.Helper()
	s := ledgerState{balances: map[bursar.AccountID]bursar.Amount{}}
	must(t, w.db.InReadTx(context.Background(), func(tx store.Tx) error {
		var err error
		s.report, err = tx.LedgerVerify(context.Background())
		return err
	}))
	if !s.report.OK() {
		t.Fatalf("ledger invariants broken: %v", s.report.Problems)
	}
	ids := []bursar.AccountID{bursar.ChannelAccount(bursar.ChannelAlipay), bursar.ChannelAccount(bursar.ChannelWeChat),
		bursar.UserEarningsAccount("seller"), bursar.UserCashAccount("buyer"), bursar.PlatformFees, bursar.PlatformAdjustments}
	for _, o := range orders {
		ids = append(ids, bursar.EscrowAccount(o.ID))
	}
	for _, id := range ids {
		s.balances[id] = w.balance(t, id)
	}
	return s
}

func (s ledgerState) same(t *testing.T, after ledgerState) {
	t.Helper()
	if s.report.Entries != after.report.Entries || s.report.Postings != after.report.Postings {
		t.Errorf("the ledger went from %d entries and %d postings to %d and %d", s.report.Entries, s.report.Postings,
			after.report.Entries, after.report.Postings)
	}
	for id, b := range s.balances {
		if after.balances[id] != b {
			t.Errorf("%s went from %d to %d", id, b, after.balances[id])
		}
	}
}

// TestReconPlantedDifferences pays orders through both sandboxes and
// refunds one, sees a clean day reconcile with no exception, then plants
// each kind of difference in the bills and checks that each is found with
// the right kind and nothing else is, and that no reconciliation changed
// the ledger.
func TestReconPlantedDifferences(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withReconChannels(t, db)
		ctx := context.Background()
		a1 := w.paidThrough(t, w.course(t, 1990), channel.AlipayQR)
		a2 := w.paidThrough(t, w.course(t, 8888), channel.AlipayQR)
		a3 := w.paidThrough(t, w.course(t, 1990), channel.AlipayQR)
		c1 := w.paidThrough(t, w.course(t, 8888), channel.WeChatNative)
		c2 := w.paidThrough(t, w.course(t, 1990), channel.WeChatNative)
		ra := w.refunded(t, a1, 990)
		rc := w.refunded(t, c1, 888)
		day := time.Now().In(beijing)
		w.alipayClock.Advance(24 * time.Hour) // Alipay publishes today's bill tomorrow
		before := w.ledger(t, a1, a2, a3, c1, c2)

		for _, name := range []bursar.Channel{bursar.ChannelAlipay, bursar.ChannelWeChat} {
			run, excs := w.reconcile(t, name, day)
			if len(excs) != 0 || run.Exceptions() != 0 || run.Matched != run.Lines || run.Lines != 4 && name == bursar.ChannelAlipay ||
				run.Lines != 3 && name == bursar.ChannelWeChat {
				t.Errorf("%s: a clean day has %d lines, %d matched, exceptions %v", name, run.Lines, run.Matched, foundOf(excs))
			}
			if run.BillPaymentTotal != run.OurPaymentTotal || run.BillRefundTotal != run.OurRefundTotal {
				t.Errorf("%s: a clean day's totals differ: %+v", name, run)
			}
		}

		// A payment Bursar never saw, a missing one, a wrong amount and a
		// refund nobody asked for, on each channel.
		w.plant(t, bursar.ChannelAlipay, day, url.Values{"kind": {"extra_payment"}, "out_trade_no": {"GHOST-A"}, "amount": {"500"}})
		w.plant(t, bursar.ChannelAlipay, day, url.Values{"kind": {"drop"}, "out_trade_no": {a2.No}})
		w.plant(t, bursar.ChannelAlipay, day, url.Values{"kind": {"amount"}, "out_trade_no": {a3.No}, "amount": {"1000"}})
		w.plant(t, bursar.ChannelAlipay, day, url.Values{"kind": {"extra_refund"}, "out_trade_no": {a3.No}, "amount": {"100"}, "refund_no": {"R-GHOST-A"}})
		w.plant(t, bursar.ChannelWeChat, day, url.Values{"kind": {"extra_payment"}, "out_trade_no": {"GHOST-W"}, "amount": {"700"}})
		w.plant(t, bursar.ChannelWeChat, day, url.Values{"kind": {"drop"}, "out_trade_no": {c1.No}, "out_refund_no": {rc.ChannelRefundNo}})
		w.plant(t, bursar.ChannelWeChat, day, url.Values{"kind": {"amount"}, "out_trade_no": {c2.No}, "amount": {"1"}})
		w.plant(t, bursar.ChannelWeChat, day, url.Values{"kind": {"extra_refund"}, "out_trade_no": {c2.No}, "amount": {"100"}, "out_refund_no": {"R-GHOST-W"}})

		want := map[bursar.Channel][]found{
			bursar.ChannelAlipay: {
				{bursar.ReconAmountMismatch, a3.No, ""},
				{bursar.ReconMissingOurs, "GHOST-A", ""},
				{bursar.ReconMissingOurs, a3.No, "R-GHOST-A"},
				{bursar.ReconMissingTheirs, a2.No, ""},
			},
			bursar.ChannelWeChat: {
				{bursar.ReconAmountMismatch, c2.No, ""},
				{bursar.ReconMissingOurs, "GHOST-W", ""},
				{bursar.ReconMissingOurs, c2.No, "R-GHOST-W"},
				{bursar.ReconMissingTheirs, c1.No, rc.ChannelRefundNo},
			},
		}
		runs := map[bursar.Channel]bursar.ReconRun{}
		excsOf := map[bursar.Channel][]bursar.ReconException{}
		for name, want := range want {
			run, excs := w.reconcile(t, name, day)
			if got, want := foundOf(excs), sortFound(want); !slices.Equal(got, want) {
				t.Errorf("%s found %v, want exactly %v", name, got, want)
			}
			if run.MissingOurs != 2 || run.MissingTheirs != 1 || run.AmountMismatches != 1 || run.StatusMismatches != 0 ||
				run.Matched != run.Lines-3 {
				t.Errorf("%s run counts %+v", name, run)
			}
			runs[name], excsOf[name] = run, excs
		}
		for _, e := range excsOf[bursar.ChannelAlipay] {
			switch e.Kind {
			case bursar.ReconAmountMismatch:
				if e.BillAmount != 1000 || e.OurAmount != 1990 || e.Order != a3.ID || e.Line == 0 {
					t.Errorf("the wrong amount: %+v", e)
				}
			case bursar.ReconMissingTheirs:
				if e.Order != a2.ID || e.OurAmount != 8888 || e.Line != 0 {
					t.Errorf("the missing payment: %+v", e)
				}
			}
		}
		if got := excsOf[bursar.ChannelWeChat]; !slices.ContainsFunc(got, func(e bursar.ReconException) bool {
			return e.Kind == bursar.ReconMissingTheirs && e.Refund == rc.ID && e.OurAmount == 888
		}) {
			t.Errorf("the missing WeChat refund is not named as Bursar's refund %s: %+v", rc.ID, got)
		}
		_ = ra

		// Resolving: the platform only, with a known action and a note.
		ghost := excsOf[bursar.ChannelAlipay][slices.IndexFunc(excsOf[bursar.ChannelAlipay], func(e bursar.ReconException) bool {
			return e.OrderNo == "GHOST-A"
		})]
		bad := []struct {
			name   string
			actor  bursar.Actor
			action bursar.ReconAction
			note   string
			code   bursar.Code
		}{
			{"by a user", w.buyer, bursar.ReconAccept, "fine", bursar.NotFound},
			{"with no note", w.platform, bursar.ReconAccept, "", bursar.Invalid},
			{"with an unknown action", w.platform, "ignore", "fine", bursar.Invalid},
		}
		for _, tt := range bad {
			if _, err := w.recon.Resolve(ctx, tt.actor, ghost.ID, tt.action, tt.note); bursar.ErrorCode(err) != tt.code {
				t.Errorf("resolving %s: %v, want %s", tt.name, err, tt.code)
			}
		}
		res, err := w.recon.Resolve(ctx, w.platform, ghost.ID, bursar.ReconAccept, "A test payment made in the Alipay console.")
		must(t, err)
		if res.Status != bursar.ReconResolved || res.Action != bursar.ReconAccept || res.ResolvedBy == "" || res.ResolvedAt.IsZero() {
			t.Errorf("resolved exception %+v", res)
		}
		if _, err := w.recon.Resolve(ctx, w.platform, ghost.ID, bursar.ReconAccept, "again"); bursar.ErrorCode(err) != bursar.WrongState {
			t.Errorf("resolving twice: %v", err)
		}
		// Sync asks Alipay about the dropped payment: it is paid, as Bursar
		// knew, so nothing changes.
		dropped := excsOf[bursar.ChannelAlipay][slices.IndexFunc(excsOf[bursar.ChannelAlipay], func(e bursar.ReconException) bool {
			return e.Kind == bursar.ReconMissingTheirs
		})]
		synced, err := w.recon.Resolve(ctx, w.platform, dropped.ID, bursar.ReconSync, "Asked Alipay again.")
		must(t, err)
		if synced.Action != bursar.ReconSync || synced.Note == "Asked Alipay again." {
			t.Errorf("a synced exception's note says what the sync did: %+v", synced)
		}

		// Run again: the resolutions carry over, the open ones stay open, and
		// the first run's open exceptions are superseded.
		run2, excs2 := w.reconcile(t, bursar.ChannelAlipay, day)
		if got := foundOf(excs2); !slices.Equal(got, sortFound(want[bursar.ChannelAlipay])) {
			t.Errorf("the second run found %v", got)
		}
		for _, e := range excs2 {
			carried := e.OrderNo == "GHOST-A" || e.Kind == bursar.ReconMissingTheirs
			if carried != (e.Status == bursar.ReconResolved) || carried && (e.CarriedFrom == "" || e.Note == "") {
				t.Errorf("second run's exception %+v", e)
			}
		}
		_, first, err := w.recon.Get(ctx, w.platform, runs[bursar.ChannelAlipay].ID)
		must(t, err)
		for _, e := range first {
			if e.Status == bursar.ReconOpen {
				t.Errorf("the first run's exception %s is still open after a second run", e.ID)
			}
		}
		open, _, err := w.recon.Exceptions(ctx, w.platform, bursar.ReconExceptionFilter{Status: bursar.ReconOpen, Channel: bursar.ChannelAlipay})
		must(t, err)
		if len(open) != 2 || open[0].Run != run2.ID {
			t.Errorf("open Alipay exceptions after the second run: %v", foundOf(open))
		}
		list, _, err := w.recon.List(ctx, w.platform, bursar.ReconRunFilter{Channel: bursar.ChannelAlipay})
		must(t, err)
		if len(list) != 3 || list[0].ID != run2.ID {
			t.Errorf("Alipay runs: %d, newest %s; want 3, newest %s", len(list), list[0].ID, run2.ID)
		}
		if _, _, err := w.recon.List(ctx, w.buyer, bursar.ReconRunFilter{}); bursar.ErrorCode(err) != bursar.Forbidden {
			t.Errorf("a user listing runs: %v", err)
		}
		// Each open exception raised one reconciliation.mismatch event,
		// numbered within its run; carried-over resolutions raised none.
		evs, _, err := service.NewWebhooks(w.deps).Events(ctx, w.platform,
			bursar.EventFilter{Type: bursar.EventReconciliationMismatch, Limit: 100})
		must(t, err)
		perRun := map[string][]int64{}
		for _, e := range slices.Backward(evs) {
			perRun[e.Subject] = append(perRun[e.Subject], e.Seq)
		}
		for run, seqs := range map[bursar.ReconRunID][]int64{
			runs[bursar.ChannelAlipay].ID: {1, 2, 3, 4}, runs[bursar.ChannelWeChat].ID: {1, 2, 3, 4}, run2.ID: {1, 2},
		} {
			if got := perRun[string(run)]; !slices.Equal(got, seqs) {
				t.Errorf("mismatch events of run %s: seq %v, want %v", run, got, seqs)
			}
		}
		if len(evs) != 10 {
			t.Errorf("%d mismatch events, want 10", len(evs))
		}
		w.ledger(t, a1, a2, a3, c1, c2).same(t, before)
	})
}

// TestReconInput checks what Run refuses before it asks a channel, and
// that a day with no bill yet leaves no run behind.
func TestReconInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withReconChannels(t, db)
		ctx := context.Background()
		tomorrow := time.Now().Add(24 * time.Hour)
		tests := []struct {
			name  string
			actor bursar.Actor
			ch    bursar.Channel
			day   time.Time
			code  bursar.Code
		}{
			{"by a user", w.buyer, bursar.ChannelAlipay, time.Now(), bursar.Forbidden},
			{"of the wallet", w.platform, bursar.ChannelWallet, time.Now(), bursar.Invalid},
			{"of an unknown channel", w.platform, "paypal", time.Now(), bursar.Invalid},
			{"of a day to come", w.platform, bursar.ChannelAlipay, tomorrow, bursar.Invalid},
			{"of no day", w.platform, bursar.ChannelAlipay, time.Time{}, bursar.Invalid},
			{"of a day Alipay has no bill for yet", w.platform, bursar.ChannelAlipay, time.Now(), bursar.NotFound},
			{"of a day with no trades at WeChat", w.platform, bursar.ChannelWeChat, time.Now(), bursar.NotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := w.recon.Run(ctx, tt.actor, tt.ch, tt.day, nil)
				if got := bursar.ErrorCode(err); got != tt.code {
					t.Errorf("Run() = %v (code %s), want %s", err, got, tt.code)
				}
			})
		}
		runs, _, err := w.recon.List(ctx, w.platform, bursar.ReconRunFilter{})
		must(t, err)
		if len(runs) != 0 {
			t.Errorf("%d runs stored by refused reconciliations", len(runs))
		}
	})
}

// TestReconDayBoundary refunds at Alipay at 23:59:50 Beijing time of a day
// that Bursar books at 00:00:10 the next day. The day's bill has it and
// matches; the next day's run must not report it missing, nor the payment
// either, which the channel dated on the first day.
func TestReconDayBoundary(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withReconChannels(t, db)
		y, m, d := time.Now().In(beijing).AddDate(0, 0, -2).Date()
		day := time.Date(y, m, d, 0, 0, 0, 0, beijing)
		next := day.AddDate(0, 0, 1)
		w.alipayClock.SetTo(next.Add(-30 * time.Second))
		w.clock.now = next.Add(10 * time.Second).UTC()
		o := w.paidThrough(t, w.course(t, 8888), channel.AlipayQR)
		r := w.refunded(t, o, 888)
		w.alipayClock.SetTo(next.AddDate(0, 0, 1).Add(12 * time.Hour)) // both bills published
		w.clock.now = time.Now().UTC()

		run, excs := w.reconcile(t, bursar.ChannelAlipay, day)
		if len(excs) != 0 || run.Lines != 2 || run.OurRefunds != 0 {
			t.Errorf("the day of the channel's time: %d lines, %d refunds of ours in it, exceptions %v", run.Lines, run.OurRefunds, foundOf(excs))
		}
		// The next day's bill has a planted payment, so that it exists.
		w.plant(t, bursar.ChannelAlipay, next, url.Values{"kind": {"extra_payment"}, "out_trade_no": {"OTHER"}, "amount": {"1"}})
		run, excs = w.reconcile(t, bursar.ChannelAlipay, next)
		if got := foundOf(excs); !slices.Equal(got, []found{{bursar.ReconMissingOurs, "OTHER", ""}}) || run.OurRefunds != 1 {
			t.Errorf("the day Bursar booked the refund %s on found %v, with %d refunds of ours", r.ID, got, run.OurRefunds)
		}
	})
}

// TestReconJob runs the daily job: it schedules itself for 10:00 Beijing
// time, reconciles yesterday, and moves on to the next day.
func TestReconJob(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withReconChannels(t, db)
		ctx := context.Background()
		w.paidThrough(t, w.course(t, 1990), channel.AlipayQR)
		w.paidThrough(t, w.course(t, 1990), channel.WeChatNative)
		day := time.Now().In(beijing)
		w.alipayClock.Advance(24 * time.Hour)
		// Bursar's clock moves to tomorrow 09:00 Beijing: the job waits for 10:00.
		y, m, d := day.AddDate(0, 0, 1).Date()
		w.clock.now = time.Date(y, m, d, 9, 0, 0, 0, beijing).UTC()
		must(t, w.recon.Schedule(ctx))
		w.runJobs(t)
		if runs, _, _ := w.recon.List(ctx, w.platform, bursar.ReconRunFilter{}); len(runs) != 0 {
			t.Fatalf("%d runs before 10:00", len(runs))
		}
		w.clock.Advance(time.Hour)
		w.runJobs(t)
		runs, _, err := w.recon.List(ctx, w.platform, bursar.ReconRunFilter{})
		must(t, err)
		// WeChat's sandbox signs with the real clock and serves only days
		// up to its today, so only Alipay's run is certain here.
		var alipayRun bursar.ReconRun
		for _, r := range runs {
			if r.Channel == bursar.ChannelAlipay {
				alipayRun = r
			}
		}
		if alipayRun.Status != bursar.ReconDone || alipayRun.StartedBy != "system" || alipayRun.Exceptions() != 0 ||
			alipayRun.Day.Format(time.DateOnly) != day.Format(time.DateOnly) {
			t.Errorf("the daily Alipay run: %+v", alipayRun)
		}
		// Running again the same day does not reconcile again.
		must(t, w.recon.Schedule(ctx))
		w.runJobs(t)
		again, _, err := w.recon.List(ctx, w.platform, bursar.ReconRunFilter{Channel: bursar.ChannelAlipay})
		must(t, err)
		if len(again) != 1 {
			t.Errorf("%d Alipay runs after scheduling again, want 1", len(again))
		}
	})
}

// TestReconDayWithoutTrades: a channel publishes no bill for a day on which
// it had no trades. Once the bill is surely out, that is an empty bill, so
// a payment Bursar booked that day and the channel does not have is
// reported; before, the day is simply not ready.
func TestReconDayWithoutTrades(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withReconChannels(t, db)
		y, m, d := time.Now().In(beijing).AddDate(0, 0, -2).Date()
		day := time.Date(y, m, d, 0, 0, 0, 0, beijing)
		w.alipayClock.SetTo(day.Add(12 * time.Hour)) // Alipay takes requests stamped up to 72 h off
		o := w.paidThrough(t, w.course(t, 8888), channel.AlipayQR)
		w.alipayClock.SetTo(time.Now())
		w.plant(t, bursar.ChannelAlipay, day, url.Values{"kind": {"drop"}, "out_trade_no": {o.No}})

		// Not ready while the bill may still come.
		w.clock.now = day.Add(30 * time.Hour).UTC()
		if _, _, err := w.recon.Run(context.Background(), w.platform, bursar.ChannelAlipay, day, nil); bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("a day whose bill may not be out yet: %v, want not_found", err)
		}
		w.clock.now = time.Now().UTC()
		run, excs := w.reconcile(t, bursar.ChannelAlipay, day)
		if got := foundOf(excs); !slices.Equal(got, []found{{bursar.ReconMissingTheirs, o.No, ""}}) || run.Lines != 0 {
			t.Errorf("a day with no bill: %d lines, found %v; want the payment missing at the channel", run.Lines, got)
		}
	})
}

// TestReconRefundBookedLate: Alipay refunds at 23:59:30; Bursar books it at
// 01:30 the next day (a lost notification, an outage). The refund is on
// the first day's bill, so neither day reports it.
func TestReconRefundBookedLate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withReconChannels(t, db)
		y, m, d := time.Now().In(beijing).AddDate(0, 0, -2).Date()
		day := time.Date(y, m, d, 0, 0, 0, 0, beijing)
		next := day.AddDate(0, 0, 1)
		w.alipayClock.SetTo(next.Add(-30 * time.Second))
		w.clock.now = next.Add(90 * time.Minute).UTC()
		o := w.paidThrough(t, w.course(t, 8888), channel.AlipayQR)
		w.refunded(t, o, 888)
		w.alipayClock.SetTo(time.Now())
		w.clock.now = time.Now().UTC()
		if _, excs := w.reconcile(t, bursar.ChannelAlipay, day); len(excs) != 0 {
			t.Errorf("the refund's own day: %v", foundOf(excs))
		}
		w.plant(t, bursar.ChannelAlipay, next, url.Values{"kind": {"extra_payment"}, "out_trade_no": {"OTHER"}, "amount": {"1"}})
		if _, excs := w.reconcile(t, bursar.ChannelAlipay, next); !slices.Equal(foundOf(excs), []found{{bursar.ReconMissingOurs, "OTHER", ""}}) {
			t.Errorf("the day Bursar booked the refund: %v, want only the planted payment", foundOf(excs))
		}
	})
}
