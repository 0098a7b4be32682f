package alipay_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/alipay"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

// parsedBill downloads the bill of day through ch and parses it.
func parsedBill(t *testing.T, ch *alipay.Channel, day time.Time) channel.Bill {
	t.Helper()
	data, err := ch.Bill(t.Context(), day)
	if err != nil {
		t.Fatalf("Bill() error = %v", err)
	}
	bill, err := alipay.ParseBill(day, data)
	if err != nil {
		t.Fatalf("ParseBill() error = %v", err)
	}
	checkTotals(t, bill)
	return bill
}

// TestBillPlants plants each kind of difference through the control call
// and checks that the parsed bill shows exactly those differences, with
// footers that agree (ParseBill checks them), again after a restart, and
// none once they are cleared.
func TestBillPlants(t *testing.T) {
	dataDir := t.TempDir()
	withData := func(c *alipaysandbox.Config) { c.TimestampSkew, c.DataDir = 48*time.Hour, dataDir }
	b := setup(t, withData)
	day := noonBeijing(b.clock).Add(-12 * time.Hour)
	r := newReceiver(t, b.cert)
	paidTrade(t, b, b.cert, alipaysandbox.CertAppID, "PL-A", 1990, r)
	paidTrade(t, b, b.cert, alipaysandbox.CertAppID, "PL-B", 167, r)
	paidTrade(t, b, b.cert, alipaysandbox.CertAppID, "PL-C", 1, r)
	if _, err := b.cert.Refund(t.Context(), channel.RefundRequest{OrderNo: "PL-A", RefundNo: "PL-A-R1", Amount: cny(980)}); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(24 * time.Hour)
	before := parsedBill(t, b.cert, day)
	if len(before.Lines) != 4 {
		t.Fatalf("the bill before planting has %d lines, want 4", len(before.Lines))
	}

	date := day.Format(time.DateOnly)
	plant := func(in map[string]string) map[string]any {
		in["date"] = date
		return b.control(t, "/alipay/sandbox/bill/plant", in, http.StatusOK)
	}
	plant(map[string]string{"kind": "extra_payment", "out_trade_no": "GHOST-1", "trade_no": "2026010122001499999999999999", "amount": "888"})
	plant(map[string]string{"kind": "drop", "out_trade_no": "PL-B"})
	plant(map[string]string{"kind": "amount", "out_trade_no": "PL-C", "amount": "500"})
	out := plant(map[string]string{"kind": "extra_refund", "out_trade_no": "PL-A", "amount": "100", "refund_no": "PL-A-R9"})
	if plants, _ := out["plants"].([]any); len(plants) != 4 {
		t.Fatalf("the answer lists %d plants, want 4: %v", len(plants), out)
	}

	// What the bill must say: the lines before, changed exactly as planted.
	var want []channel.BillLine
	for _, l := range before.Lines {
		switch {
		case l.OrderNo == "PL-B":
			continue
		case l.OrderNo == "PL-C":
			l.Amount = 500
		case l.OrderNo == "PL-A" && l.Kind == channel.BillPayment:
			want = append(want, channel.BillLine{Kind: channel.BillRefund, OrderNo: "PL-A", TradeNo: l.TradeNo,
				RefundNo: "PL-A-R9", Amount: 100, At: day.Add(18 * time.Hour)})
		}
		want = append(want, l)
	}
	want = append(want, channel.BillLine{Kind: channel.BillPayment, OrderNo: "GHOST-1", TradeNo: "2026010122001499999999999999",
		Amount: 888, At: day.Add(12 * time.Hour)})
	check := func(t *testing.T, bill channel.Bill) {
		t.Helper()
		if diff := cmp.Diff(want, bill.Lines, sameLines...); diff != "" {
			t.Errorf("planted bill mismatch (-want +got):\n%s", diff)
		}
		if bill.Payments != 3 || bill.PaymentTotal != 1990+500+888 || bill.Refunds != 2 || bill.RefundTotal != 980+100 {
			t.Errorf("planted bill: %d payments of %s, %d refunds of %s", bill.Payments, bill.PaymentTotal.Yuan(),
				bill.Refunds, bill.RefundTotal.Yuan())
		}
		if !slices.IsSortedFunc(bill.Lines, func(a, b channel.BillLine) int { return a.At.Compare(b.At) }) {
			t.Errorf("planted lines are not in time order: %+v", bill.Lines)
		}
	}
	check(t, parsedBill(t, b.cert, day))
	// The other app's bill has nothing planted, and that day nothing else.
	if _, err := b.pk.Bill(t.Context(), day); bursar.ErrorCode(err) != bursar.NotFound {
		t.Errorf("the public-key app's bill: %v, want not_found", err)
	}

	t.Run("after a restart", func(t *testing.T) {
		b.gw.Close()
		b2 := setup(t, withData)
		b2.clock.Advance(time.Duration(b.clock.offset.Load()))
		check(t, parsedBill(t, b2.cert, day))

		b2.control(t, "/alipay/sandbox/bill/plant", map[string]string{"kind": "clear", "date": date}, http.StatusOK)
		after := parsedBill(t, b2.cert, day)
		if diff := cmp.Diff(before.Lines, after.Lines); diff != "" {
			t.Errorf("cleared bill mismatch (-before +after):\n%s", diff)
		}
	})
}

// TestBillPlantOnlyDay: an extra payment makes a bill for a day with no
// trades at all.
func TestBillPlantOnlyDay(t *testing.T) {
	b := setup(t, func(c *alipaysandbox.Config) { c.TimestampSkew = 48 * time.Hour })
	day := noonBeijing(b.clock).Add(-36 * time.Hour)
	out := b.control(t, "/alipay/sandbox/bill/plant", map[string]string{"kind": "extra_payment", "amount": "1",
		"date": day.Format(time.DateOnly)}, http.StatusOK)
	p, _ := out["plant"].(map[string]any)
	if p["app_id"] != alipaysandbox.CertAppID || p["out_trade_no"] == "" || len(p["trade_no"].(string)) != 28 {
		t.Fatalf("plant = %v, want made-up numbers for the certificate app", p)
	}
	bill := parsedBill(t, b.cert, day)
	if len(bill.Lines) != 1 || bill.Lines[0].OrderNo != p["out_trade_no"] || bill.Lines[0].TradeNo != p["trade_no"] ||
		bill.Lines[0].Amount != 1 {
		t.Errorf("bill lines = %+v, want the planted payment", bill.Lines)
	}
}
