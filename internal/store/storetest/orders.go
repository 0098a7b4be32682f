package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// pendingOrder is a purchase just created at t0, with no optional time set.
func pendingOrder(id bursar.OrderID) bursar.Order {
	return bursar.Order{ID: id, No: "N" + string(id), Type: bursar.OrderPurchase, Status: bursar.OrderPending,
		Buyer: "b_1", Seller: "s_1", Item: "it_1", Subject: "A course", Amount: cny(19900),
		Hold: bursar.DefaultHold, CreatedAt: t0, ExpiresAt: t0.Add(bursar.DefaultOrderExpiry), UpdatedAt: t0}
}

// mustOrders stores orders in one transaction.
func mustOrders(t testing.TB, db store.DB, os ...bursar.Order) {
	t.Helper()
	mustWrite(t, db, func(tx store.Tx) error {
		for _, o := range os {
			if err := tx.OrderInsert(context.Background(), o); err != nil {
				return err
			}
		}
		return nil
	})
}

func getOrder(t testing.TB, db store.DB, id bursar.OrderID) bursar.Order {
	t.Helper()
	o, err := readTx(db, func(tx store.Tx) (bursar.Order, error) { return tx.OrderGet(context.Background(), id) })
	if err != nil {
		t.Fatalf("OrderGet(%s): %v", id, err)
	}
	return o
}

func orderTimes(o bursar.Order) []time.Time {
	return []time.Time{o.CreatedAt, o.ExpiresAt, o.PaidAt, o.ReleaseAt, o.CompletedAt, o.AccessUntil, o.UpdatedAt}
}

