package service_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/channeltest"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
	"bursar.dev/bursar/internal/store/postgres"
	"bursar.dev/bursar/internal/store/postgres/pgtest"
)

// consoleWorld is setup with an idle Alipay, the console's read models and
// the use cases its pages act through.
type consoleWorld struct {
	*bundle
	console     *service.Console
	refunds     *service.Refunds
	withdrawals *service.Withdrawals
}

func withConsole(t *testing.T, db store.DB) *consoleWorld {
	t.Helper()
	b := setup(t, db)
	d := b.deps
	d.Channels = map[bursar.Channel]channel.Channel{bursar.ChannelAlipay: channeltest.Idle{}}
	b.deps = d
	b.orders, b.wallets, b.jobs = service.NewOrders(d), service.NewWallets(d), service.NewJobs(d)
	return &consoleWorld{bundle: b, console: service.NewConsole(d), refunds: service.NewRefunds(d),
		withdrawals: service.NewWithdrawals(d)}
}

func (w *consoleWorld) dashboard(t *testing.T) bursar.Dashboard {
	t.Helper()
	d, err := w.console.Dashboard(context.Background(), w.platform)
	must(t, err)
	for _, h := range d.Hourly {
		if h.Hour.Location() != time.UTC {
			t.Errorf("hour %v is not in UTC", h.Hour)
		}
	}
	return d
}

// withdraw takes a withdrawal of the seller's earnings.
func (w *consoleWorld) withdraw(t *testing.T, amount bursar.Amount) bursar.Order {
	t.Helper()
	o, err := w.withdrawals.Request(context.Background(), w.seller, service.WithdrawalInput{User: "seller", Amount: amount,
		Account: "seller@example.com", Name: "张三", PaymentPassword: pin})
	must(t, err)
	return o
}

// equateEmptyDashboard makes no map and an empty one, and no hours and an
// empty list, the same.
var equateEmptyDashboard = cmp.Options{
	cmp.FilterValues(func(x, y map[bursar.OrderStatus]int) bool { return len(x) == 0 && len(y) == 0 },
		cmp.Comparer(func(_, _ map[bursar.OrderStatus]int) bool { return true })),
	cmp.FilterValues(func(x, y []bursar.HourlyPayments) bool { return len(x) == 0 && len(y) == 0 },
		cmp.Comparer(func(_, _ []bursar.HourlyPayments) bool { return true })),
}

