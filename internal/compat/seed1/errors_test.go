package seed1_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/compat/seed1"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestBadInput sends every parameter of every endpoint wrong in each way it
// can be wrong and checks the seed's code and a Chinese message that says
// what is wrong. None is answered with a 500 or a success.
func TestBadInput(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		w.fund(payer, 100, 0)
		w.fund(seller, 0, 50)
		pt, st, key := w.tokens[payer], w.tokens[seller], w.key
		newOrder := func() string {
			return w.ok("initOrder", pt, form("userId", payer, "skillId", xxSkill, "chatId", "room_1"))["order"].(map[string]any)["_id"].(string)
		}
		pending, paid := newOrder(), newOrder()
		w.ok("payByWallet", pt, form("payPass", payPass, "oid", paid))
		broke := newOrder() // the wallet is empty now
		noPass := w.userWithoutPasswords("nopass")
		w.fund("nopass", 100, 0)
		theirs := w.ok("initOrder", noPass, form("skillId", xxSkill))["order"].(map[string]any)["_id"].(string)
		long := strings.Repeat("长", 129)

		tests := []struct {
			name, endpoint, token string
			params                url.Values
			json                  string // sent instead of params when set
			code                  int
			msg                   string // a part of the message
		}{
			{"a deal with no payee", "initOrder", pt, form("userId", payer, "amount", "100"), "", 8, "receiverId"},
			{"a user's deal with no skill", "initOrder", pt, form("userId", payer, "receiverId", payee, "amount", "100", "subject", "x"), "", 2, "skillId"},
			{"an unknown skill", "initOrder", pt, form("skillId", "nope"), "", 2, "找不到此技能"},
			{"an amount that is not a number", "initOrder", pt, form("skillId", xxSkill, "amount", "abc"), "", 12, "amount"},
			{"an amount in yuan", "initOrder", pt, nil, `{"skillId":"` + xxSkill + `","amount":1.5}`, 12, "amount"},
			{"a stale price", "initOrder", pt, form("skillId", xxSkill, "amount", "90"), "", 2, "100 分"},
			{"a payee who does not sell the skill", "initOrder", pt, form("skillId", xxSkill, "receiverId", seller), "", 2, "receiverId"},
			{"an unknown type", "initOrder", pt, form("type", "withdrawals", "amount", "100"), "", 2, "type"},
			{"an unknown channel", "initOrder", pt, form("skillId", xxSkill, "channel", "paypal"), "", 2, "channel"},
			{"a recharge without an amount", "initOrder", pt, form("type", "recharge", "channel", "wx"), "", 2, "amount"},
			{"a recharge of nothing", "initOrder", pt, form("type", "recharge", "amount", "0", "channel", "wx"), "", 2, "amount"},
			{"a recharge from the wallet", "initOrder", pt, form("type", "recharge", "amount", "100", "channel", "wallet"), "", 2, "充值"},
			{"a subject too long", "initOrder", pt, form("skillId", xxSkill, "subject", long), "", 2, "subject"},
			{"a chat id too long", "initOrder", pt, form("skillId", xxSkill, "chatId", strings.Repeat("r", 501)), "", 2, "chatId"},
			{"buying one's own skill", "initOrder", w.tokens[payee], form("skillId", xxSkill), "", 2, "自己"},
			{"a skill id that is an object", "initOrder", pt, nil, `{"skillId":{"$ne":""}}`, 12, "skillId"},
			{"the platform without a payer", "initOrder", key, form("skillId", xxSkill), "", 2, "userId"},
			{"the platform for no one", "initOrder", key, form("userId", "nobody", "skillId", xxSkill), "", 7, "此人不存在"},
			{"the platform paying no one", "initOrder", key, form("userId", payer, "receiverId", "nobody", "amount", "100", "subject", "x"), "", 7, "此人不存在"},
			{"the platform with no amount", "initOrder", key, form("userId", payer, "receiverId", payee, "subject", "x"), "", 2, "amount"},
			{"the platform with no subject", "initOrder", key, form("userId", payer, "receiverId", payee, "amount", "100"), "", 2, "subject"},
			{"the platform with a zero amount", "initOrder", key, form("userId", payer, "receiverId", payee, "amount", "0", "subject", "x"), "", 2, "amount"},

			{"no payment password", "payByWallet", pt, form("oid", pending), "", 2, "payPass"},
			{"no order", "payByWallet", pt, form("payPass", payPass), "", 2, "oid"},
			{"an order id too long", "payByWallet", pt, form("payPass", payPass, "oid", strings.Repeat("o", 65)), "", 2, "oid"},
			{"a missing order", "payByWallet", pt, form("payPass", payPass, "oid", "ord_nope"), "", 6, "找不到此订单"},
			{"another payer", "payByWallet", pt, form("payPass", payPass, "oid", pending, "userId", payee), "", 7, "此人不存在"},
			{"an order sold, not bought", "payByWallet", w.tokens[payee], form("payPass", payPass, "oid", pending), "", 6, "找不到此订单"},
			{"a wrong payment password", "payByWallet", pt, form("payPass", "000000", "oid", pending), "", 4, "支付密码错误"},
			{"a paid order", "payByWallet", pt, form("payPass", payPass, "oid", paid), "", 2, "已支付"},
			{"an empty wallet", "payByWallet", pt, form("payPass", payPass, "oid", broke), "", 10, "余额不足"},
			{"no payment password set", "payByWallet", noPass, form("payPass", payPass, "oid", theirs), "", 4, "请先设置支付密码"},

			{"no channel", "payByPing", pt, form("oid", pending), "", 2, "channel"},
			{"an unknown channel", "payByPing", pt, form("oid", pending, "channel", "upacp"), "", 2, "channel"},
			{"no order", "payByPing", pt, form("channel", "wx"), "", 2, "oid"},
			{"a paid order", "payByPing", pt, form("oid", paid, "channel", "wx"), "", 2, "已支付"},
			{"an order sold, not bought", "payByPing", w.tokens[payee], form("oid", pending, "channel", "wx"), "", 6, "找不到此订单"},

			{"no Alipay account", "withdrawCash", st, form("payPass", payPass, "alipayName", "郭利军"), "", 8, "alipayNo"},
			{"no Alipay name", "withdrawCash", st, form("payPass", payPass, "alipayNo", "g@example.com"), "", 8, "alipayName"},
			{"no payment password", "withdrawCash", st, form("alipayNo", "g@example.com", "alipayName", "郭利军"), "", 2, "payPass"},
			{"an amount that is not a number", "withdrawCash", st, form("payPass", payPass, "alipayNo", "g@example.com", "alipayName", "郭", "amount", "all"), "", 12, "amount"},
			{"a zero amount", "withdrawCash", st, form("payPass", payPass, "alipayNo", "g@example.com", "alipayName", "郭", "amount", "0"), "", 2, "amount"},
			{"more than the earnings", "withdrawCash", st, form("payPass", payPass, "alipayNo", "g@example.com", "alipayName", "郭", "amount", "51"), "", 10, "余额不足"},
			{"less than Alipay pays out", "withdrawCash", st, form("payPass", payPass, "alipayNo", "g@example.com", "alipayName", "郭", "amount", "5"), "", 2, "0.10"},
			{"nothing to withdraw", "withdrawCash", pt, form("payPass", payPass, "alipayNo", "p@example.com", "alipayName", "P"), "", 10, "没有可提现的金额"},
			{"a wrong payment password", "withdrawCash", st, form("payPass", "000000", "alipayNo", "g@example.com", "alipayName", "郭", "amount", "20"), "", 4, "支付密码错误"},
			{"another user's earnings", "withdrawCash", st, form("payPass", payPass, "userId", payer, "alipayNo", "g@example.com", "alipayName", "郭"), "", 7, "此人不存在"},

			{"no order", "confirmOrder", pt, nil, "", 2, "id"},
			{"an unpaid order", "confirmOrder", pt, form("id", pending), "", 2, "已付款"},
			{"a missing order", "confirmOrder", pt, form("id", "ord_nope"), "", 6, "找不到此订单"},
			{"the seller confirming", "confirmOrder", w.tokens[payee], form("oid", paid), "", 6, "找不到此订单"},

			{"no new password", "setPayPass", pt, form("uid", payer), "", 2, "newPass"},
			{"a new password of letters", "setPayPass", pt, form("uid", payer, "newPass", "abcdef", "oldPass", payPass), "", 2, "6 位数字"},
			{"a new password too short", "setPayPass", pt, form("uid", payer, "newPass", "12345", "oldPass", payPass), "", 2, "6 位数字"},
			{"another user's", "setPayPass", pt, form("uid", payee, "newPass", "123456", "oldPass", payPass), "", 7, "此人不存在"},

			{"no order", "getOrderDetail", pt, nil, "", 2, "oid"},
			{"a missing order", "getOrderDetail", pt, form("oid", "ord_nope"), "", 6, "找不到此订单"},

			{"an unknown type", "getOrder", pt, form("type", "purchase"), "", 2, "type"},
			{"an unknown status", "getOrder", pt, form("status", "paid"), "", 2, "status"},
			{"page 0", "getOrder", pt, form("pageNo", "0"), "", 2, "pageNo"},
			{"a page too deep", "getOrder", pt, form("pageNo", "1002", "pageSize", "10"), "", 2, "pageNo"},
			{"a page too large", "getOrder", pt, form("pageSize", "101"), "", 2, "pageSize"},
			{"a page size that is not a number", "getOrder", pt, form("pageSize", "ten"), "", 12, "pageSize"},
			{"a status that is a list", "getOrder", pt, nil, `{"status":["已付款"]}`, 12, "status"},

			{"no reason", "applyRefund", pt, form("oid", paid), "", 2, "reason"},
			{"a reason too long", "applyRefund", pt, form("oid", paid, "reason", strings.Repeat("长", 501)), "", 2, "reason"},
			{"no order", "applyRefund", pt, form("reason", "x"), "", 2, "oid"},
			{"the seller asking", "applyRefund", w.tokens[payee], form("oid", paid, "reason", "x"), "", 2, "付款人"},
			{"an unpaid order", "applyRefund", pt, form("oid", pending, "reason", "x"), "", 2, "已付款"},

			{"the platform without a user", "getCash", key, nil, "", 2, "uid"},
			{"the platform for no one", "getCash", key, form("uid", "nobody"), "", 7, "此人不存在"},
			{"a malformed user id", "getCash", key, form("uid", "no body"), "", 7, "此人不存在"},

			{"no password", "confirmPass", pt, form("uid", payer), "", 2, "pass"},
			{"no login password set", "confirmPass", noPass, form("pass", loginPass), "", 4, "密码错误"},

			{"no payee", "shouldCreateNewTalk", pt, form("skillId", skill), "", 2, "receiverId"},
			{"no skill", "shouldCreateNewTalk", pt, form("receiverId", seller), "", 2, "skillId"},
			{"an unknown skill", "shouldCreateNewTalk", pt, form("receiverId", seller, "skillId", "nope"), "", 2, "找不到此技能"},

			{"no chat", "shouldContinueTalk", pt, nil, "", 2, "chatId"},
			{"a chat id too long", "shouldContinueTalk", pt, form("chatId", strings.Repeat("r", 501)), "", 2, "chatId"},

			{"no order", "comment", pt, form("score", "5"), "", 2, "oid"},
			{"no score", "comment", pt, form("oid", paid), "", 2, "score"},
			{"a score that is not a number", "comment", pt, form("oid", paid, "score", "five"), "", 12, "score"},
			{"a score of 4.5", "comment", pt, form("oid", paid, "score", "4.5"), "", 12, "score"},
			{"a score of 6", "comment", pt, form("oid", paid, "score", "6"), "", 2, "score"},
			{"a score of 0", "comment", pt, form("oid", paid, "score", "0"), "", 2, "score"},
			{"a comment too long", "comment", pt, form("oid", paid, "score", "5", "comment", strings.Repeat("长", 2001)), "", 2, "comment"},
			{"a paid, not completed order", "comment", pt, form("oid", paid, "score", "5"), "", 2, "已完成"},

			{"no credential", "getCash", "", form("uid", payer), "", 2, "accessToken"},
			{"a made-up token", "getCash", "ut_NOPE", form("uid", payer), "", 2, "accessToken"},
			{"a platform key made up", "getCash", "sk_NOPE", form("uid", payer), "", 2, "accessToken"},
			{"a body that is not JSON", "getCash", pt, nil, `{"uid":`, 2, "JSON"},
			{"a body of two JSON values", "getCash", pt, nil, `{} {}`, 2, "JSON"},
			{"a JSON array", "getCash", pt, nil, `[1]`, 2, "JSON"},
		}
		for _, tt := range tests {
			t.Run(tt.endpoint+" "+tt.name, func(t *testing.T) {
				var a answer
				if tt.json != "" {
					a = w.postJSON(tt.endpoint, tt.token, tt.json)
				} else {
					a = w.post(tt.endpoint, tt.token, tt.params)
				}
				checkRefusal(t, a, http.StatusOK, tt.code, tt.msg)
			})
		}

		// Transport: a body too large, a GET, an unknown endpoint.
		big := w.postJSON("getCash", pt, `{"uid":"`+strings.Repeat("x", 1<<20)+`"}`)
		checkRefusal(t, big, http.StatusOK, 2, "请求体超过")
		req, err := http.NewRequest("GET", w.srv.URL+seed1.Prefix+"getCash?uid="+payer, nil)
		must(t, err)
		req.Header.Set("Authorization", "Bearer "+pt)
		checkRefusal(t, w.do(req), http.StatusNotFound, 2, "POST")
		checkRefusal(t, w.post("getcash", pt, form("uid", payer)), http.StatusNotFound, 2, "没有此接口")
	})
}

