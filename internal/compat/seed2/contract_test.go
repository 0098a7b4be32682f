package seed2_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// The seed's example answers, verbatim from 001_35835b171e44eedd.txt.
const (
	seedCreate = `{
		"code": 0,
		"data": {
			"count": 1,
			"ts": 1530760164,
			"items": [
				{
					"id": "5",
					"name": "我的直播课",
					"amount": "0.00",
					"trade_no": "5-9996-6d2d",
					"status": 2
				}
			]
		}
	}`
	seedCreateError = `{
		"code": 4,
		"err_desc": "缺少订购内容参数"
	}`
	seedCallback = `{
		"code": 0
	}`
	seedGet = `{
		"code": 0,
		"data": {
			"count": 1,
			"ts": 1530765028,
			"items": [
				{
					"id": "1",
					"user_id": "1",
					"puber_id": "1",
					"album_id": "1",
					"title": "我的直播课",
					"price": "0.00",
					"amount": "0.00",
					"servicer": null,
					"trade_no": null,
					"third_trade_no": null,
					"third_buyer_id": null,
					"pay_status": "0",
					"add_time": "2018-07-05 10:57:18",
					"pay_time": "2018-07-05 10:57:18"
				}
			]
		}
	}`
)

// seedTime is the time of the seed's get example, "2018-07-05 10:57:18"
// in Beijing; the contract tests run Bursar's clock from it, so the times
// and ts in the golden files are exact.
var seedTime = time.Date(2018, 7, 5, 2, 57, 18, 0, time.UTC)

// The formats of the seed's values.
var (
	yuanFormat   = regexp.MustCompile(`^(0|[1-9]\d*)\.\d\d$`)
	timeFormat   = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	formats      = map[string]*regexp.Regexp{"amount": yuanFormat, "price": yuanFormat, "add_time": timeFormat, "pay_time": timeFormat}
	payStatuses  = map[string]bool{"0": true, "2": true, "4": true}
	servicerNums = map[string]bool{"1": true, "2": true}
)

// contract checks an answer against the seed's example of it: HTTP 200 with
// JSON; the same field names, in objects and in every item of a list; the
// same JSON types, where a field the example shows null may also be a
// string; the seed's formats for amounts, times, pay_status and servicer;
// and then every value against the golden file.
func contract(t *testing.T, a answer, example, name string) {
	t.Helper()
	if a.status != 200 || !strings.HasPrefix(a.ctype, "application/json") {
		t.Fatalf("%s: HTTP %d %q: %s", name, a.status, a.ctype, a.body)
	}
	var want any
	must(t, json.Unmarshal([]byte(example), &want))
	got := a.json(t)
	sameShape(t, name, "", want, got)
	checkFormats(t, name, got)
	golden(t, name, a.body)
}

func sameShape(t *testing.T, name, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: %s is %T, want an object", name, path, got)
			return
		}
		if wk, gk := keys(w), keys(g); wk != gk {
			t.Errorf("%s: %s has fields %s, want %s", name, path, gk, wk)
		}
		for k, v := range w {
			if gv, ok := g[k]; ok {
				sameShape(t, name, path+"."+k, v, gv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			t.Errorf("%s: %s is %T, want an array", name, path, got)
			return
		}
		for i, gv := range g {
			sameShape(t, name, fmt.Sprintf("%s[%d]", path, i), w[0], gv)
		}
	case nil:
		if _, ok := got.(string); got != nil && !ok {
			t.Errorf("%s: %s is %T, want null or a string", name, path, got)
		}
	case string:
		if _, ok := got.(string); !ok {
			t.Errorf("%s: %s is %T (%v), want a string", name, path, got, got)
		}
	case float64:
		if _, ok := got.(json.Number); !ok {
			t.Errorf("%s: %s is %T (%v), want a number", name, path, got, got)
		}
	}
}

func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func checkFormats(t *testing.T, name string, m map[string]any) {
	t.Helper()
	d, _ := m["data"].(map[string]any)
	if d == nil {
		return
	}
	if ts, err := d["ts"].(json.Number).Int64(); err != nil || ts <= 0 {
		t.Errorf("%s: ts %v is not a Unix time", name, d["ts"])
	}
	items, _ := d["items"].([]any)
	if n, _ := d["count"].(json.Number).Int64(); int(n) != len(items) {
		t.Errorf("%s: count %d for %d items", name, n, len(items))
	}
	for _, it := range items {
		for k, v := range it.(map[string]any) {
			s, _ := v.(string)
			switch {
			case v == nil:
			case formats[k] != nil && !formats[k].MatchString(s):
				t.Errorf("%s: %s = %q, not in the seed's format", name, k, s)
			case k == "pay_status" && !payStatuses[s]:
				t.Errorf("%s: pay_status %q", name, s)
			case k == "servicer" && !servicerNums[s]:
				t.Errorf("%s: servicer %q", name, s)
			}
		}
	}
}

