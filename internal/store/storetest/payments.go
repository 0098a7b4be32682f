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

// pendingPayment is order's payment at ch just created at t0, with nothing
// known from the channel yet.
func pendingPayment(order bursar.OrderID, ch bursar.Channel) bursar.Payment {
	return bursar.Payment{Order: order, Channel: ch, Method: "alipay_qr", Amount: cny(19900),
		Status: bursar.PaymentPending, CreatedAt: t0, UpdatedAt: t0}
}

// mustPayments puts payments in one transaction.
func mustPayments(t testing.TB, db store.DB, ps ...bursar.Payment) {
	t.Helper()
	mustWrite(t, db, func(tx store.Tx) error {
		for _, p := range ps {
			if err := tx.PaymentPut(context.Background(), p); err != nil {
				return err
			}
		}
		return nil
	})
}

func getPayment(t testing.TB, db store.DB, order bursar.OrderID, ch bursar.Channel) bursar.Payment {
	t.Helper()
	p, err := readTx(db, func(tx store.Tx) (bursar.Payment, error) { return tx.PaymentGet(context.Background(), order, ch) })
	if err != nil {
		t.Fatalf("PaymentGet(%s, %s): %v", order, ch, err)
	}
	return p
}

func listPayments(t testing.TB, db store.DB, order bursar.OrderID) []bursar.Payment {
	t.Helper()
	ps, err := readTx(db, func(tx store.Tx) ([]bursar.Payment, error) { return tx.PaymentList(context.Background(), order) })
	if err != nil {
		t.Fatalf("PaymentList(%s): %v", order, err)
	}
	return ps
}

// paymentKeys returns each payment's "order/channel".
func paymentKeys(ps []bursar.Payment) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s/%s", p.Order, p.Channel))
	}
	return out
}