// checkRefusal checks a refusal's envelope, code and message.
func checkRefusal(t *testing.T, a answer, status, code int, msg string) {
	t.Helper()
	m := a.json(t)
	if a.status != status || m["code"] != float64(code) || len(m) != 2 {
		t.Fatalf("%d %s, want %d with {code: %d, msg}", a.status, a.body, status, code)
	}
	text, _ := m["msg"].(string)
	if !strings.Contains(text, msg) || !strings.ContainsFunc(text, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
		t.Errorf("msg %q does not say %q in the clients' words", text, msg)
	}
}

// userWithoutPasswords creates a user with no payment or login password
// and returns a token for them.
func (w *world) userWithoutPasswords(id string) string {
	w.t.Helper()
	w.v1("POST", "/v1/users", `{"id":"`+id+`"}`)
	return w.v1("POST", "/v1/users/"+id+"/tokens", `{}`)["token"].(string)
}

// TestBodies sends the same calls as a urlencoded form, a multipart form
// and a JSON object, with the token in the header or in accessToken of
// any case, and numbers as numbers or strings: all are one.
func TestBodies(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		w.fund(payer, 97, 503)
		tok := w.tokens[payer]
		want := w.ok("getCash", tok, form("uid", payer))
		for name, a := range map[string]answer{
			"multipart":           w.postMultipart("getCash", tok, form("uid", payer)),
			"JSON":                w.postJSON("getCash", tok, `{"uid":"`+payer+`"}`),
			"JSON without a type": w.send("getCash", "", strings.NewReader(`{"uid":"`+payer+`","accesstoken":"`+tok+`"}`), nil),
			"form with accesstoken": w.send("getCash", "application/x-www-form-urlencoded",
				strings.NewReader(url.Values{"uid": {payer}, "AccessToken": {tok}}.Encode()), nil),
			"query": w.send("getCash?uid="+payer+"&accessToken="+tok, "", nil, nil),
		} {
			if got := a.json(t); a.status != http.StatusOK || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %d %s, want %v", name, a.status, a.body, want)
			}
		}

		// Numbers as JSON numbers or strings.
		oid := w.postJSON("initOrder", tok, `{"userId":"`+payer+`","skillId":"`+xxSkill+`","amount":100}`).json(t)["order"].(map[string]any)["_id"].(string)
		if a := w.postJSON("payByWallet", tok, `{"oid":"`+oid+`","payPass":246810,"userId":null}`); a.json(t)["success"] != true {
			t.Errorf("a payment password as a JSON number: %s", a.body)
		}
		w.ok("confirmOrder", tok, form("id", oid))
		if a := w.postMultipart("comment", tok, form("oid", oid, "score", "5")); a.json(t)["success"] != true {
			t.Errorf("a multipart comment: %s", a.body)
		}
	})
}

