package seed1_test

import (
	"net/url"
	"testing"
	"time"

	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestPaymentFlow walks the seed's whole payment flow through seed 1's API
// only, as its apps do: a recharge paid in the WeChat app; a chat paid from
// the wallet, confirmed and commented; a chat paid in the Alipay app and
// released after 24 hours; a chat paid in the WeChat app and refunded; the
// seller's withdrawal to Alipay. The channels are the sandboxes, reached
// by the real adapters; only approving the refund, which the seed has no
// endpoint for, goes through Bursar's v1 API. The ledger is verified at
// the end (newWorld's cleanup).
func TestPaymentFlow(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		bt, st := w.tokens[buyer], w.tokens[payee]
		status := func(oid string) string { return w.detail(oid)["status"].(string) }
		waitStatus := func(oid, want string) {
			w.eventually("order "+oid+" to be "+want, func() bool { return status(oid) == want })
		}

		// A recharge of 50 yuan, paid in the WeChat app.
		rid := w.ok("initOrder", bt, form("type", "recharge", "amount", "5000", "userId", buyer))["order"].(map[string]any)["_id"].(string)
		charge := w.ok("payByPing", bt, form("oid", rid, "channel", "wx"))["charge"].(map[string]any)
		if wx := charge["credential"].(map[string]any)["wx"].(map[string]any); wx["prepayId"] == "" || wx["sign"] == "" {
			t.Fatalf("the wx credential cannot open WeChat: %v", wx)
		}
		w.control("/wechat/sandbox/pay", url.Values{"out_trade_no": {charge["order_no"].(string)}})
		waitStatus(rid, "已完成")
		w.clock.Advance(time.Second) // the services' clock stands still: orders made later must be newer
		if info := w.ok("getCash", bt, form("uid", buyer))["info"].(map[string]any); info["cash"] != 5000.0 || info["withdrawCash"] != 0.0 {
			t.Fatalf("after the recharge: %v", info)
		}

		// A chat paid from the wallet: open while paid, closed when the
		// buyer confirms, then commented.
		talk := form("userId", buyer, "receiverId", payee, "skillId", xxSkill)
		if got := w.ok("shouldCreateNewTalk", bt, talk)["chatId"]; got != 0.0 {
			t.Fatalf("a chat before any payment: %v", got)
		}
		o1 := w.ok("initOrder", bt, form("userId", buyer, "receiverId", payee, "skillId", xxSkill, "amount", "100", "chatId", "room_1",
			"subject", "购买xx服务"))["order"].(map[string]any)["_id"].(string)
		w.ok("payByWallet", bt, form("payPass", payPass, "userId", buyer, "oid", o1))
		if m := w.ok("shouldCreateNewTalk", bt, talk); m["chatId"] != "room_1" || m["oid"] != o1 {
			t.Fatalf("the open chat: %v", m)
		}
		if m := w.ok("shouldContinueTalk", st, form("chatId", "room_1")); m["should"] != true {
			t.Fatalf("the seller may not go on: %v", m)
		}
		w.ok("confirmOrder", bt, form("id", o1))
		if m := w.ok("shouldContinueTalk", bt, form("chatId", "room_1")); m["should"] != false {
			t.Errorf("the chat goes on after the buyer confirmed: %v", m)
		}
		w.ok("comment", bt, form("oid", o1, "score", "5", "comment", "很有帮助"))
		w.clock.Advance(time.Second)

		// A chat paid in the Alipay app: the app hands orderInfo to Alipay,
		// the buyer pays, Alipay tells Bursar; 24 hours later the money is
		// the seller's without a confirmation.
		m := w.ok("initOrder", bt, form("userId", buyer, "skillId", xxSkill, "chatId", "room_2", "channel", "alipay"))
		o2 := m["order"].(map[string]any)["_id"].(string)
		charge = m["charge"].(map[string]any)
		w.control("/alipay/cashier/app", url.Values{"order_string": {charge["credential"].(map[string]any)["alipay"].(map[string]any)["orderInfo"].(string)}})
		w.control("/alipay/sandbox/pay", url.Values{"out_trade_no": {charge["order_no"].(string)}})
		waitStatus(o2, "已付款")
		if d := w.detail(o2); d["channel"] != "alipay" || d["pingChargeId"] != charge["id"] {
			t.Errorf("paid by Alipay: channel %v, pingChargeId %v, want alipay and %v", d["channel"], d["pingChargeId"], charge["id"])
		}
		if m := w.ok("shouldContinueTalk", bt, form("chatId", "room_2")); m["should"] != true {
			t.Errorf("the paid chat may not go on: %v", m)
		}
		w.clock.Advance(24*time.Hour + time.Second)
		waitStatus(o2, "已完成")
		if m := w.ok("shouldContinueTalk", bt, form("chatId", "room_2")); m["should"] != false {
			t.Errorf("the chat goes on after 24 hours: %v", m)
		}
		w.ok("comment", bt, form("oid", o2, "score", "4"))

		// A chat paid in the WeChat app, then refunded.
		o3 := w.ok("initOrder", bt, form("userId", buyer, "skillId", xxSkill, "chatId", "room_3"))["order"].(map[string]any)["_id"].(string)
		charge = w.ok("payByPing", bt, form("oid", o3, "channel", "wx"))["charge"].(map[string]any)
		w.control("/wechat/sandbox/pay", url.Values{"out_trade_no": {charge["order_no"].(string)}})
		waitStatus(o3, "已付款")
		if d := w.detail(o3); d["channel"] != "wx" {
			t.Errorf("paid by WeChat: channel %v", d["channel"])
		}
		w.ok("applyRefund", bt, form("oid", o3, "reason", "没有回复"))
		if got := status(o3); got != "退款申请中" {
			t.Errorf("after applyRefund: %s", got)
		}
		w.approveRefund(o3)
		waitStatus(o3, "退款成功")
		if m := w.ok("shouldContinueTalk", bt, form("chatId", "room_3")); m["should"] != false {
			t.Errorf("a refunded chat goes on: %v", m)
		}

		// The seller withdraws two sales less the 10% commission.
		if info := w.ok("getCash", st, form("uid", payee))["info"].(map[string]any); info["withdrawCash"] != 180.0 || info["cash"] != 180.0 {
			t.Fatalf("the seller's wallet: %v, want 180 withdrawable", info)
		}
		wd := w.ok("withdrawCash", st, form("payPass", payPass, "userId", payee, "alipayNo", "teacher@example.com", "alipayName", "张三"))
		wid := wd["order"].(map[string]any)["_id"].(string)
		w.eventually("the withdrawal", func() bool {
			list := w.ok("getOrder", st, form("type", "withdrawals", "status", "提现成功"))["orders"].([]any)
			return len(list) == 1 && list[0].(map[string]any)["_id"] == wid
		})
		if info := w.ok("getCash", st, form("uid", payee))["info"].(map[string]any); info["withdrawCash"] != 0.0 || info["cash"] != 0.0 {
			t.Errorf("the seller's wallet after withdrawing: %v", info)
		}

		// The buyer's orders, newest first, as the app lists them.
		var got []string
		for _, o := range w.ok("getOrder", bt, form("pageSize", "10"))["orders"].([]any) {
			got = append(got, o.(map[string]any)["type"].(string)+" "+o.(map[string]any)["status"].(string))
		}
		want := []string{"deal 退款成功", "deal 已完成", "deal 已完成", "recharge 已完成"}
		if len(got) != len(want) {
			t.Fatalf("the buyer's orders: %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("the buyer's orders: %v, want %v", got, want)
				break
			}
		}
		if info := w.ok("getCash", bt, form("uid", buyer))["info"].(map[string]any); info["cash"] != 4900.0 {
			t.Errorf("the buyer's wallet: %v, want 4900", info)
		}
	})
}
