package seed2_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestCallbacksAreCheckedWithTheChannel checks that a payment result from
// the app settles nothing by itself: the channel's answer to Bursar's query
// decides, a report that disagrees with it is refused and logged, and the
// same report sent many times at once pays the order once.
func TestCallbacksAreCheckedWithTheChannel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db, seedTime)
		buyer := w.tokens[student]
		report := func(path string, v url.Values) map[string]any {
			t.Helper()
			return w.do("POST", path, buyer, "application/x-www-form-urlencoded", v.Encode()).json(t)
		}
		status := func(o map[string]any) string {
			t.Helper()
			return item(t, w.get("/orders/get?id="+o["id"].(string), buyer))["pay_status"].(string)
		}
		refused := func(name string, got map[string]any, code, desc string, o map[string]any) {
			t.Helper()
			if got["code"] != json.Number(code) || got["err_desc"] != desc {
				t.Errorf("%s: %v, want code %s %q", name, got, code, desc)
			}
			if !strings.Contains(w.logs.String(), `msg="seed 2 payment report refused" channel=`) ||
				!strings.Contains(w.logs.String(), "order="+o["id"].(string)) {
				t.Errorf("%s: the refusal was not logged:\n%s", name, w.logs.String())
			}
		}

		// The channel never saw the order.
		never := w.create("4", buyer)
		got := report("/orders/wxpay", url.Values{"result": {"2"}, "trade_no": {never["trade_no"].(string)}})
		refused("a payment the channel never saw", got, "5", "支付平台没有该订单的支付记录", never)
		if s := status(never); s != "0" {
			t.Errorf("the order the channel never saw is pay_status %s", s)
		}

		// The channel has the trade, but the buyer has not paid it.
		unpaid := w.create("3", buyer)
		_, err := w.chans[bursar.ChannelWeChat].Pay(context.Background(), channel.PayRequest{OrderNo: unpaid["trade_no"].(string),
			Amount: bursar.Money{Amount: 8888, Currency: bursar.CNY}, Subject: "课程", Method: channel.WeChatNative,
			ExpiresAt: w.clock.Now().AddDate(10, 0, 0), NotifyURL: w.url + "/app-server/notify"})
		must(t, err)
		got = report("/orders/wxpay", url.Values{"result": {"SUCCESS"}, "trade_no": {unpaid["trade_no"].(string)}})
		refused("a payment not made yet", got, "6", "支付平台尚未确认该订单已支付", unpaid)

		// The channel was paid less than the order.
		short := w.create("3", buyer)
		third, _ := w.appPays(bursar.ChannelAlipay, short["trade_no"].(string), 1)
		got = report("/orders/alipay", url.Values{"result": {"SUCCESS"}, "trade_no": {short["trade_no"].(string)},
			"third_trade_no": {third}, "amount": {"88.88"}})
		refused("an underpaid order", got, "4", "支付结果与支付平台记录不符", short)
		if s := status(short); s != "0" {
			t.Errorf("the underpaid order is pay_status %s", s)
		}

		// The channel was paid in full, but the report says otherwise: the
		// order follows the channel and the report is refused.
		paid := w.create("5", buyer)
		third, _ = w.appPays(bursar.ChannelAlipay, paid["trade_no"].(string), 6600)
		got = report("/orders/alipay", url.Values{"result": {"SUCCESS"}, "trade_no": {paid["trade_no"].(string)},
			"third_trade_no": {third}, "amount": {"0.01"}})
		refused("a report of another amount", got, "4", "amount 与订单金额不符", paid)
		got = report("/orders/alipay", url.Values{"result": {"SUCCESS"}, "trade_no": {paid["trade_no"].(string)},
			"third_trade_no": {"2018070521001004000000000000"}})
		refused("a report of another trade", got, "4", "third_trade_no 与支付平台记录不符", paid)
		// Reported at the other channel, which never saw it.
		got = report("/orders/wxpay", url.Values{"result": {"2"}, "trade_no": {paid["trade_no"].(string)}})
		refused("a report at the wrong channel", got, "5", "支付平台没有该订单的支付记录", paid)
		if s := status(paid); s != "2" {
			t.Errorf("the order the channel says is paid is pay_status %s", s)
		}

		// The right report, eight times at once: one payment in the ledger.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				v := url.Values{"result": {"SUCCESS"}, "trade_no": {paid["trade_no"].(string)}, "third_trade_no": {third}, "amount": {"66.00"}}
				if m := w.do("POST", "/orders/alipay", buyer, "application/x-www-form-urlencoded", v.Encode()).json(t); m["code"] != json.Number("0") {
					t.Errorf("a repeated report: %v", m)
				}
			})
		}
		wg.Wait()
		_, es, err := w.orders.GetWithEntries(context.Background(), w.platform, bursar.OrderID(paid["id"].(string)))
		must(t, err)
		if len(es) != 1 || es[0].Kind != "channel_pay" {
			t.Errorf("ledger entries of the order reported nine times: %+v", es)
		}

		// A failure report asks the channel too: a payment the app thought
		// failed is found and the order paid; one that did fail changes nothing.
		thought := w.create("4", buyer)
		w.appPays(bursar.ChannelWeChat, thought["trade_no"].(string), 1990)
		if got := report("/orders/wxpay", url.Values{"result": {"FAIL"}, "trade_no": {thought["trade_no"].(string)}}); got["code"] != json.Number("0") {
			t.Errorf("a failure report: %v", got)
		}
		if s := status(thought); s != "2" {
			t.Errorf("an order paid at the channel but reported failed is pay_status %s", s)
		}
		if got := report("/orders/alipay", url.Values{"result": {"6001"}, "trade_no": {never["trade_no"].(string)}}); got["code"] != json.Number("0") {
			t.Errorf("a failure report of a payment never made: %v", got)
		}
		if s := status(never); s != "0" {
			t.Errorf("the order reported failed is pay_status %s", s)
		}
		// A failure report of the underpaid order is heard too (code 0): the
		// app logs any other answer as an error of its own.
		if got := report("/orders/alipay", url.Values{"result": {"FAIL"}, "trade_no": {short["trade_no"].(string)}}); got["code"] != json.Number("0") {
			t.Errorf("a failure report of an underpaid order: %v", got)
		}
		if s := status(short); s != "0" {
			t.Errorf("the underpaid order reported failed is pay_status %s", s)
		}
	})
}