// TestSeedExamples sends every example request of the seed and checks each
// answer against the seed's example and a golden file.
func TestSeedExamples(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db, seedTime)
		buyer, seller := w.tokens[student], w.tokens[teacher]
		step := func() { w.clock.Advance(time.Second) }

		// 6.1: the seed's request buys album 2, which is free: complete at once.
		contract(t, w.do("GET", "/orders/create?album_id=2", buyer, "", ""), seedCreate, "create_free")
		step()
		// An album to pay: status 0 and the trade_no to pay with.
		a := w.do("GET", "/orders/create?album_id=3", buyer, "", "")
		contract(t, a, seedCreate, "create_to_pay")
		toAlipay := item(t, a.json(t))
		step()
		// The seed's error example: no album.
		contract(t, w.do("GET", "/orders/create", buyer, "", ""), seedCreateError, "create_missing_album")

		// 6.2: the app paid at Alipay by itself and reports it, as a GET.
		third, buyerID := w.appPays(bursar.ChannelAlipay, toAlipay["trade_no"].(string), 8888)
		q := url.Values{"result": {"SUCCESS"}, "trade_no": {toAlipay["trade_no"].(string)}, "third_trade_no": {third},
			"third_buyer_id": {buyerID}, "amount": {"88.88"}}
		contract(t, w.do("GET", "/orders/alipay?"+q.Encode(), buyer, "", ""), seedCallback, "callback_alipay")
		step()
		// ... and at WeChat Pay, reported as a form POST with result 2.
		toWeChat := w.create("4", buyer)
		step()
		third, buyerID = w.appPays(bursar.ChannelWeChat, toWeChat["trade_no"].(string), 1990)
		form := url.Values{"result": {"2"}, "trade_no": {toWeChat["trade_no"].(string)}, "third_trade_no": {third},
			"third_buyer_id": {buyerID}, "amount": {"19.90"}}
		contract(t, w.do("POST", "/orders/wxpay", buyer, "application/x-www-form-urlencoded", form.Encode()), seedCallback, "callback_wxpay")
		step()

		// 6.3: one order by id, by trade_no, and by both, where id wins.
		contract(t, w.do("GET", "/orders/get?id="+toAlipay["id"].(string), buyer, "", ""), seedGet, "get_by_id")
		contract(t, w.do("GET", "/orders/get?trade_no="+toWeChat["trade_no"].(string), buyer, "", ""), seedGet, "get_by_trade_no")
		both := w.do("GET", "/orders/get?id="+toAlipay["id"].(string)+"&trade_no="+toWeChat["trade_no"].(string), buyer, "", "")
		if got := item(t, both.json(t)); got["id"] != toAlipay["id"] {
			t.Errorf("get with id and trade_no answered %v, want the order of the id %v", got["id"], toAlipay["id"])
		}
		// An order not yet paid.
		unpaid := w.create("5", buyer)
		contract(t, w.do("GET", "/orders/get?id="+unpaid["id"].(string), buyer, "", ""), seedGet, "get_unpaid")

		// 6.4: the student's bought orders, the teacher's sold ones.
		contract(t, w.do("GET", "/orders/list", buyer, "", ""), seedGet, "list_bought")
		contract(t, w.do("GET", "/orders/list?page=1&page_size=2", seller, "", ""), seedGet, "list_sold_page1")
		contract(t, w.do("GET", "/orders/list?page=2&page_size=2", seller, "", ""), seedGet, "list_sold_page2")
		contract(t, w.do("GET", "/orders/list?page=3&page_size=2", seller, "", ""), seedGet, "list_sold_page3")
	})
}

// TestBodies checks that a request means the same whether its parameters
// come as a query string, a form, a multipart form or a JSON object.
func TestBodies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db, seedTime)
		buyer := w.tokens[student]
		for _, tc := range []struct {
			name, method, ctype, body, query string
		}{
			{"a query string", "GET", "", "", "?album_id=1"},
			{"a query string on a POST", "POST", "", "", "?album_id=1"},
			{"a form", "POST", "application/x-www-form-urlencoded", "album_id=1", ""},
			{"a form with a charset", "POST", "application/x-www-form-urlencoded; charset=UTF-8", "album_id=1", ""},
			{"a multipart form", "POST", "multipart/form-data; boundary=XyZ",
				"--XyZ\r\nContent-Disposition: form-data; name=\"album_id\"\r\n\r\n1\r\n--XyZ--\r\n", ""},
			{"a JSON object", "POST", "application/json", `{"album_id":"1"}`, ""},
			{"a JSON number", "POST", "application/json", `{"album_id":1}`, ""},
			{"JSON sent as text", "POST", "text/plain", `{"album_id":"1"}`, ""},
			{"the body over the query", "POST", "application/json", `{"album_id":"1"}`, "?album_id=nope"},
			{"the token as a parameter", "POST", "application/x-www-form-urlencoded", "album_id=1&access_token=" + buyer, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				token := buyer
				if strings.Contains(tc.body, "access_token") {
					token = ""
				}
				got := item(t, w.do(tc.method, "/orders/create"+tc.query, token, tc.ctype, tc.body).json(t))
				if got["name"] != "我的直播课" || got["status"] != json.Number("2") || got["amount"] != "0.00" {
					t.Errorf("create with %s: %v", tc.name, got)
				}
			})
		}
	})
}