func TestDashboard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		w := withConsole(t, db)
		utc := func(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }
		check := func(what string, want bursar.Dashboard) {
			t.Helper()
			// The chart covers the last DashboardHours hours, this one included.
			want.HourlyFrom = w.clock.Now().Truncate(time.Hour).Add(-(service.DashboardHours - 1) * time.Hour)
			if diff := cmp.Diff(want, w.dashboard(t), equateEmptyDashboard); diff != "" {
				t.Errorf("Dashboard %s mismatch (-want +got):\n%s", what, diff)
			}
		}
		check("of a marketplace with no orders", bursar.Dashboard{})

		// 10:00 UTC, 18:00 in Beijing: the session is paid; an hour later
		// the course; a third order stays unpaid; the session's buyer asks
		// for the money back.
		w.fund(t, "buyer", bursar.AccountUserCash, 20_000)
		session := w.paid(t, w.session)
		w.clock.Advance(time.Hour)
		course := w.paid(t, w.course)
		w.buy(t, w.session)
		r, err := w.refunds.Request(ctx, w.buyer, session.ID, nil, "Not as described.")
		must(t, err)
		hourly := []bursar.HourlyPayments{{Hour: utc(21, 10), Count: 1, Amount: 1990}, {Hour: utc(21, 11), Count: 1, Amount: 8888}}
		check("with a refund waiting", bursar.Dashboard{PaidCount: 2, PaidAmount: 1990 + 8888,
			OrdersByStatus: map[bursar.OrderStatus]int{bursar.OrderRefundRequested: 1, bursar.OrderPaid: 1, bursar.OrderPending: 1},
			Escrow:         1990 + 8888, RefundsWaiting: 1, RefundsWaitingAmount: 1990, Hourly: hourly})

		// The platform refunds the session: its escrow goes back to the
		// buyer. It was still paid today.
		_, err = w.refunds.Approve(ctx, w.platform, r.ID, "")
		must(t, err)
		check("after the refund", bursar.Dashboard{PaidCount: 2, PaidAmount: 1990 + 8888,
			OrdersByStatus: map[bursar.OrderStatus]int{bursar.OrderRefunded: 1, bursar.OrderPaid: 1, bursar.OrderPending: 1},
			Escrow:         8888, Hourly: hourly})

		// 14:00: the course is released and the unpaid order closed; the
		// seller asks for a large withdrawal, which waits for approval, and a
		// small one, which goes to the channel.
		w.clock.Advance(3 * time.Hour)
		w.runJobs(t)
		if got := w.balance(t, bursar.EscrowAccount(course.ID)); got != 0 {
			t.Fatalf("the course's escrow is %d after its release", got)
		}
		w.fund(t, "seller", bursar.AccountUserEarnings, 700_000)
		big := w.withdraw(t, 600_000)
		small := w.withdraw(t, 1_000)
		if big.Status != bursar.OrderRequested || small.Status != bursar.OrderProcessing {
			t.Fatalf("withdrawals are %s and %s, want requested and processing", big.Status, small.Status)
		}
		released := bursar.Dashboard{PaidCount: 2, PaidAmount: 1990 + 8888,
			OrdersByStatus:     map[bursar.OrderStatus]int{bursar.OrderRefunded: 1, bursar.OrderCompleted: 1, bursar.OrderClosed: 1},
			WithdrawalsWaiting: 1, WithdrawalsWaitingAmount: 600_000, WithdrawalsProcessing: 1, Hourly: hourly}
		check("with withdrawals waiting", released)

		// A rejected withdrawal leaves the queue.
		_, err = w.withdrawals.Reject(ctx, w.platform, big.ID, "Name does not match.")
		must(t, err)
		released.WithdrawalsWaiting, released.WithdrawalsWaitingAmount = 0, 0
		check("after the rejection", released)

		// 16:00 UTC is midnight in Beijing: a new day has no payments yet,
		// but the chart still shows yesterday's.
		w.clock.Advance(2*time.Hour - time.Millisecond)
		check("a millisecond before midnight in Beijing", released)
		w.clock.Advance(time.Millisecond)
		released.PaidCount, released.PaidAmount = 0, 0
		check("at midnight in Beijing", released)

		// The chart covers service.DashboardHours hours up to the current one.
		w.clock.Advance(service.DashboardHours*time.Hour - 6*time.Hour) // the 24th, 10:00
		released.Hourly = hourly[1:]
		check("when the first hour has left the chart", released)
		w.clock.Advance(time.Hour)
		released.Hourly = nil
		check("when both hours have left the chart", released)
	})
}

// TestDashboardHoursAreUTC runs the dashboard on a PostgreSQL session whose
// time zone is half an hour off UTC, as a server's default may be: the
// hours of the chart must still be whole UTC hours, as on SQLite.
func TestDashboardHoursAreUTC(t *testing.T) {
	for _, zone := range []string{"UTC", "Asia/Shanghai", "Asia/Kolkata"} {
		t.Run(zone, func(t *testing.T) {
			u, err := url.Parse(pgtest.URL(t))
			must(t, err)
			q := u.Query()
			q.Set("timezone", zone)
			u.RawQuery = q.Encode()
			db, err := postgres.Open(context.Background(), u.String())
			must(t, err)
			t.Cleanup(func() { db.Close() })
			must(t, db.Migrate(context.Background()))

			w := withConsole(t, db)
			w.fund(t, "buyer", bursar.AccountUserCash, 20_000)
			w.clock.Advance(45 * time.Minute) // 10:45 UTC, 16:15 in Kolkata
			w.paid(t, w.session)
			want := []bursar.HourlyPayments{{Hour: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), Count: 1, Amount: 1990}}
			if diff := cmp.Diff(want, w.dashboard(t).Hourly); diff != "" {
				t.Errorf("Dashboard hours on a session in %s mismatch (-want +got):\n%s", zone, diff)
			}
		})
	}
}

func TestConsoleIsPlatformOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		w := withConsole(t, db)
		w.fund(t, "buyer", bursar.AccountUserCash, 5_000)
		o := w.paid(t, w.session)
		calls := map[string]func(actor bursar.Actor) error{
			"Dashboard": func(a bursar.Actor) error { _, err := w.console.Dashboard(ctx, a); return err },
			"Audit": func(a bursar.Actor) error {
				_, _, err := w.console.Audit(ctx, a, bursar.AuditFilter{Limit: 10})
				return err
			},
			"RefundQueue": func(a bursar.Actor) error { _, _, err := w.console.RefundQueue(ctx, a, 10); return err },
			"Notices":     func(a bursar.Actor) error { _, err := w.console.Notices(ctx, a, o.ID); return err },
		}
		actors := map[string]bursar.Actor{"the buyer": w.buyer, "the seller": w.seller, "no one": {},
			"a user token naming an admin": {Credential: "tok_x", Kind: bursar.CredentialUser, User: "buyer", Admin: "alice"}}
		for name, call := range calls {
			for who, actor := range actors {
				wantErr(t, name+" by "+who, call(actor), bursar.Forbidden)
			}
			if err := call(w.platform); err != nil {
				t.Errorf("%s by the platform: %v", name, err)
			}
			if err := call(service.AdminActor(bursar.Admin{Name: "alice", Role: bursar.AdminViewer})); err != nil {
				t.Errorf("%s by a console viewer: %v", name, err)
			}
		}
	})
}

func TestConsoleAudit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		w := withConsole(t, db)
		w.fund(t, "buyer", bursar.AccountUserCash, 5_000)
		o := w.paid(t, w.session)
		r, err := w.refunds.Request(ctx, w.buyer, o.ID, nil, "Not as described.")
		must(t, err)
		alice := service.AdminActor(bursar.Admin{Name: "alice", Role: bursar.AdminOperator})
		_, err = w.refunds.Reject(ctx, alice, r.ID, "Delivered as described.")
		must(t, err)

		all, more, err := w.console.Audit(ctx, w.platform, bursar.AuditFilter{Limit: 100})
		must(t, err)
		if more || len(all) < 4 {
			t.Fatalf("Audit = %d entries, more %v", len(all), more)
		}
		if all[0].Action != "refund.rejected" || all[0].Actor != "admin:alice" || all[0].Subject != string(r.ID) ||
			!strings.Contains(all[0].Detail, "Delivered as described.") {
			t.Errorf("the newest entry is %+v, want alice's rejection", all[0])
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID >= all[i-1].ID {
				t.Errorf("entry %d (ID %d) is not older than the one before (ID %d)", i, all[i].ID, all[i-1].ID)
			}
		}

		// Paging by cursor visits each entry once, in order.
		var paged []int64
		f := bursar.AuditFilter{Limit: 3}
		for range len(all) {
			page, more, err := w.console.Audit(ctx, w.platform, f)
			must(t, err)
			if len(page) > 3 {
				t.Fatalf("a page of %d entries under a limit of 3", len(page))
			}
			for _, e := range page {
				paged = append(paged, e.ID)
			}
			if !more {
				break
			}
			f.Before = page[len(page)-1].ID
		}
		var ids []int64
		for _, e := range all {
			ids = append(ids, e.ID)
		}
		if diff := cmp.Diff(ids, paged); diff != "" {
			t.Errorf("paged Audit mismatch (-want +got):\n%s", diff)
		}

		byOrder, _, err := w.console.Audit(ctx, w.platform, bursar.AuditFilter{Subject: string(o.ID), Limit: 10})
		must(t, err)
		if len(byOrder) != 1 || byOrder[0].Action != "refund.request" || byOrder[0].Actor != "user:buyer" {
			t.Errorf("the order's audit = %+v, want the buyer's request", byOrder)
		}
		for _, limit := range []int{0, -1, 101} {
			_, _, err := w.console.Audit(ctx, w.platform, bursar.AuditFilter{Limit: limit})
			wantErr(t, fmt.Sprint("Audit with a limit of ", limit), err, bursar.Invalid)
		}
		if _, _, err := w.console.Audit(ctx, w.platform, bursar.AuditFilter{Limit: 100}); err != nil {
			t.Errorf("Audit with a limit of 100: %v", err)
		}
	})
}

