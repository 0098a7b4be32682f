package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

func testOps(t *testing.T, h Harness) {
	ctx := context.Background()
	pending := func(t *testing.T, db store.DB) int {
		t.Helper()
		n, err := db.MigrationsPending(ctx)
		if err != nil {
			t.Fatalf("MigrationsPending: %v", err)
		}
		return n
	}

	t.Run("pending migrations", func(t *testing.T) {
		db := h.Open(t)
		known := int(h.Count(t, db, `SELECT count(*) FROM schema_migrations`))
		if known == 0 {
			t.Fatal("a migrated database records no migration")
		}
		if n, err := db.MigrationsKnown(); n != known || err != nil {
			t.Errorf("MigrationsKnown() = %d, %v; want the %d a migrated database records", n, err, known)
		}
		tests := []struct {
			name  string
			query string
			want  int
		}{
			{"none on a migrated database", ``, 0},
			{"one whose record is gone", `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`, 1},
			{"a migration of a newer binary does not count", `INSERT INTO schema_migrations (version, name, applied_at) SELECT 9999, '9999_newer.sql', applied_at FROM schema_migrations LIMIT 1`, 1},
			{"all on a database never migrated", `DROP TABLE schema_migrations`, known},
		}
		for _, tt := range tests { // in order: each step builds on the one before
			if tt.query != "" {
				h.Exec(t, db, tt.query)
			}
			if got := pending(t, db); got != tt.want {
				t.Errorf("%s: MigrationsPending = %d, want %d", tt.name, got, tt.want)
			}
		}
	})

	t.Run("stats count each family by channel and state", func(t *testing.T) {
		db := h.Open(t)
		stats := func(now time.Time) bursar.OpsStats {
			t.Helper()
			s, err := readTx(db, func(tx store.Tx) (bursar.OpsStats, error) { return tx.OpsStats(ctx, now) })
			if err != nil {
				t.Fatalf("OpsStats: %v", err)
			}
			return s
		}
		if diff := cmp.Diff(bursar.OpsStats{}, stats(t0), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("OpsStats of an empty database (-want +got):\n%s", diff)
		}

		// Orders: two paid from the wallet, one pending wallet order not
		// paid yet, two paid at Alipay, one at WeChat Pay.
		var orders []bursar.Order
		for i, ch := range []bursar.Channel{"wallet", "wallet", "wallet", "alipay", "alipay", "wechat"} {
			o := pendingOrder(bursar.OrderID("o" + string(rune('1'+i))))
			o.Channel = ch
			if i != 2 {
				o.Status, o.PaidAt = bursar.OrderPaid, t0
			}
			orders = append(orders, o)
		}
		mustOrders(t, db, orders...)
		paid := func(p bursar.Payment, s bursar.PaymentStatus) bursar.Payment {
			p.Status = s
			return p
		}
		mustPayments(t, db, paid(pendingPayment("o4", "alipay"), bursar.PaymentPaid),
			paid(pendingPayment("o5", "alipay"), bursar.PaymentPaid), pendingPayment("o5", "wechat"),
			paid(pendingPayment("o6", "wechat"), bursar.PaymentPaid))
		mustRefunds(t, db, openRefund("r1", "o1"), decide(openRefund("r2", "o2"), bursar.RefundSucceeded, t0),
			decide(openRefund("r3", "o4"), bursar.RefundRejected, t0))
		rejected := newNotice("")
		rejected.Outcome, rejected.Channel = bursar.NoticeRejected, bursar.ChannelWeChat
		for _, n := range []bursar.Notice{newNotice("No4"), newNotice("No5"), rejected, rejected} {
			insertNotice(t, db, n)
		}
		mustWrite(t, db, func(tx store.Tx) error { return tx.EndpointInsert(ctx, newEndpoint("we_1")) })
		for i, s := range []bursar.DeliveryStatus{bursar.DeliverySucceeded, bursar.DeliverySucceeded, bursar.DeliveryFailed, ""} {
			id := insertDelivery(t, db, newDelivery("we_1", "o1", int64(i+1), 0))
			if s != "" {
				finishDelivery(t, db, id, s)
			}
		}
		mustWrite(t, db, func(tx store.Tx) error {
			for _, j := range []struct {
				kind bursar.JobKind
				ref  string
				at   time.Duration
			}{{bursar.JobRelease, "o1", -7 * time.Minute}, {bursar.JobRelease, "o2", -time.Minute}, {bursar.JobRelease, "o3", time.Hour},
				{bursar.JobExpire, "o3", time.Minute}, {bursar.JobPaymentCheck, "o5", -30 * time.Second}} {
				if err := tx.JobSchedule(ctx, j.kind, j.ref, t0.Add(j.at).In(cst)); err != nil {
					return err
				}
			}
			return nil
		})

		want := bursar.OpsStats{
			Payments: []bursar.StatusCount{
				{Channel: "alipay", Status: "paid", Count: 2, Amount: 39800},
				{Channel: "wallet", Status: "paid", Count: 2, Amount: 39800},
				{Channel: "wechat", Status: "paid", Count: 1, Amount: 19900},
				{Channel: "wechat", Status: "pending", Count: 1, Amount: 19900},
			},
			Refunds: []bursar.StatusCount{
				{Channel: "alipay", Status: "rejected", Count: 1, Amount: 19900},
				{Channel: "wallet", Status: "requested", Count: 1, Amount: 19900},
				{Channel: "wallet", Status: "succeeded", Count: 1, Amount: 19900},
			},
			Deliveries: []bursar.StatusCount{{Status: "failed", Count: 1}, {Status: "pending", Count: 1}, {Status: "succeeded", Count: 2}},
			Notices:    []bursar.StatusCount{{Channel: "alipay", Status: "applied", Count: 2}, {Channel: "wechat", Status: "rejected", Count: 2}},
			Jobs: []bursar.JobQueue{
				{Kind: bursar.JobExpire, Count: 1},
				{Kind: bursar.JobPaymentCheck, Count: 1, Due: 1, Lag: 30 * time.Second},
				{Kind: bursar.JobRelease, Count: 3, Due: 2, Lag: 7 * time.Minute},
			},
		}
		got := stats(t0.In(cst))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("OpsStats (-want +got):\n%s", diff)
		}
		if got.JobLag() != 7*time.Minute {
			t.Errorf("JobLag = %v, want the release's 7m", got.JobLag())
		}
		// The lag agrees with JobLag's.
		lag, due, err := readTx2(db, func(tx store.Tx) (time.Duration, int, error) { return tx.JobLag(ctx, t0) })
		if err != nil || lag != got.JobLag() || due != 3 {
			t.Errorf("JobLag = %v, %d, %v; want %v, 3 as OpsStats says", lag, due, err, got.JobLag())
		}
	})
}

// readTx2 returns the two values fn reads in a read transaction.
func readTx2[A, B any](db store.DB, fn func(tx store.Tx) (A, B, error)) (A, B, error) {
	var a A
	var b B
	err := db.InReadTx(context.Background(), func(tx store.Tx) error {
		var err error
		a, b, err = fn(tx)
		return err
	})
	return a, b, err
}