func testPayments(t *testing.T, h Harness) {
	ctx := context.Background()

	// full sets every field, each time in China Standard Time, at the
	// largest amount.
	full := bursar.Payment{Order: "ord_1", Channel: bursar.ChannelWeChat, Method: "wechat_native",
		Amount: cny(bursar.MaxAmount), Status: bursar.PaymentPaid, TradeNo: "4200001234202611211234567890",
		Payer: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", CreatedAt: t0.In(cst), PaidAt: t0.Add(time.Minute).In(cst),
		UpdatedAt: t0.Add(2 * time.Minute).In(cst)}
	// bare leaves every optional field zero.
	bare := bursar.Payment{Order: "ord_2", Channel: bursar.ChannelAlipay, Amount: cny(1),
		Status: bursar.PaymentPending, CreatedAt: t0, UpdatedAt: t0}

	t.Run("payments read back as stored, in UTC, alone and in lists", func(t *testing.T) {
		db := h.Open(t)
		mustPayments(t, db, full, bare)
		for _, p := range []bursar.Payment{full, bare} {
			got := getPayment(t, db, p.Order, p.Channel)
			if diff := cmp.Diff(p, got); diff != "" {
				t.Errorf("PaymentGet(%s, %s) mismatch (-want +got):\n%s", p.Order, p.Channel, diff)
			}
			checkUTC(t, "PaymentGet", got.CreatedAt, got.PaidAt, got.UpdatedAt)
			list := listPayments(t, db, p.Order)
			if diff := cmp.Diff([]bursar.Payment{p}, list); diff != "" {
				t.Errorf("PaymentList(%s) mismatch (-want +got):\n%s", p.Order, diff)
			}
			for _, got := range list {
				checkUTC(t, "PaymentList", got.CreatedAt, got.PaidAt, got.UpdatedAt)
			}
		}
		const q = `SELECT count(*) FROM payments WHERE order_id = 'ord_2' AND paid_at IS NULL
			AND method = '' AND trade_no = '' AND payer = ''`
		if n := h.Count(t, db, q); n != 1 {
			t.Errorf("the bare payment is not stored with a NULL paid_at and empty strings")
		}
	})

	t.Run("a put replaces every field of the stored payment", func(t *testing.T) {
		db := h.Open(t)
		mustPayments(t, db, pendingPayment("ord_1", bursar.ChannelAlipay))
		paid := bursar.Payment{Order: "ord_1", Channel: bursar.ChannelAlipay, Method: "alipay_page",
			Amount: bursar.Money{Amount: 100, Currency: "USD"}, Status: bursar.PaymentPaid,
			TradeNo: "2026112122001411111111111111", Payer: "2088102177846875",
			CreatedAt: t0.Add(time.Second), PaidAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute)}
		mustPayments(t, db, paid)
		if diff := cmp.Diff(paid, getPayment(t, db, "ord_1", bursar.ChannelAlipay)); diff != "" {
			t.Errorf("PaymentGet after the second put mismatch (-want +got):\n%s", diff)
		}
		// A put clears what the new payment leaves zero.
		cleared := pendingPayment("ord_1", bursar.ChannelAlipay)
		cleared.Method, cleared.Status = "", bursar.PaymentClosed
		mustPayments(t, db, cleared)
		if diff := cmp.Diff(cleared, getPayment(t, db, "ord_1", bursar.ChannelAlipay)); diff != "" {
			t.Errorf("PaymentGet after the third put mismatch (-want +got):\n%s", diff)
		}
		if n := h.Count(t, db, `SELECT count(*) FROM payments`); n != 1 {
			t.Errorf("%d payments after putting one three times, want 1", n)
		}
	})

	t.Run("a put in the transaction that read the payment replaces it", func(t *testing.T) {
		db := h.Open(t)
		mustPayments(t, db, pendingPayment("ord_1", bursar.ChannelAlipay))
		mustWrite(t, db, func(tx store.Tx) error {
			p, err := tx.PaymentGet(ctx, "ord_1", bursar.ChannelAlipay)
			if err != nil {
				return err
			}
			p.Status, p.PaidAt = bursar.PaymentPaid, t0.Add(time.Minute)
			if err := tx.PaymentPut(ctx, p); err != nil {
				return err
			}
			got, err := tx.PaymentGet(ctx, "ord_1", bursar.ChannelAlipay)
			if err == nil && got.Status != bursar.PaymentPaid {
				t.Errorf("within the transaction the payment is %s, want paid", got.Status)
			}
			return err
		})
		if got := getPayment(t, db, "ord_1", bursar.ChannelAlipay); got.Status != bursar.PaymentPaid {
			t.Errorf("after the transaction the payment is %s, want paid", got.Status)
		}
	})

	notFound := []struct {
		name  string
		order bursar.OrderID
		ch    bursar.Channel
	}{
		{"an order with no payments", "ord_2", bursar.ChannelAlipay},
		{"an order's payment at another channel", "ord_1", bursar.ChannelWeChat},
	}
	for _, tt := range notFound {
		t.Run(tt.name+" is not found", func(t *testing.T) {
			db := h.Open(t)
			mustPayments(t, db, pendingPayment("ord_1", bursar.ChannelAlipay))
			_, err := readTx(db, func(tx store.Tx) (bursar.Payment, error) { return tx.PaymentGet(ctx, tt.order, tt.ch) })
			wantCode(t, "PaymentGet", err, bursar.NotFound)
		})
	}

	t.Run("the database refuses an amount that is not positive", func(t *testing.T) {
		db := h.Open(t)
		for _, a := range []bursar.Amount{0, -1} {
			p := pendingPayment("ord_1", bursar.ChannelAlipay)
			p.Amount = cny(a)
			if err := db.InTx(ctx, func(tx store.Tx) error { return tx.PaymentPut(ctx, p) }); err == nil {
				t.Errorf("PaymentPut of amount %d succeeded", a)
			}
		}
		// Nor may a put replace a good amount with a bad one.
		mustPayments(t, db, pendingPayment("ord_1", bursar.ChannelAlipay))
		p := pendingPayment("ord_1", bursar.ChannelAlipay)
		p.Amount = cny(0)
		if err := db.InTx(ctx, func(tx store.Tx) error { return tx.PaymentPut(ctx, p) }); err == nil {
			t.Errorf("PaymentPut replacing the amount with 0 succeeded")
		}
		if got := getPayment(t, db, "ord_1", bursar.ChannelAlipay); got.Amount != cny(19900) {
			t.Errorf("after the refused put the amount is %v, want 199.00", got.Amount)
		}
	})

	t.Run("an order's payments are listed oldest first", func(t *testing.T) {
		db := h.Open(t)
		at := func(p bursar.Payment, minute int) bursar.Payment {
			p.CreatedAt = t0.Add(time.Duration(minute) * time.Minute)
			return p
		}
		// The wallet's is the oldest; alipay and wechat share a creation
		// time, so the channel decides. ord_2's is older than all and must
		// not show.
		ps := []bursar.Payment{
			at(pendingPayment("ord_1", bursar.ChannelWeChat), 5),
			at(pendingPayment("ord_1", bursar.ChannelAlipay), 5),
			at(pendingPayment("ord_1", bursar.ChannelWallet), 1),
			at(pendingPayment("ord_2", bursar.ChannelAlipay), 0),
		}
		mustPayments(t, db, ps...)
		got := listPayments(t, db, "ord_1")
		if diff := cmp.Diff([]string{"ord_1/wallet", "ord_1/alipay", "ord_1/wechat"}, paymentKeys(got)); diff != "" {
			t.Errorf("PaymentList(ord_1) order (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]bursar.Payment{ps[2], ps[1], ps[0]}, got); diff != "" {
			t.Errorf("PaymentList(ord_1) mismatch (-want +got):\n%s", diff)
		}
		if got := listPayments(t, db, "ord_3"); len(got) != 0 {
			t.Errorf("PaymentList(ord_3) = %v, want none", paymentKeys(got))
		}
	})

	t.Run("racing puts of one payment leave one row", func(t *testing.T) {
		db := h.Open(t)
		const n = 16
		atOnce(n, func(i int) {
			p := pendingPayment("ord_1", bursar.ChannelAlipay)
			p.TradeNo = fmt.Sprint("trade_", i)
			if err := db.InTx(ctx, func(tx store.Tx) error { return tx.PaymentPut(ctx, p) }); err != nil {
				t.Errorf("PaymentPut: %v", err)
			}
		})
		if got := listPayments(t, db, "ord_1"); len(got) != 1 {
			t.Errorf("%d payments after racing puts of one, want 1", len(got))
		}
	})
}