func TestConsoleRefundQueue(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		w := withConsole(t, db)
		w.fund(t, "buyer", bursar.AccountUserCash, 10_000)
		var orders []bursar.Order
		var refunds []bursar.Refund
		for i := range 3 {
			o := w.paid(t, w.session)
			w.clock.Advance(time.Minute)
			amount := bursar.Amount(100 * (i + 1))
			r, err := w.refunds.Request(ctx, w.buyer, o.ID, &amount, "Partly not delivered.")
			must(t, err)
			orders, refunds = append(orders, o), append(refunds, r)
		}
		// A paid order with no refund is not in the queue.
		w.paid(t, w.session)

		queue := func(limit int) ([]bursar.RefundID, map[bursar.OrderID]bursar.Order) {
			t.Helper()
			list, byOrder, err := w.console.RefundQueue(ctx, w.platform, limit)
			must(t, err)
			var ids []bursar.RefundID
			for _, r := range list {
				ids = append(ids, r.ID)
				if o, ok := byOrder[r.Order]; !ok || o.ID != r.Order || o.Status != bursar.OrderRefundRequested {
					t.Errorf("refund %s comes with order %+v", r.ID, o)
				}
			}
			if len(byOrder) != len(list) {
				t.Errorf("%d orders come with %d refunds", len(byOrder), len(list))
			}
			return ids, byOrder
		}
		ids, _ := queue(100)
		if diff := cmp.Diff([]bursar.RefundID{refunds[0].ID, refunds[1].ID, refunds[2].ID}, ids); diff != "" {
			t.Errorf("RefundQueue(100), oldest first, mismatch (-want +got):\n%s", diff)
		}
		ids, byOrder := queue(2)
		if diff := cmp.Diff([]bursar.RefundID{refunds[0].ID, refunds[1].ID}, ids); diff != "" {
			t.Errorf("RefundQueue(2) mismatch (-want +got):\n%s", diff)
		}
		if _, ok := byOrder[orders[2].ID]; ok {
			t.Error("RefundQueue(2) came with the order of a refund it left out")
		}

		// A decided refund leaves the queue.
		alice := service.AdminActor(bursar.Admin{Name: "alice", Role: bursar.AdminOperator})
		_, err := w.refunds.Approve(ctx, alice, refunds[1].ID, "")
		must(t, err)
		ids, _ = queue(100)
		if diff := cmp.Diff([]bursar.RefundID{refunds[0].ID, refunds[2].ID}, ids); diff != "" {
			t.Errorf("RefundQueue after an approval mismatch (-want +got):\n%s", diff)
		}
		for _, limit := range []int{0, -1, 101} {
			_, _, err := w.console.RefundQueue(ctx, w.platform, limit)
			wantErr(t, "RefundQueue with a limit out of range", err, bursar.Invalid)
		}

		notices, err := w.console.Notices(ctx, w.platform, orders[0].ID)
		if err != nil || len(notices) != 0 {
			t.Errorf("Notices of a wallet payment = %v, %v; want none", notices, err)
		}
		_, err = w.console.Notices(ctx, w.platform, "ord_nope")
		wantErr(t, "Notices of no order", err, bursar.NotFound)
	})
}