func testOrders(t *testing.T, h Harness) {
	ctx := context.Background()

	// full sets every field, each time in China Standard Time.
	full := bursar.Order{ID: "ord_full", No: "20261121000001", Type: bursar.OrderPurchase, Status: bursar.OrderRefundRequested,
		Buyer: "b_1", Seller: "s_1", Item: "it_1", Subject: "一节课", Amount: cny(19900), Channel: bursar.ChannelWallet,
		PaidFromCash: 9900, PaidFromEarnings: 10000, Refunded: 100, Fee: 995,
		Hold: 48 * time.Hour, Duration: 90 * time.Minute, Metadata: map[string]string{"cart": "7", "note": "生日"},
		CreatedAt: t0.In(cst), ExpiresAt: t0.Add(30 * time.Minute).In(cst), PaidAt: t0.Add(time.Minute).In(cst),
		ReleaseAt: t0.Add(49 * time.Hour).In(cst), CompletedAt: t0.Add(50 * time.Hour).In(cst),
		AccessUntil: t0.Add(91 * time.Minute).In(cst), UpdatedAt: t0.Add(2 * time.Minute).In(cst),
		PayoutAccount: "alice@example.com", PayoutName: "张三", ChannelRef: "20261121110070001502",
		FailureReason: "收款账户不存在", NeedsApproval: true}
	// bare leaves every optional field zero.
	bare := bursar.Order{ID: "ord_bare", No: "20261121000002", Type: bursar.OrderTopup, Status: bursar.OrderPending,
		Buyer: "b_1", Subject: "Top-up", Amount: cny(0), CreatedAt: t0, UpdatedAt: t0}

	t.Run("orders read back as stored, in UTC, by ID and by number", func(t *testing.T) {
		db := h.Open(t)
		mustOrders(t, db, full, bare)
		for _, o := range []bursar.Order{full, bare} {
			gets := map[string]func(tx store.Tx) (bursar.Order, error){
				"OrderGet":          func(tx store.Tx) (bursar.Order, error) { return tx.OrderGet(ctx, o.ID) },
				"OrderGetByNo":      func(tx store.Tx) (bursar.Order, error) { return tx.OrderGetByNo(ctx, o.No) },
				"OrderGetForUpdate": func(tx store.Tx) (bursar.Order, error) { return tx.OrderGetForUpdate(ctx, o.ID) },
			}
			for name, get := range gets {
				got, err := writeTx(db, get)
				if err != nil {
					t.Fatalf("%s(%s): %v", name, o.ID, err)
				}
				if diff := cmp.Diff(o, got); diff != "" {
					t.Errorf("%s(%s) mismatch (-want +got):\n%s", name, o.ID, diff)
				}
				checkUTC(t, name, orderTimes(got)...)
			}
		}
		const q = `SELECT count(*) FROM orders WHERE id = 'ord_bare' AND metadata = '{}' AND expires_at IS NULL
			AND paid_at IS NULL AND release_at IS NULL AND completed_at IS NULL AND access_until IS NULL
			AND payout_account = '' AND payout_name = '' AND channel_ref = '' AND failure_reason = ''
			AND NOT needs_approval`
		if n := h.Count(t, db, q); n != 1 {
			t.Errorf("the bare order is not stored with '{}' metadata, NULL times and empty withdrawal fields")
		}
	})

	t.Run("empty metadata reads back as none", func(t *testing.T) {
		db := h.Open(t)
		o := pendingOrder("ord_1")
		o.Metadata = map[string]string{}
		mustOrders(t, db, o)
		if got := getOrder(t, db, o.ID); got.Metadata != nil {
			t.Errorf("Metadata = %#v, want nil", got.Metadata)
		}
	})

	t.Run("an update stores the mutable fields only", func(t *testing.T) {
		db := h.Open(t)
		mustOrders(t, db, pendingOrder("ord_1"))
		paid := t0.Add(5 * time.Minute)
		o := pendingOrder("ord_1")
		o.Status, o.Channel, o.PaidFromCash, o.PaidFromEarnings = bursar.OrderPaid, bursar.ChannelWallet, 19000, 900
		o.Refunded, o.Fee = 0, 0
		o.ExpiresAt, o.PaidAt, o.ReleaseAt, o.AccessUntil = time.Time{}, paid.In(cst), paid.Add(o.Hold), paid.Add(time.Hour)
		o.Metadata, o.UpdatedAt = map[string]string{"k": "v"}, paid
		o.PayoutAccount, o.PayoutName, o.ChannelRef, o.FailureReason = "acct", "name", "ref", "reason"
		o.NeedsApproval = true
		want := o
		o.Subject, o.Amount, o.Buyer, o.CreatedAt = "changed", cny(1), "b_2", paid // not mutable: ignored
		mustWrite(t, db, func(tx store.Tx) error { return tx.OrderUpdate(ctx, o, bursar.OrderPending) })
		got := getOrder(t, db, "ord_1")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("OrderGet after OrderUpdate mismatch (-want +got):\n%s", diff)
		}
		checkUTC(t, "OrderGet", orderTimes(got)...)
	})

	t.Run("a withdrawal's fields change and clear through its states", func(t *testing.T) {
		db := h.Open(t)
		w := withdrawal("wd_1", "b_1", bursar.OrderRequested, t0, 600_000)
		w.NeedsApproval = true
		mustOrders(t, db, w)
		steps := []struct {
			from   bursar.OrderStatus
			change func(o *bursar.Order)
		}{
			{bursar.OrderRequested, func(o *bursar.Order) {
				o.Status, o.NeedsApproval, o.ChannelRef = bursar.OrderProcessing, false, "20261121110070001502"
			}},
			{bursar.OrderProcessing, func(o *bursar.Order) {
				o.Status, o.FailureReason = bursar.OrderFailed, "PAYEE_NOT_EXIST: 收款账号不存在"
			}},
			{bursar.OrderFailed, func(o *bursar.Order) { // not a real transition; the store does not judge
				o.Status, o.PayoutAccount, o.PayoutName, o.ChannelRef, o.FailureReason = bursar.OrderRequested, "", "", "", ""
			}},
		}
		want := w
		for i, step := range steps {
			step.change(&want)
			want.UpdatedAt = t0.Add(time.Duration(i+1) * time.Minute)
			mustWrite(t, db, func(tx store.Tx) error { return tx.OrderUpdate(ctx, want, step.from) })
			if diff := cmp.Diff(want, getOrder(t, db, w.ID)); diff != "" {
				t.Errorf("after step %d (-want +got):\n%s", i+1, diff)
			}
		}
	})

	fails := []struct {
		name string
		fn   func(tx store.Tx) error
		code bursar.Code
	}{
		{"a taken ID is a conflict", func(tx store.Tx) error {
			o := pendingOrder("ord_1")
			o.No = "other"
			return tx.OrderInsert(ctx, o)
		}, bursar.Conflict},
		{"a taken order number is a conflict", func(tx store.Tx) error {
			o := pendingOrder("ord_2")
			o.No = pendingOrder("ord_1").No
			return tx.OrderInsert(ctx, o)
		}, bursar.Conflict},
		{"a missing order is not found", func(tx store.Tx) error {
			_, err := tx.OrderGet(ctx, "nope")
			return err
		}, bursar.NotFound},
		{"locking a missing order is not found", func(tx store.Tx) error {
			_, err := tx.OrderGetForUpdate(ctx, "nope")
			return err
		}, bursar.NotFound},
		{"a missing order number is not found", func(tx store.Tx) error {
			_, err := tx.OrderGetByNo(ctx, "nope")
			return err
		}, bursar.NotFound},
		{"an update from a status the order has left is the wrong state", func(tx store.Tx) error {
			o := pendingOrder("ord_1")
			o.Status = bursar.OrderCompleted
			return tx.OrderUpdate(ctx, o, bursar.OrderPaid)
		}, bursar.WrongState},
		{"an update of a missing order is not found", func(tx store.Tx) error {
			return tx.OrderUpdate(ctx, pendingOrder("nope"), bursar.OrderPending)
		}, bursar.NotFound},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			mustOrders(t, db, pendingOrder("ord_1"))
			wantCode(t, tt.name, db.InTx(ctx, tt.fn), tt.code)
			if got := getOrder(t, db, "ord_1"); got.Status != bursar.OrderPending {
				t.Errorf("after a failed call the order is %s, want pending", got.Status)
			}
		})
	}

	t.Run("of racing updates from one status exactly one wins", func(t *testing.T) {
		db := h.Open(t)
		mustOrders(t, db, pendingOrder("ord_1"))
		oneWins(t, 16, "OrderUpdate", func(i int) error {
			o := pendingOrder("ord_1")
			o.Status, o.Metadata = bursar.OrderPaid, map[string]string{"winner": fmt.Sprint(i)}
			return db.InTx(ctx, func(tx store.Tx) error { return tx.OrderUpdate(ctx, o, bursar.OrderPending) })
		})
	})

	testEntitlement(t, h)
}

