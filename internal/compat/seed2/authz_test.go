package seed2_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestAnotherUsersObjects walks every route with another user's token.
// Where a route names an order, the answer is byte for byte the answer
// for an order that does not exist; where it names a user, it is refused.
// Nothing of the victim's shows and nothing of theirs changes. A route
// added without a line here fails the test.
func TestAnotherUsersObjects(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db, seedTime)
		victim, attacker := w.tokens[student], w.tokens[mallory]
		pending := w.create("3", victim)
		paid := w.create("4", victim)
		third, _ := w.appPays(bursar.ChannelWeChat, paid["trade_no"].(string), 1990)
		w.get("/orders/wxpay?result=2&trade_no="+paid["trade_no"].(string), victim)
		// The answers of the routes that take a user are compared to these.
		const missing = "ord_0000000000000000000000000a"
		const missingNo = "201807050000000000000000"

		type probe struct {
			query   string // on the victim's order, or naming the victim
			missing string // the same on an order that does not exist; "" when the route names no order
			code    string // the code the attacker gets
		}
		walk := map[string][]probe{
			"/orders/get": {
				{"id=" + pending["id"].(string), "id=" + missing, "5"},
				{"trade_no=" + paid["trade_no"].(string), "trade_no=" + missingNo, "5"},
			},
			"/orders/alipay": {
				{"result=SUCCESS&trade_no=" + pending["trade_no"].(string), "result=SUCCESS&trade_no=" + missingNo, "5"},
				{"result=FAIL&trade_no=" + pending["trade_no"].(string), "result=FAIL&trade_no=" + missingNo, "5"},
			},
			"/orders/wxpay": {
				{"result=2&trade_no=" + paid["trade_no"].(string) + "&third_trade_no=" + third, "result=2&trade_no=" + missingNo + "&third_trade_no=" + third, "5"},
			},
			"/orders/create": {{"album_id=5&user_id=" + student, "", "4"}},
			"/orders/list":   {{"user_id=" + student, "", "4"}, {"role=seller&user_id=" + student, "", "4"}},
		}
		for _, route := range w.server.Routes() {
			if _, path, _ := strings.Cut(route, " "); route != "/orders/" && walk[path] == nil {
				t.Errorf("route %s is not in the authorization walk", route)
			}
		}
		send := func(method, path, query string) answer {
			if method == "GET" {
				return w.do("GET", path+"?"+query, attacker, "", "")
			}
			return w.do("POST", path, attacker, "application/x-www-form-urlencoded", query)
		}
		for path, probes := range walk {
			for _, method := range []string{"GET", "POST"} {
				for _, p := range probes {
					a := send(method, path, p.query)
					m := a.json(t)
					if m["code"] != json.Number(p.code) {
						t.Errorf("%s %s?%s as another user: %s, want code %s", method, path, p.query, a.body, p.code)
					}
					for _, leak := range []string{pending["id"].(string), paid["id"].(string), pending["trade_no"].(string), `"user_id":"8"`} {
						if strings.Contains(string(a.body), leak) {
							t.Errorf("%s %s?%s showed the victim's %s: %s", method, path, p.query, leak, a.body)
						}
					}
					if p.missing != "" {
						if b := send(method, path, p.missing); string(b.body) != string(a.body) {
							t.Errorf("%s %s: another user's order answers %s, a missing one %s", method, path, a.body, b.body)
						}
					}
				}
			}
		}
		// The attacker's own list holds nothing of the victim's.
		for _, q := range []string{"", "?role=seller", "?role=buyer"} {
			if d := w.get("/orders/list"+q, attacker)["data"].(map[string]any); d["count"] != json.Number("0") {
				t.Errorf("the attacker's list%s: %v", q, d)
			}
		}
		// Nothing changed for the victim.
		if got := item(t, w.get("/orders/get?id="+pending["id"].(string), victim)); got["pay_status"] != "0" {
			t.Errorf("the victim's unpaid order: %v", got)
		}
		if got := item(t, w.get("/orders/get?id="+paid["id"].(string), victim)); got["pay_status"] != "2" || got["third_trade_no"] != third {
			t.Errorf("the victim's paid order: %v", got)
		}
		if d := w.get("/orders/list", victim)["data"].(map[string]any); d["count"] != json.Number("2") {
			t.Errorf("the victim's list: %v", d)
		}
		// The teacher sees the order sold, as a party to it.
		if got := item(t, w.get("/orders/get?"+url.Values{"trade_no": {paid["trade_no"].(string)}}.Encode(), w.tokens[teacher])); got["id"] != paid["id"] {
			t.Errorf("the teacher's view of the order sold: %v", got)
		}
	})
}

// TestCredentials checks that every route needs a user token or a
// platform key, in the header or in a token parameter, and that a platform
// key acts for the user it names.
func TestCredentials(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db, seedTime)
		for _, route := range w.server.Routes() {
			method, path, ok := strings.Cut(route, " ")
			if !ok {
				continue
			}
			for _, token := range []string{"", "ut_NOPE", w.tokens[student] + "x"} {
				m := w.do(method, path+"?album_id=1&trade_no=1&id=1&result=2", token, "", "").json(t)
				if m["code"] != json.Number("1") || !strings.Contains(m["err_desc"].(string), "令牌") {
					t.Errorf("%s with token %q: %v, want code 1", route, token, m)
				}
			}
		}
		// The seed's apps may send the token as a parameter.
		for _, name := range []string{"access_token", "accessToken", "accesstoken", "token"} {
			if m := w.do("GET", "/orders/list?"+name+"="+w.tokens[student], "", "", "").json(t); m["code"] != json.Number("0") {
				t.Errorf("the token as %s: %v", name, m)
			}
		}
		// A platform key buys for the user it names, and sees their orders.
		o := item(t, w.get("/orders/create?album_id=5&user_id="+student, w.key))
		if got := item(t, w.get("/orders/get?id="+o["id"].(string), w.tokens[student])); got["user_id"] != student {
			t.Errorf("the order the platform made for the student: %v", got)
		}
		if got := item(t, w.get("/orders/list?role=buyer&user_id="+student, w.key)); got["id"] != o["id"] {
			t.Errorf("the platform's list of the student's orders: %v", got)
		}
		if got := item(t, w.get("/orders/list?user_id="+teacher, w.key)); got["id"] != o["id"] {
			t.Errorf("the platform's list of the teacher's sold orders: %v", got)
		}
		// ... and may discount an album, here to zero: complete at once.
		free := item(t, w.get("/orders/create?album_id=4&user_id="+mallory+"&amount=0.00", w.key))
		if free["status"] != json.Number("2") || free["amount"] != "0.00" {
			t.Errorf("an album discounted to zero: %v", free)
		}
		got := item(t, w.get("/orders/get?id="+free["id"].(string), w.tokens[mallory]))
		if got["pay_status"] != "2" || got["price"] != "19.90" || got["amount"] != "0.00" {
			t.Errorf("the discounted order: %v", got)
		}
	})
}
