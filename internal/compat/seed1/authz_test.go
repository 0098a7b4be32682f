package seed1_test

import (
	"net/url"
	"testing"

	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestAnotherUsersObjects walks every route with another user's token
// (mallory's) naming the victim's objects. Each answer must be exactly the
// answer for an object that does not exist, and nothing of the victim's
// may change. A route added without a line here fails the test.
func TestAnotherUsersObjects(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		victim := w.tokens[buyer]
		w.withLoginPass()
		w.fund(buyer, 3, 50)
		order := func() string {
			return w.ok("initOrder", victim, form("userId", buyer, "skillId", skill, "chatId", chatID))["order"].(map[string]any)["_id"].(string)
		}
		pending, paid, done := order(), order(), order()
		w.ok("payByWallet", victim, form("payPass", payPass, "oid", paid))
		w.ok("payByWallet", victim, form("payPass", payPass, "oid", done))
		w.ok("confirmOrder", victim, form("id", done))
		w.fund(mallory, 1, 0)
		const missingOrder, nobody = "ord_doesnotexist", "nobody"

		// Each call twice: naming the victim's object, and naming one
		// that does not exist.
		type pair struct{ victims, missing url.Values }
		walk := map[string]pair{
			"initOrder": {form("userId", buyer, "skillId", skill),
				form("userId", nobody, "skillId", skill)},
			"payByWallet": {form("payPass", payPass, "oid", pending),
				form("payPass", payPass, "oid", missingOrder)},
			"payByPing": {form("oid", pending, "channel", "alipay"),
				form("oid", missingOrder, "channel", "alipay")},
			"withdrawCash": {form("payPass", payPass, "userId", buyer, "alipayNo", "m@example.com", "alipayName", "M"),
				form("payPass", payPass, "userId", nobody, "alipayNo", "m@example.com", "alipayName", "M")},
			"confirmOrder": {form("id", paid),
				form("id", missingOrder)},
			"setPayPass": {form("uid", buyer, "newPass", "111111", "oldPass", payPass),
				form("uid", nobody, "newPass", "111111", "oldPass", payPass)},
			"getOrderDetail": {form("oid", paid),
				form("oid", missingOrder)},
			"getOrder": {form("uid", buyer),
				form("uid", nobody)},
			"applyRefund": {form("oid", paid, "reason", "mine now"),
				form("oid", missingOrder, "reason", "mine now")},
			"getCash": {form("uid", buyer),
				form("uid", nobody)},
			"confirmPass": {form("uid", buyer, "pass", loginPass),
				form("uid", nobody, "pass", loginPass)},
			"shouldCreateNewTalk": {form("userId", buyer, "receiverId", seller, "skillId", skill),
				form("userId", nobody, "receiverId", seller, "skillId", skill)},
			"shouldContinueTalk": {form("chatId", chatID),
				form("chatId", "room_nobody")},
			"comment": {form("oid", done, "score", "1", "comment", "bad"),
				form("oid", missingOrder, "score", "1", "comment", "bad")},
		}
		for _, route := range w.seed.Routes() {
			name := route[len("POST /api/v1/"):]
			p, ok := walk[name]
			if !ok {
				t.Errorf("route %s is not in the authorization walk", route)
				continue
			}
			theirs := w.post(name, w.tokens[mallory], p.victims)
			none := w.post(name, w.tokens[mallory], p.missing)
			if string(theirs.body) != string(none.body) || theirs.status != none.status {
				t.Errorf("%s: another user's object answers %d %s, a missing one %d %s", name, theirs.status, theirs.body, none.status, none.body)
			}
			if theirs.status >= 500 {
				t.Errorf("%s: %d %s", name, theirs.status, theirs.body)
			}
		}

		// Nothing changed for the victim.
		info := w.ok("getCash", victim, form("uid", buyer))["info"].(map[string]any)
		if info["cash"] != 51.0 || info["withdrawCash"] != 50.0 {
			t.Errorf("the victim's wallet: %v, want cash 51 and withdrawCash 50", info)
		}
		for oid, want := range map[string]string{pending: "未支付", paid: "已付款", done: "已完成"} {
			if got := w.detail(oid)["status"]; got != want {
				t.Errorf("the victim's order %s is %v, want %s", oid, got, want)
			}
		}
		w.ok("confirmPass", victim, form("uid", buyer, "pass", loginPass))
		w.ok("comment", victim, form("oid", done, "score", "5"))
		w.ok("payByWallet", victim, form("payPass", payPass, "oid", pending)) // the password is unchanged
	})
}