func testEntitlement(t *testing.T, h Harness) {
	ctx := context.Background()
	now := t0.Add(24 * time.Hour)
	purchase := func(id bursar.OrderID, status bursar.OrderStatus, created, accessUntil time.Time) bursar.Order {
		o := pendingOrder(id)
		o.Status, o.CreatedAt, o.AccessUntil = status, created, accessUntil
		return o
	}
	tests := []struct {
		name   string
		orders []bursar.Order
		want   bursar.OrderID // "" for not found
	}{
		{"a paid course entitles", []bursar.Order{purchase("o1", bursar.OrderPaid, t0, time.Time{})}, "o1"},
		{"a purchase with a refund requested entitles", []bursar.Order{purchase("o1", bursar.OrderRefundRequested, t0, time.Time{})}, "o1"},
		{"a completed session still running entitles", []bursar.Order{purchase("o1", bursar.OrderCompleted, t0, now.Add(time.Millisecond))}, "o1"},
		{"a session that ended does not", []bursar.Order{purchase("o1", bursar.OrderCompleted, t0, now)}, ""},
		{"a pending purchase does not", []bursar.Order{purchase("o1", bursar.OrderPending, t0, time.Time{})}, ""},
		{"a refunded purchase does not", []bursar.Order{purchase("o1", bursar.OrderRefunded, t0, time.Time{})}, ""},
		{"a closed purchase does not", []bursar.Order{purchase("o1", bursar.OrderClosed, t0, time.Time{})}, ""},
		{"another buyer's purchase does not", []bursar.Order{func() bursar.Order {
			o := purchase("o1", bursar.OrderPaid, t0, time.Time{})
			o.Buyer = "b_2"
			return o
		}()}, ""},
		{"a purchase of another item does not", []bursar.Order{func() bursar.Order {
			o := purchase("o1", bursar.OrderPaid, t0, time.Time{})
			o.Item = "it_2"
			return o
		}()}, ""},
		{"an order of another type does not", []bursar.Order{func() bursar.Order {
			o := purchase("o1", bursar.OrderPaid, t0, time.Time{})
			o.Type = bursar.OrderTopup
			return o
		}()}, ""},
		{"the newest entitling purchase is found", []bursar.Order{
			purchase("o1", bursar.OrderCompleted, t0, time.Time{}),
			purchase("o2", bursar.OrderPaid, t0.Add(time.Hour), time.Time{}),
			purchase("o3", bursar.OrderRefunded, t0.Add(2*time.Hour), time.Time{}),
		}, "o2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			for i := range tt.orders {
				tt.orders[i].No = fmt.Sprintf("N%d", i)
			}
			mustOrders(t, db, tt.orders...)
			got, err := readTx(db, func(tx store.Tx) (bursar.Order, error) {
				return tx.OrderFindEntitling(ctx, "b_1", "it_1", now.In(cst))
			})
			if tt.want == "" {
				wantCode(t, "OrderFindEntitling", err, bursar.NotFound)
				return
			}
			if err != nil || got.ID != tt.want {
				t.Errorf("OrderFindEntitling = %s, %v; want %s", got.ID, err, tt.want)
			}
		})
	}
}