// TestLockedPasswords checks that a password locked after five wrong
// tries says until when, and that a right one is refused meanwhile.
func TestLockedPasswords(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		w.withLoginPass()
		tok := w.tokens[buyer]
		for range bursar.MaxWrongTries - 1 {
			checkRefusal(t, w.post("confirmPass", tok, form("pass", "wrong-pass")), http.StatusOK, 4, "密码错误")
		}
		until := stampOf(w.clock.Now().Add(bursar.LockoutPeriod))
		checkRefusal(t, w.post("confirmPass", tok, form("pass", "wrong-pass")), http.StatusOK, 4, "锁定至 "+until)
		checkRefusal(t, w.post("confirmPass", tok, form("pass", loginPass)), http.StatusOK, 4, "锁定至 "+until)
		w.clock.Advance(bursar.LockoutPeriod)
		w.ok("confirmPass", tok, form("pass", loginPass))

		// The payment password locks on payByWallet alike.
		w.fund(buyer, 1, 0)
		oid := w.ok("initOrder", tok, form("skillId", skill))["order"].(map[string]any)["_id"].(string)
		for range bursar.MaxWrongTries - 1 {
			checkRefusal(t, w.post("payByWallet", tok, form("oid", oid, "payPass", "000000")), http.StatusOK, 4, "支付密码错误")
		}
		until = stampOf(w.clock.Now().Add(bursar.LockoutPeriod))
		checkRefusal(t, w.post("payByWallet", tok, form("oid", oid, "payPass", "000000")), http.StatusOK, 4, "支付密码错误次数过多，已锁定，锁定至 "+until)
	})
}

// TestInternalErrors checks that a failure inside answers code 0 with a
// 500 and says nothing of what failed.
func TestInternalErrors(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		broken := &failingDB{DB: db}
		w := newWorld(t, broken)
		broken.failing.Store(true)
		defer broken.failing.Store(false) // for the ledger check at the end
		a := w.post("getCash", w.tokens[payer], form("uid", payer))
		m := a.json(t)
		if a.status != http.StatusInternalServerError || m["code"] != 0.0 || m["msg"] != "未知错误" || len(m) != 2 {
			t.Errorf("with the database failing: %d %s, want 500 {code: 0, msg: 未知错误}", a.status, a.body)
		}
	})
}

// failingDB fails every transaction while failing is set, as a database
// that has gone away does.
type failingDB struct {
	store.DB
	failing atomic.Bool
}

func (f *failingDB) InTx(ctx context.Context, fn func(store.Tx) error) error {
	if f.failing.Load() {
		return errors.New("connection refused")
	}
	return f.DB.InTx(ctx, fn)
}

func (f *failingDB) InReadTx(ctx context.Context, fn func(store.Tx) error) error {
	if f.failing.Load() {
		return errors.New("connection refused")
	}
	return f.DB.InReadTx(ctx, fn)
}

func stampOf(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
