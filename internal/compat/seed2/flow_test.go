package seed2_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestCoursePlatformFlow walks seed 2's whole payment flow through its API
// only, as the course platform's apps use it: albums bought and paid at
// Alipay and WeChat Pay through the sandboxes, by the app's own integration
// with its result callback and through the payment create starts; a free
// album; an album already owned; a result for a payment the channel never
// saw; escrow released to the teacher after the hold; the teacher's list of
// sold orders. The ledger is verified at the end.
func TestCoursePlatformFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		// The sandboxes sign and expire with the real clock, so Bursar's
		// starts at it; the test moves it only to make the release due.
		w := newWorld(t, db, time.Now().UTC().Truncate(time.Second))
		buyer, seller := w.tokens[student], w.tokens[teacher]
		// Each order is created a second after the last, so lists have one order.
		tick := func() { w.clock.Advance(time.Second) }
		get := func(o map[string]any) map[string]any {
			t.Helper()
			return item(t, w.get("/orders/get?id="+o["id"].(string), buyer))
		}

		// The app buys album 3 (a JSON post), pays at Alipay by itself and
		// reports the result (a form post).
		a := item(t, w.do("POST", "/orders/create", buyer, "application/json", `{"album_id":"3"}`).json(t))
		if a["status"] != json.Number("0") || a["amount"] != "88.88" {
			t.Fatalf("create album 3: %v", a)
		}
		tick()
		third, payer := w.appPays(bursar.ChannelAlipay, a["trade_no"].(string), 8888)
		v := url.Values{"result": {"SUCCESS"}, "trade_no": {a["trade_no"].(string)}, "third_trade_no": {third},
			"third_buyer_id": {payer}, "amount": {"88.88"}}
		if m := w.do("POST", "/orders/alipay", buyer, "application/x-www-form-urlencoded", v.Encode()).json(t); m["code"] != json.Number("0") {
			t.Fatalf("the Alipay result: %v", m)
		}
		if got := get(a); got["pay_status"] != "2" || got["servicer"] != "2" || got["third_trade_no"] != third || got["third_buyer_id"] != payer {
			t.Errorf("album 3 after the Alipay result: %v", got)
		}

		// Album 4 with servicer=1: Bursar starts the WeChat Pay payment and
		// the app takes pay_params to WeChat's SDK. WeChat Pay's notification
		// to Bursar pays the order; the app's result after it changes nothing.
		b := item(t, w.get("/orders/create?album_id=4&servicer=1", buyer))
		if params, _ := b["pay_params"].(map[string]any); b["status"] != json.Number("0") || params["prepayid"] == nil {
			t.Fatalf("create album 4 with servicer 1: %v", b)
		}
		tick()
		res := w.control("/wechat/sandbox/pay", url.Values{"out_trade_no": {b["trade_no"].(string)}})
		w.eventually("album 4 to be paid by WeChat Pay's notification", func() bool { return get(b)["pay_status"] == "2" })
		if m := w.get("/orders/wxpay?result=2&trade_no="+b["trade_no"].(string)+"&third_trade_no="+res["transaction_id"].(string), buyer); len(m) != 1 {
			t.Errorf("the WeChat Pay result after the notification: %v", m)
		}
		if got := get(b); got["servicer"] != "1" || got["third_trade_no"] != res["transaction_id"] {
			t.Errorf("album 4 after WeChat Pay: %v", got)
		}

		// Album 5 with servicer=2: the app hands order_string to Alipay's SDK.
		c := item(t, w.get("/orders/create?album_id=5&servicer=2", buyer))
		if c["status"] != json.Number("0") || c["order_string"] == nil {
			t.Fatalf("create album 5 with servicer 2: %v", c)
		}
		tick()
		w.control("/alipay/sandbox/pay", url.Values{"order_string": {c["order_string"].(string)}})
		w.eventually("album 5 to be paid by Alipay's notification", func() bool { return get(c)["pay_status"] == "2" })

		// A free album is complete at once; an owned one answers the order
		// that bought it.
		free := w.create("1", buyer)
		tick()
		if free["status"] != json.Number("2") || free["amount"] != "0.00" {
			t.Errorf("a free album: %v", free)
		}
		if got := get(free); got["pay_status"] != "2" || got["servicer"] != nil || got["price"] != "0.00" {
			t.Errorf("the free album's order: %v", got)
		}
		owned := w.create("3", buyer)
		tick()
		if owned["status"] != json.Number("2") || owned["id"] != a["id"] || owned["trade_no"] != a["trade_no"] {
			t.Errorf("an owned album: %v, want the order %v", owned, a["id"])
		}

		// Another student reports a payment the channel never saw: refused.
		lie := w.create("3", w.tokens[mallory])
		tick()
		m := w.do("GET", "/orders/wxpay?result=2&trade_no="+lie["trade_no"].(string), w.tokens[mallory], "", "").json(t)
		if m["code"] != json.Number("5") || m["err_desc"] != "支付平台没有该订单的支付记录" {
			t.Errorf("a result for a payment the channel never saw: %v", m)
		}

		// Nothing is released before the hold ends; after it, everything paid is.
		ctx := context.Background()
		earnings := func() bursar.Amount {
			t.Helper()
			wal, err := w.wallets.Get(ctx, w.platform, teacher)
			must(t, err)
			return wal.Earnings.Amount
		}
		w.runJobs()
		if got := earnings(); got != 0 {
			t.Fatalf("the teacher earned %d before the hold ended", got)
		}
		w.clock.Advance(2*time.Hour + time.Minute)
		var want bursar.Amount
		for _, amount := range []bursar.Amount{8888, 1990, 6600} {
			want += amount - bursar.Commission(amount, 1000)
		}
		w.eventually("the escrow to be released", func() bool { return earnings() == want })
		for _, o := range []map[string]any{a, b, c} {
			got, err := w.orders.Get(ctx, w.platform, bursar.OrderID(o["id"].(string)))
			must(t, err)
			if got.Status != bursar.OrderCompleted {
				t.Errorf("order %s is %s after the hold", got.ID, got.Status)
			}
		}

		// The teacher's list shows what was sold, newest first, page by page;
		// the unpaid order of the other student closed at its expiry.
		var sold []map[string]any
		for page := 1; page <= 3; page++ {
			d := w.get("/orders/list?page_size=2&page="+string(rune('0'+page)), seller)["data"].(map[string]any)
			for _, it := range d["items"].([]any) {
				sold = append(sold, it.(map[string]any))
			}
		}
		want5 := []struct {
			order     map[string]any
			payStatus string
			servicer  any
		}{{lie, "0", nil}, {free, "2", nil}, {c, "2", "2"}, {b, "2", "1"}, {a, "2", "2"}}
		if len(sold) != len(want5) {
			t.Fatalf("the teacher's list has %d orders, want %d: %v", len(sold), len(want5), sold)
		}
		for i, wo := range want5 {
			got := sold[i]
			if got["id"] != wo.order["id"] || got["pay_status"] != wo.payStatus || got["servicer"] != wo.servicer || got["puber_id"] != teacher {
				t.Errorf("sold order %d: %v, want %v with pay_status %s", i, got, wo.order["id"], wo.payStatus)
			}
		}
		if got, err := w.orders.Get(ctx, w.platform, bursar.OrderID(lie["id"].(string))); err != nil || got.Status != bursar.OrderClosed {
			t.Errorf("the unpaid order after its expiry: %v %v", got.Status, err)
		}
	})
}
