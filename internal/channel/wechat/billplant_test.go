package wechat_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/channel"
	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
	"bursar.dev/bursar/internal/channel/wechat"
)

// parsedBill downloads the bill of day through ch and parses it.
func parsedBill(t *testing.T, ch *wechat.Channel, day time.Time) channel.Bill {
	t.Helper()
	data, err := ch.Bill(t.Context(), day)
	if err != nil {
		t.Fatalf("Bill() error = %v", err)
	}
	bill, err := wechat.ParseBill(day, data)
	if err != nil {
		t.Fatalf("ParseBill() error = %v\n%s", err, data)
	}
	checkTotals(t, bill)
	return bill
}

// TestBillPlants plants each kind of difference through the control call
// and checks that the parsed bill shows exactly those differences, with a
// summary that agrees (ParseBill checks it), again after a restart, and
// none once they are cleared.
func TestBillPlants(t *testing.T) {
	dataDir := t.TempDir()
	withData := func(c *wechatsandbox.Config) { c.DataDir = dataDir }
	b := setup(t, withData)
	rcv := newReceiver(t, b.ch)
	a, bb, c := b.paid(t, rcv, 1990), b.paid(t, rcv, 167), b.paid(t, rcv, 1)
	if _, err := b.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: a, RefundNo: "R1-" + a, Amount: cny(980), Total: cny(1990)}); err != nil {
		t.Fatal(err)
	}
	b.settled(t, a, "R1-"+a)
	y, m, d := b.sandboxState(t).Trades[a].SuccessTime.In(bj).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, bj)
	before := parsedBill(t, b.ch, day)

	date := day.Format(time.DateOnly)
	plant := func(form url.Values) map[string]any {
		form.Set("date", date)
		var out map[string]any
		if err := json.Unmarshal([]byte(b.mustControl(t, "/wechat/sandbox/bill/plant", form)), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	plant(url.Values{"kind": {"extra_payment"}, "out_trade_no": {"GHOST-1"}, "transaction_id": {"4200000000202601019999999999"}, "amount": {"888"}})
	plant(url.Values{"kind": {"drop"}, "out_trade_no": {bb}})
	plant(url.Values{"kind": {"amount"}, "out_trade_no": {c}, "amount": {"500"}})
	out := plant(url.Values{"kind": {"extra_refund"}, "out_trade_no": {a}, "amount": {"100"}, "out_refund_no": {"R9-" + a}})
	if plants, _ := out["plants"].([]any); len(plants) != 4 {
		t.Fatalf("the answer lists %d plants, want 4: %v", len(plants), out)
	}

	// What the bill must say: the lines before, changed exactly as planted.
	// A planted line has the sandbox's fee; a changed amount keeps its fee.
	var want []channel.BillLine
	for _, l := range before.Lines {
		switch {
		case l.OrderNo == bb:
			continue
		case l.OrderNo == c:
			l.Amount = 500
		case l.OrderNo == a && l.Kind == channel.BillPayment:
			want = append(want, channel.BillLine{Kind: channel.BillRefund, OrderNo: a, TradeNo: l.TradeNo,
				RefundNo: "R9-" + a, Amount: 100, Fee: -sandboxFee(100), At: day.Add(18 * time.Hour)})
		}
		want = append(want, l)
	}
	want = append(want, channel.BillLine{Kind: channel.BillPayment, OrderNo: "GHOST-1", TradeNo: "4200000000202601019999999999",
		Amount: 888, Fee: sandboxFee(888), At: day.Add(12 * time.Hour)})
	check := func(t *testing.T, bill channel.Bill) {
		t.Helper()
		if diff := cmp.Diff(want, bill.Lines, sameLines...); diff != "" {
			t.Errorf("planted bill mismatch (-want +got):\n%s", diff)
		}
		if totals := (channel.Bill{Lines: want}); bill.PaymentTotal != 1990+500+888 || !sameTotals(bill, totals) {
			t.Errorf("planted bill: %d payments of %s, %d refunds of %s", bill.Payments, bill.PaymentTotal.Yuan(),
				bill.Refunds, bill.RefundTotal.Yuan())
		}
	}
	check(t, parsedBill(t, b.ch, day))

	t.Run("after a restart", func(t *testing.T) {
		b.gw.Close()
		b2 := setup(t, withData)
		check(t, parsedBill(t, b2.ch, day))

		b2.mustControl(t, "/wechat/sandbox/bill/plant", url.Values{"kind": {"clear"}, "date": {date}})
		after := parsedBill(t, b2.ch, day)
		if diff := cmp.Diff(before.Lines, after.Lines); diff != "" {
			t.Errorf("cleared bill mismatch (-before +after):\n%s", diff)
		}
	})
}

// sameTotals reports whether bill has the totals of want's lines.
func sameTotals(bill, want channel.Bill) bool {
	for _, l := range want.Lines {
		if l.Kind == channel.BillPayment {
			want.Payments, want.PaymentTotal = want.Payments+1, want.PaymentTotal+l.Amount
		} else {
			want.Refunds, want.RefundTotal = want.Refunds+1, want.RefundTotal+l.Amount
		}
		want.FeeTotal += l.Fee
	}
	return bill.Payments == want.Payments && bill.PaymentTotal == want.PaymentTotal && bill.Refunds == want.Refunds &&
		bill.RefundTotal == want.RefundTotal && bill.FeeTotal == want.FeeTotal
}

// TestBillPlantOnlyDay: an extra payment makes a bill for a day with no
// trades at all, with numbers the sandbox makes up.
func TestBillPlantOnlyDay(t *testing.T) {
	b := setup(t)
	day := time.Now().In(bj).AddDate(0, 0, -1)
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, bj)
	var out struct {
		Plant struct {
			OutTradeNo    string `json:"out_trade_no"`
			TransactionID string `json:"transaction_id"`
		}
	}
	body := b.mustControl(t, "/wechat/sandbox/bill/plant", url.Values{"kind": {"extra_payment"}, "amount": {"1"},
		"date": {day.Format(time.DateOnly)}})
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.Plant.OutTradeNo == "" || len(out.Plant.TransactionID) != 28 {
		t.Fatalf("plant = %s, want made-up numbers", body)
	}
	bill := parsedBill(t, b.ch, day)
	if len(bill.Lines) != 1 || bill.Lines[0].OrderNo != out.Plant.OutTradeNo || bill.Lines[0].TradeNo != out.Plant.TransactionID ||
		bill.Lines[0].Amount != 1 {
		t.Errorf("bill lines = %+v, want the planted payment", bill.Lines)
	}
	if status, _ := b.control(t, "/wechat/sandbox/bill/plant", url.Values{"kind": {"drop"}, "out_trade_no": {"NOPE"},
		"date": {day.Format(time.DateOnly)}}); status != http.StatusNotFound {
		t.Errorf("dropping an unknown trade: %d, want 404", status)
	}
}
