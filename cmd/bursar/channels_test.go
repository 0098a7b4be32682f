package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"bursar.dev/bursar/internal/store/postgres/pgtest"
)

// End-to-end tests of the payment channels: the real binary, its built-in
// (or standalone) Alipay and WeChat Pay sandboxes, and the v1 API over HTTP.
// Every test ends with `bursar ledger verify` on the database it used.

// backend is where a test's `bursar serve` keeps its data: the flags that
// serve, and those that name the same database to the other commands.
type backend struct {
	serve []string // for bursar serve (the sandboxes' keys live in its data dir)
	db    []string // for bursar keys, bursar ledger verify
}

func sqliteBackend(t *testing.T) backend {
	dir := t.TempDir()
	return backend{serve: []string{"--data-dir", dir}, db: []string{"--data-dir", dir}}
}

func postgresBackend(t *testing.T) backend {
	url := pgtest.URL(t)
	return backend{serve: []string{"--db", url, "--data-dir", t.TempDir()}, db: []string{"--db", url}}
}

// serveChannels starts `bursar serve` with its in-process sandboxes, whose
// notification retries are a thousand times quicker than the channels'.
func serveChannels(t *testing.T, b backend, args ...string) *process {
	t.Helper()
	return startProcess(t, append(append([]string{"--commission-bps", "500", "--sandbox-retry-scale", "0.001"}, b.serve...), args...)...)
}

// verifyLedger runs `bursar ledger verify` as its own process and requires
// exit code 0.
func verifyLedger(t *testing.T, b backend) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"ledger", "verify"}, b.db...)...)
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err != nil || code != 0 || !strings.Contains(string(out), "ledger OK") {
		t.Errorf("bursar ledger verify: exit code %d (%v)\n%s", code, err, out)
	}
}

// eventually polls cond until it holds or the deadline passes; cond returns
// what it saw, for the failure message.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, any)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last seen: %v", what, within, saw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// try is call for other goroutines than the test's: it returns its
// failures instead of stopping the test.
func (a client) try(token, method, path, body string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: not JSON: %s", method, path, b)
	}
	return resp.StatusCode, m, nil
}

// awaitOrder waits until the order has the status.
func (a client) awaitOrder(token, id, status string, within time.Duration) map[string]any {
	a.t.Helper()
	var o map[string]any
	eventually(a.t, within, "order "+id+" "+status, func() (bool, any) {
		o = a.must(200, token, "GET", "/v1/orders/"+id, "")
		return o["status"] == status, o
	})
	return o
}

// entryKinds counts an order's ledger entries by kind.
func (a client) entryKinds(token, id string) map[string]int {
	a.t.Helper()
	kinds := map[string]int{}
	es, _ := a.must(200, token, "GET", "/v1/orders/"+id+"?expand=entries", "")["entries"].([]any) // omitted when none
	for _, e := range es {
		kinds[e.(map[string]any)["kind"].(string)]++
	}
	return kinds
}

func (a client) wallet(token, user string) map[string]any {
	a.t.Helper()
	return a.must(200, token, "GET", "/v1/users/"+user+"/wallet", "")
}

// payments lists an order's payments at the channels.
func (a client) payments(token, id string) []map[string]any {
	a.t.Helper()
	var ps []map[string]any
	for _, p := range a.must(200, token, "GET", "/v1/orders/"+id+"/payments", "")["data"].([]any) {
		ps = append(ps, p.(map[string]any))
	}
	return ps
}

// paidOnce checks that an order holds one channel payment, paid, and one
// ledger entry for it.
func (a client) paidOnce(token, id, channel string) {
	a.t.Helper()
	ps := a.payments(token, id)
	if len(ps) != 1 || ps[0]["status"] != "paid" || ps[0]["channel"] != channel || ps[0]["trade_no"] == "" {
		a.t.Errorf("order %s's payments: %v, want one paid through %s", id, ps, channel)
	}
	if k := a.entryKinds(token, id); k["channel_pay"] != 1 || len(k) != 1 {
		a.t.Errorf("order %s's ledger entries: %v, want one channel_pay", id, k)
	}
}

// control makes a sandbox control call with a form and returns its JSON
// answer; it must be 200.
func control(t *testing.T, base, path string, form url.Values) map[string]any {
	t.Helper()
	resp, err := http.PostForm(base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s%s %v = %d %s", base, path, form, resp.StatusCode, body)
	}
	return m
}

// getJSON reads a sandbox listing.
func getJSON(t *testing.T, u string) map[string]any {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", u, resp.StatusCode, body)
	}
	return m
}

// alipayNotifications returns the Alipay sandbox's notifications about an
// order number.
func alipayNotifications(t *testing.T, base, orderNo string) []map[string]any {
	t.Helper()
	var out []map[string]any
	ns, _ := getJSON(t, base+"/alipay/sandbox/notifications")["notifications"].([]any)
	for _, n := range ns {
		n := n.(map[string]any)
		if p, _ := n["params"].(map[string]any); p["out_trade_no"] == orderNo {
			out = append(out, n)
		}
	}
	return out
}

// wechatNotifications returns the WeChat Pay sandbox's notifications with
// an event type (their bodies are encrypted, so they are not matched to a
// trade).
func wechatNotifications(t *testing.T, base, event string) []map[string]any {
	t.Helper()
	var out []map[string]any
	ns, _ := getJSON(t, base+"/wechat/sandbox/state")["notifications"].([]any)
	for _, n := range ns {
		if n := n.(map[string]any); n["event_type"] == event {
			out = append(out, n)
		}
	}
	return out
}

// open fetches a URL the buyer's phone or browser would open, and returns
// the page.
func open(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", u, resp.StatusCode, body)
	}
	return string(body)
}

// shop is a buyer and a seller with a token each, and the price of the
// courses the seller sells.
type shop struct {
	buyer, seller string
	price         int
}

func (a client) shop(key string, price int) shop {
	a.t.Helper()
	return shop{buyer: a.user(key, "buyer"), seller: a.user(key, "seller"), price: price}
}

// order puts a new course on sale (a buyer owns a course once, so each
// order needs its own) and creates a pending purchase of it; it returns the
// order's id and number and the course.
func (a client) order(s shop) (id, no, item string) {
	a.t.Helper()
	item = a.must(201, s.seller, "POST", "/v1/items",
		fmt.Sprintf(`{"seller_id":"seller","kind":"course","title":"Go in depth","price":%d,"hold_seconds":3600}`, s.price))["id"].(string)
	o := a.must(201, s.buyer, "POST", "/v1/orders", `{"buyer_id":"buyer","item_id":"`+item+`"}`)
	return o["id"].(string), o["order_no"].(string), item
}

// payAt starts paying an order through a channel method and returns the
// answer's next_action.
func (a client) payAt(token, id, method string) map[string]any {
	a.t.Helper()
	o := a.must(200, token, "POST", "/v1/orders/"+id+"/pay", `{"method":"`+method+`"}`)
	na, _ := o["next_action"].(map[string]any)
	if o["status"] != "pending" || na == nil || na["method"] != method {
		a.t.Fatalf("paying %s with %s: %v", id, method, o)
	}
	return na
}

// TestAlipayPurchase pays a purchase with an Alipay QR code through the
// built-in sandbox: the buyer opens the code's page and pays, Alipay's
// notification pays the order, the buyer confirms and the seller earns the
// price less the commission.
func TestAlipayPurchase(t *testing.T) {
	t.Parallel()
	alipayPurchase(t, sqliteBackend(t))
}

func alipayPurchase(t *testing.T, b backend) {
	key := createKey(t, b.db...)
	p := serveChannels(t, b)
	a := client{t, p.base}
	s := a.shop(key, 9900)
	id, no, item := a.order(s)
	before := a.wallet(key, "seller")["earnings"].(float64)

	na := a.payAt(s.buyer, id, "alipay_qr")
	u, _ := na["url"].(string)
	if !strings.HasPrefix(u, p.base+"/alipay/cashier/qr/") {
		t.Fatalf("next_action url %q is not the sandbox's QR cashier", u)
	}
	if page := open(t, u); !strings.Contains(page, "99.00") {
		t.Errorf("the cashier page does not show 99.00:\n%s", page)
	}
	paid := control(t, p.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {no}})
	if paid["trade_status"] != "TRADE_SUCCESS" {
		t.Fatalf("sandbox pay: %v", paid)
	}
	o := a.awaitOrder(s.buyer, id, "paid", 15*time.Second)
	if o["channel"] != "alipay" || o["paid_at"] == nil || o["release_at"] == nil {
		t.Errorf("paid order: %v", o)
	}
	a.paidOnce(s.buyer, id, "alipay")
	if ps := a.payments(s.buyer, id); ps[0]["trade_no"] != paid["trade_no"] || ps[0]["method"] != "alipay_qr" {
		t.Errorf("payment %v, want Alipay's trade %v", ps[0], paid["trade_no"])
	}
	// The notification paid it: the payment check would run only a minute
	// later. On a loaded machine the first delivery may outlast the
	// sandbox's scaled-down timeout after Bursar has applied it; its retry
	// is then answered success.
	eventually(t, 10*time.Second, "a notification answered success", func() (bool, any) {
		ns := alipayNotifications(t, p.base, no)
		for _, n := range ns {
			if n["state"] == "delivered" && n["last_answer"] == `200 "success"` {
				return true, nil
			}
		}
		return false, ns
	})
	if ent := a.must(200, s.buyer, "GET", "/v1/entitlements?item_id="+item, ""); ent["has_access"] != true {
		t.Errorf("the paid course grants no access: %v", ent)
	}

	o = a.must(200, s.buyer, "POST", "/v1/orders/"+id+"/confirm", "")
	if o["status"] != "completed" || o["fee"] != 495.0 {
		t.Errorf("confirmed: %v", o)
	}
	if got := a.wallet(key, "seller")["earnings"].(float64) - before; got != 9900-495 {
		t.Errorf("the seller's earnings rose by %v, want %v", got, 9900-495)
	}
	if k := a.entryKinds(key, id); k["channel_pay"] != 1 || k["release"] != 1 {
		t.Errorf("entries: %v", k)
	}
	p.stop(t)
	verifyLedger(t, b)
}

// TestWeChatPurchaseAndRefunds pays a purchase with WeChat Pay Native; the
// seller approves a partial refund, which goes through WeChat (processing,
// then succeeded), and then a refund of the rest, which ends the purchase.
func TestWeChatPurchaseAndRefunds(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := serveChannels(t, b)
	a := client{t, p.base}
	s := a.shop(key, 10000)
	id, no, item := a.order(s)

	na := a.payAt(s.buyer, id, "wechat_native")
	u, _ := na["url"].(string)
	if !strings.HasPrefix(u, p.base+"/wechat/cashier?prepay_id=") {
		t.Fatalf("next_action url %q is not the sandbox's cashier", u)
	}
	open(t, u)
	if tx := control(t, p.base, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}}); tx["trade_state"] != "SUCCESS" {
		t.Fatalf("sandbox pay: %v", tx)
	}
	a.awaitOrder(s.buyer, id, "paid", 15*time.Second)
	a.paidOnce(s.buyer, id, "wechat")

	// A partial refund: 30 of the 100 yuan.
	r := a.must(201, s.buyer, "POST", "/v1/orders/"+id+"/refunds", `{"amount":3000,"reason":"only half the course applies"}`)
	rid := r["id"].(string)
	if o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, ""); o["status"] != "refund_requested" {
		t.Errorf("after the request: %v", o)
	}
	if r := a.must(200, s.seller, "POST", "/v1/refunds/"+rid+"/approve", `{}`); r["status"] != "processing" {
		t.Errorf("approved channel refund: %v, want processing", r)
	}
	eventually(t, 15*time.Second, "the partial refund succeeds", func() (bool, any) {
		r := a.must(200, s.buyer, "GET", "/v1/refunds/"+rid, "")
		return r["status"] == "succeeded", r
	})
	o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, "")
	if o["status"] != "paid" || o["refunded"] != 3000.0 {
		t.Errorf("after the partial refund: %v, want paid with 3000 refunded", o)
	}

	// The rest.
	r = a.must(201, s.buyer, "POST", "/v1/orders/"+id+"/refunds", `{"reason":"not for me after all"}`)
	if r["amount"] != 7000.0 {
		t.Errorf("refund of the rest: %v, want 7000", r)
	}
	rid2 := r["id"].(string)
	if r := a.must(200, s.seller, "POST", "/v1/refunds/"+rid2+"/approve", `{}`); r["status"] != "processing" {
		t.Errorf("approved channel refund: %v, want processing", r)
	}
	o = a.awaitOrder(s.buyer, id, "refunded", 15*time.Second)
	if o["refunded"] != 10000.0 {
		t.Errorf("refunded order: %v", o)
	}
	if r := a.must(200, s.buyer, "GET", "/v1/refunds/"+rid2, ""); r["status"] != "succeeded" {
		t.Errorf("second refund: %v", r)
	}
	if ent := a.must(200, s.buyer, "GET", "/v1/entitlements?item_id="+item, ""); ent["has_access"] != false {
		t.Errorf("a refunded course still grants access: %v", ent)
	}
	// The money went back through WeChat, not to the wallets.
	var atWeChat float64
	for _, rf := range getJSON(t, p.base+"/wechat/sandbox/state")["refunds"].(map[string]any) {
		if rf := rf.(map[string]any); rf["out_trade_no"] == no && rf["status"] == "SUCCESS" {
			atWeChat += rf["amount"].(float64)
		}
	}
	if atWeChat != 10000 {
		t.Errorf("WeChat refunded %v for the order, want 10000", atWeChat)
	}
	for _, u := range []string{"buyer", "seller"} {
		if w := a.wallet(key, u); w["total"] != 0.0 {
			t.Errorf("%s's wallet: %v, want empty", u, w)
		}
	}
	if k := a.entryKinds(key, id); k["channel_pay"] != 1 || k["refund"] != 2 || k["release"] != 0 {
		t.Errorf("entries: %v", k)
	}
	p.stop(t)
	verifyLedger(t, b)
}

// TestAlipayTopup fills a wallet through Alipay and spends it on a
// purchase.
func TestAlipayTopup(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := serveChannels(t, b)
	a := client{t, p.base}
	s := a.shop(key, 9900)

	top := a.must(201, s.buyer, "POST", "/v1/topups", `{"user_id":"buyer","amount":20000,"method":"alipay_qr"}`)
	na, _ := top["next_action"].(map[string]any)
	if top["type"] != "topup" || top["status"] != "pending" || na == nil || na["url"] == "" {
		t.Fatalf("top-up: %v", top)
	}
	control(t, p.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {top["order_no"].(string)}})
	tid := top["id"].(string)
	a.awaitOrder(s.buyer, tid, "completed", 15*time.Second)
	if w := a.wallet(s.buyer, "buyer"); w["cash"] != 20000.0 || w["earnings"] != 0.0 {
		t.Errorf("wallet after the top-up: %v, want 20000 cash", w)
	}
	if k := a.entryKinds(key, tid); k["topup"] != 1 || len(k) != 1 {
		t.Errorf("top-up entries: %v", k)
	}

	id, _, _ := a.order(s)
	o := a.must(200, s.buyer, "POST", "/v1/orders/"+id+"/pay", `{"method":"wallet","payment_password":"246810"}`)
	if o["status"] != "paid" || o["channel"] != "wallet" || o["paid_from_cash"] != 9900.0 {
		t.Errorf("wallet payment: %v", o)
	}
	if w := a.wallet(s.buyer, "buyer"); w["cash"] != 10100.0 {
		t.Errorf("wallet after buying: %v, want 10100 cash", w)
	}
	// Cash from a top-up cannot be withdrawn.
	a.must(402, s.buyer, "POST", "/v1/withdrawals",
		`{"user_id":"buyer","amount":100,"account":"buyer@example.com","name":"李四","payment_password":"246810"}`)
	p.stop(t)
	verifyLedger(t, b)
}

// TestWithdrawals pays a seller's earnings out to Alipay: one succeeds; one
// to an account Alipay does not know and one Alipay cannot pay fail with
// the money back; one over the approval threshold waits and is rejected;
// two that Alipay finishes later end paid and refused; and the day's count
// runs out.
func TestWithdrawals(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := serveChannels(t, b)
	a := client{t, p.base}
	seller := a.user(key, "seller")
	a.must(201, key, "POST", "/v1/users/seller/wallet/adjustments", `{"account":"user_earnings","amount":1000000,"reason":"sales before the migration"}`)
	earnings := func() float64 { return a.wallet(seller, "seller")["earnings"].(float64) }
	withdraw := func(amount int, account string) map[string]any {
		t.Helper()
		return a.must(201, seller, "POST", "/v1/withdrawals", fmt.Sprintf(
			`{"user_id":"seller","amount":%d,"account":%q,"name":"张三","payment_password":"246810"}`, amount, account))
	}
	transfers := func() map[string]any { // Alipay's payouts by our order number
		out := map[string]any{}
		all, _ := getJSON(t, p.base+"/alipay/sandbox/trades")["transfers"].(map[string]any)
		for _, tr := range all {
			out[tr.(map[string]any)["out_biz_no"].(string)] = tr
		}
		return out
	}

	// The wrong payment password moves nothing.
	a.must(403, seller, "POST", "/v1/withdrawals",
		`{"user_id":"seller","amount":5000,"account":"seller@example.com","name":"张三","payment_password":"000000"}`)

	w := withdraw(5000, "seller@example.com")
	if w["status"] != "processing" || w["type"] != "withdrawal" {
		t.Errorf("withdrawal: %v", w)
	}
	w = a.awaitOrder(seller, w["id"].(string), "succeeded", 15*time.Second)
	if got := earnings(); got != 995000 {
		t.Errorf("earnings after paying out 5000: %v", got)
	}
	if tr, _ := transfers()[w["order_no"].(string)].(map[string]any); tr == nil || tr["amount"] != 5000.0 {
		t.Errorf("the sandbox's payout for %s: %v", w["order_no"], tr)
	}
	if k := a.entryKinds(key, w["id"].(string)); k["withdrawal"] != 1 || k["payout"] != 1 {
		t.Errorf("withdrawal entries: %v", k)
	}

	// An account Alipay does not know.
	control(t, p.base, "/alipay/sandbox/payees/bad", url.Values{"account": {"nobody@example.com"}})
	w = withdraw(3000, "nobody@example.com")
	w = a.awaitOrder(seller, w["id"].(string), "failed", 15*time.Second)
	if !strings.Contains(w["failure_reason"].(string), "PAYEE_NOT_EXIST") {
		t.Errorf("failed withdrawal: %v", w)
	}
	if got := earnings(); got != 995000 {
		t.Errorf("earnings after a failed payout: %v, want the money back", got)
	}

	// Alipay's own balance runs short.
	control(t, p.base, "/alipay/sandbox/fail-next", url.Values{"what": {"transfer"}})
	w = withdraw(4000, "seller@example.com")
	w = a.awaitOrder(seller, w["id"].(string), "failed", 15*time.Second)
	if !strings.Contains(w["failure_reason"].(string), "PAYER_BALANCE_NOT_ENOUGH") {
		t.Errorf("failed withdrawal: %v", w)
	}
	if k := a.entryKinds(key, w["id"].(string)); k["withdrawal"] != 1 || k["withdrawal_failed"] != 1 || k["payout"] != 0 {
		t.Errorf("failed withdrawal's entries: %v", k)
	}

	// Over the approval threshold: held until the platform decides.
	w = withdraw(600000, "seller@example.com")
	wid := w["id"].(string)
	if w["status"] != "requested" || w["needs_approval"] != true {
		t.Errorf("a large withdrawal: %v, want requested and needs_approval", w)
	}
	if got := earnings(); got != 395000 {
		t.Errorf("earnings while 600000 waits: %v, want it held", got)
	}
	a.must(403, seller, "POST", "/v1/withdrawals/"+wid+"/approve", `{}`)
	a.must(403, seller, "POST", "/v1/withdrawals/"+wid+"/reject", `{"reason":"changed my mind"}`)
	w = a.must(200, key, "POST", "/v1/withdrawals/"+wid+"/reject", `{"reason":"identity check needed for large payouts"}`)
	if w["status"] != "failed" || !strings.Contains(w["failure_reason"].(string), "identity check needed") {
		t.Errorf("rejected: %v", w)
	}
	if got := a.must(200, seller, "GET", "/v1/orders/"+wid, ""); got["status"] != "failed" {
		t.Errorf("the seller sees %v", got)
	}
	a.must(409, key, "POST", "/v1/withdrawals/"+wid+"/approve", `{}`)
	if got := earnings(); got != 995000 {
		t.Errorf("earnings after the rejection: %v, want the money back", got)
	}
	if _, ok := transfers()[w["order_no"].(string)]; ok {
		t.Errorf("the rejected withdrawal reached Alipay")
	}

	// Alipay takes a while (DEALING) and tells the application gateway
	// how it ended: once paid, once refused.
	control(t, p.base, "/alipay/sandbox/transfers/dealing", url.Values{"outcome": {"SUCCESS"}, "after": {"1s"}})
	w = withdraw(2000, "seller@example.com")
	eventually(t, 10*time.Second, "Alipay is dealing with the payout", func() (bool, any) {
		tr, _ := transfers()[w["order_no"].(string)].(map[string]any)
		return tr != nil, transfers()
	})
	if got := a.must(200, seller, "GET", "/v1/orders/"+w["id"].(string), ""); got["status"] != "processing" {
		t.Errorf("a payout Alipay is dealing with: %v, want processing", got)
	}
	a.awaitOrder(seller, w["id"].(string), "succeeded", 15*time.Second)
	control(t, p.base, "/alipay/sandbox/transfers/dealing", url.Values{"outcome": {"FAIL"}, "after": {"1s"}})
	w = withdraw(2000, "seller@example.com")
	a.awaitOrder(seller, w["id"].(string), "failed", 15*time.Second)
	if got := earnings(); got != 993000 {
		t.Errorf("earnings after a payout that ended refused: %v, want 993000", got)
	}

	// Failed ones do not count: one more makes three today, the fourth is refused.
	w = withdraw(1000, "seller@example.com")
	a.awaitOrder(seller, w["id"].(string), "succeeded", 15*time.Second)
	code, e := a.call(seller, "POST", "/v1/withdrawals",
		`{"user_id":"seller","amount":1000,"account":"seller@example.com","name":"张三","payment_password":"246810"}`)
	if errObj, _ := e["error"].(map[string]any); code != 429 || errObj["code"] != "rate_limited" {
		t.Errorf("a fourth withdrawal today: %d %v, want 429 rate_limited", code, e)
	}
	if got := earnings(); got != 992000 {
		t.Errorf("final earnings: %v, want 1000000 - 5000 - 2000 - 1000", got)
	}
	p.stop(t)
	verifyLedger(t, b)
}

// TestNotificationsDropped loses the channels' notifications: Bursar still
// learns of the payments by asking the channels itself: when the client
// syncs the order, when the order expires, and by its scheduled payment
// check (here two seconds after paying instead of a minute).
func TestNotificationsDropped(t *testing.T) {
	t.Parallel()
	t.Run("found when the order expires", func(t *testing.T) {
		t.Parallel()
		// The expiry closes the trades at the channels; a paid one cannot be
		// closed, so Bursar queries it and settles the payment.
		b := sqliteBackend(t)
		key := createKey(t, b.db...)
		p := serveChannels(t, b, "--order-expiry", "5s")
		a := client{t, p.base}
		s := a.shop(key, 9900)
		ali, aliNo, _ := a.order(s)
		wx, wxNo, _ := a.order(s)
		control(t, p.base, "/alipay/sandbox/notifications/drop", url.Values{"count": {"1"}})
		control(t, p.base, "/wechat/sandbox/notifications", url.Values{"mode": {"drop"}})
		a.payAt(s.buyer, ali, "alipay_qr")
		a.payAt(s.buyer, wx, "wechat_native")
		control(t, p.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {aliNo}})
		control(t, p.base, "/wechat/sandbox/pay", url.Values{"out_trade_no": {wxNo}})
		if ns := alipayNotifications(t, p.base, aliNo); len(ns) != 1 || ns[0]["state"] != "dropped" {
			t.Errorf("Alipay's notifications: %v, want one dropped", ns)
		}
		if ns := wechatNotifications(t, p.base, "TRANSACTION.SUCCESS"); len(ns) != 1 || ns[0]["status"] != "dropped" {
			t.Errorf("WeChat's notifications: %v, want one dropped", ns)
		}
		for _, id := range []string{ali, wx} {
			if o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, ""); o["status"] != "pending" {
				t.Errorf("order %s with no notification: %v", id, o)
			}
		}
		a.awaitOrder(s.buyer, ali, "paid", 20*time.Second)
		a.awaitOrder(s.buyer, wx, "paid", 20*time.Second)
		a.paidOnce(s.buyer, ali, "alipay")
		a.paidOnce(s.buyer, wx, "wechat")
		p.stop(t)
		verifyLedger(t, b)
	})
	t.Run("found when the client syncs", func(t *testing.T) {
		t.Parallel()
		// POST /v1/orders/{id}/sync runs the payment check at once, for a
		// client whose buyer is back from the cashier.
		b := sqliteBackend(t)
		key := createKey(t, b.db...)
		p := serveChannels(t, b)
		a := client{t, p.base}
		s := a.shop(key, 9900)
		ali, aliNo, _ := a.order(s)
		wx, wxNo, _ := a.order(s)
		control(t, p.base, "/alipay/sandbox/notifications/drop", url.Values{"count": {"1"}})
		control(t, p.base, "/wechat/sandbox/notifications", url.Values{"mode": {"drop"}})
		a.payAt(s.buyer, ali, "alipay_qr")
		a.payAt(s.buyer, wx, "wechat_native")
		for id, c := range map[string]string{ali: "alipay", wx: "wechat"} {
			if o := a.must(200, s.buyer, "POST", "/v1/orders/"+id+"/sync", ""); o["status"] != "pending" {
				t.Errorf("%s: synced before paying: %v", c, o)
			}
		}
		control(t, p.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {aliNo}})
		control(t, p.base, "/wechat/sandbox/pay", url.Values{"out_trade_no": {wxNo}})
		if ns := alipayNotifications(t, p.base, aliNo); len(ns) != 1 || ns[0]["state"] != "dropped" {
			t.Errorf("Alipay's notifications: %v, want one dropped", ns)
		}
		for id, c := range map[string]string{ali: "alipay", wx: "wechat"} {
			if o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, ""); o["status"] != "pending" {
				t.Errorf("%s: with no notification: %v", c, o)
			}
			var wg sync.WaitGroup // the buyer's app and the platform's backend, at once
			for range 5 {
				wg.Go(func() {
					if code, o, err := a.try(s.buyer, "POST", "/v1/orders/"+id+"/sync", ""); err != nil || code != 200 || o["status"] != "paid" || o["channel"] != c {
						t.Errorf("%s: synced after paying: %d %v %v", c, code, o, err)
					}
				})
			}
			wg.Wait()
			a.paidOnce(s.buyer, id, c)
		}
		p.stop(t)
		verifyLedger(t, b)
	})
	t.Run("found by the payment check", func(t *testing.T) {
		t.Parallel()
		b := sqliteBackend(t)
		key := createKey(t, b.db...)
		p := serveChannels(t, b, "--payment-check-after", "2s")
		a := client{t, p.base}
		s := a.shop(key, 9900)
		id, no, _ := a.order(s)
		control(t, p.base, "/alipay/sandbox/notifications/drop", url.Values{"count": {"1"}})
		a.payAt(s.buyer, id, "alipay_qr")
		control(t, p.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {no}})
		a.awaitOrder(s.buyer, id, "paid", 15*time.Second)
		a.paidOnce(s.buyer, id, "alipay")
		p.stop(t)
		verifyLedger(t, b)
	})
}

// sandboxProcess is `bursar sandbox` running as its own process.
type sandboxProcess struct {
	*process
	alipayConfig, wechatConfig string
}

// launch runs the binary and reads the first lines it prints. When it
// ends before printing them, it returns the exit code and no process.
func launch(t *testing.T, lines int, args ...string) (*process, []string, int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, log: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	cmd.Stderr = lockedWriter{p}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	out := make([]string, lines)
	for i := range out {
		line, err := r.ReadString('\n')
		if err != nil {
			if err := cmd.Wait(); err != nil && cmd.ProcessState != nil {
				return nil, nil, cmd.ProcessState.ExitCode()
			}
			t.Fatalf("bursar %s printed %q, then ended: %v\n%s", args[0], out, err, p.logText())
		}
		out[i] = strings.TrimSpace(line)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	return p, out, 0
}

// startSandbox runs `bursar sandbox` and reads where it listens and where
// it wrote the adapters' configuration.
func startSandbox(t *testing.T, args ...string) *sandboxProcess {
	t.Helper()
	p, lines, code := launch(t, 3, append([]string{"sandbox"}, args...)...)
	if p == nil {
		t.Fatalf("bursar sandbox ended with exit code %d", code)
	}
	s := &sandboxProcess{process: p}
	var ok [3]bool
	p.base, ok[0] = strings.CutPrefix(lines[0], "sandbox listening on ")
	s.alipayConfig, ok[1] = strings.CutPrefix(lines[1], "alipay config: ")
	s.wechatConfig, ok[2] = strings.CutPrefix(lines[2], "wechat config: ")
	if ok != [3]bool{true, true, true} {
		t.Fatalf("bursar sandbox printed %q", lines)
	}
	return s
}

// lockedWriter collects a process's log under its lock.
type lockedWriter struct{ p *process }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.log.Write(b)
}

// kill ends a process with SIGKILL, as a crash would.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10 s after SIGKILL")
	}
}

// TestSandboxKilledMidFlow runs the sandbox as its own process and kills it
// while payments are under way: WeChat's notification is held when the
// gateway dies, Alipay's is waiting for its first attempt, and a buyer
// tries to pay while it is down. After a restart on the same port and data
// the notifications arrive and every order is paid exactly once.
func TestSandboxKilledMidFlow(t *testing.T) {
	t.Parallel()
	sbDir := t.TempDir()
	sbArgs := func(addr string) []string {
		return []string{"--addr", addr, "--data-dir", sbDir, "--retry-scale", "0.001",
			"--app-gateway", "http://127.0.0.1:1/v1/notify/alipay"}
	}
	sb := startSandbox(t, sbArgs("127.0.0.1:0")...)
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := startProcess(t, append([]string{"--sandbox=false", "--alipay-config", sb.alipayConfig,
		"--wechat-config", sb.wechatConfig, "--commission-bps", "500"}, b.serve...)...)
	a := client{t, p.base}
	// Payout messages go to the application gateway set in Alipay's console.
	cfg, err := os.ReadFile(sb.alipayConfig)
	if err != nil {
		t.Fatal(err)
	}
	var appCfg struct {
		AppID string `json:"app_id"`
	}
	if err := json.Unmarshal(cfg, &appCfg); err != nil {
		t.Fatal(err)
	}
	control(t, sb.base, "/alipay/sandbox/app-gateway", url.Values{"app_id": {appCfg.AppID}, "url": {p.base + "/v1/notify/alipay"}})

	s := a.shop(key, 9900)
	wx, wxNo, _ := a.order(s)
	ali, aliNo, _ := a.order(s)
	down, downNo, _ := a.order(s)
	a.payAt(s.buyer, wx, "wechat_native")
	a.payAt(s.buyer, ali, "alipay_qr")

	control(t, sb.base, "/wechat/sandbox/notifications", url.Values{"mode": {"hold"}})
	control(t, sb.base, "/alipay/sandbox/notifications/delay", url.Values{"delay": {"5s"}, "count": {"1"}})
	control(t, sb.base, "/wechat/sandbox/pay", url.Values{"out_trade_no": {wxNo}})
	control(t, sb.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {aliNo}})
	if ns := wechatNotifications(t, sb.base, "TRANSACTION.SUCCESS"); len(ns) != 1 || ns[0]["status"] != "pending" {
		t.Fatalf("WeChat's notifications before the crash: %v", ns)
	}
	if ns := alipayNotifications(t, sb.base, aliNo); len(ns) != 1 || ns[0]["state"] != "pending" || ns[0]["attempts"] != 0.0 {
		t.Fatalf("Alipay's notifications before the crash: %v", ns)
	}

	sb.kill(t)
	for _, id := range []string{wx, ali} {
		if o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, ""); o["status"] != "pending" {
			t.Errorf("order %s before any notification: %v", id, o)
		}
	}
	// Paying while the gateway is down is answered "try again" (503, as
	// the channel contract has it for an unreachable channel), and leaves
	// the order payable.
	code, e := a.call(s.buyer, "POST", "/v1/orders/"+down+"/pay", `{"method":"alipay_qr"}`)
	if errObj, _ := e["error"].(map[string]any); code != http.StatusServiceUnavailable || errObj["code"] != "unavailable" {
		t.Errorf("paying while Alipay is down: %d %v, want 503 unavailable", code, e)
	}
	if o := a.must(200, s.buyer, "GET", "/v1/orders/"+down, ""); o["status"] != "pending" {
		t.Errorf("the order paid while Alipay was down: %v", o)
	}

	sb2 := startSandbox(t, sbArgs(strings.TrimPrefix(sb.base, "http://"))...)
	if sb2.base != sb.base {
		t.Fatalf("restarted at %s, not %s", sb2.base, sb.base)
	}
	// The restarted gateway still knows the trades it was paid for.
	if tr, _ := getJSON(t, sb2.base+"/wechat/sandbox/state")["trades"].(map[string]any)[wxNo].(map[string]any); tr == nil || tr["state"] != "SUCCESS" {
		t.Errorf("WeChat's trade %s after the restart: %v", wxNo, tr)
	}
	trades, _ := getJSON(t, sb2.base+"/alipay/sandbox/trades")["trades"].([]any)
	var aliPaid bool
	for _, tr := range trades {
		tr := tr.(map[string]any)
		aliPaid = aliPaid || (tr["out_trade_no"] == aliNo && tr["status"] == "TRADE_SUCCESS")
	}
	if !aliPaid {
		t.Errorf("Alipay's trades after the restart: %v, want %s paid", trades, aliNo)
	}
	control(t, sb2.base, "/wechat/sandbox/notifications", url.Values{"mode": {"deliver"}})
	control(t, sb2.base, "/wechat/sandbox/notifications/flush", nil)
	a.awaitOrder(s.buyer, wx, "paid", 15*time.Second)
	a.awaitOrder(s.buyer, ali, "paid", 15*time.Second)

	// The buyer tries again now that Alipay is back.
	a.payAt(s.buyer, down, "alipay_qr")
	control(t, sb2.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {downNo}})
	a.awaitOrder(s.buyer, down, "paid", 15*time.Second)

	a.paidOnce(s.buyer, wx, "wechat")
	a.paidOnce(s.buyer, ali, "alipay")
	a.paidOnce(s.buyer, down, "alipay")
	if ns := wechatNotifications(t, sb2.base, "TRANSACTION.SUCCESS"); len(ns) != 1 || ns[0]["status"] != "delivered" {
		t.Errorf("WeChat's notifications after the restart: %v", ns)
	}
	if ns := alipayNotifications(t, sb2.base, aliNo); len(ns) != 1 || ns[0]["state"] != "delivered" {
		t.Errorf("Alipay's notifications after the restart: %v", ns)
	}
	p.stop(t)
	sb2.stop(t)
	verifyLedger(t, b)
}

// notifyRecorder stands in front of Bursar as its public URL: it passes
// everything on, except the channels' notifications, which it keeps and
// answers with a failure, as if Bursar were unreachable. The test then
// delivers them itself.
type notifyRecorder struct {
	target atomic.Pointer[url.URL]
	mu     sync.Mutex
	got    []captured
}

type captured struct {
	path   string
	header http.Header
	body   []byte
}

func (rec *notifyRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/notify/") {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.got = append(rec.got, captured{r.URL.Path, r.Header.Clone(), body})
		rec.mu.Unlock()
		http.Error(w, "unreachable", http.StatusBadGateway)
		return
	}
	target := rec.target.Load()
	if target == nil {
		http.Error(w, "no target yet", http.StatusServiceUnavailable)
		return
	}
	httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
}

// find returns the first notification kept whose path and body contain
// the strings.
func (rec *notifyRecorder) find(path, contains string) (captured, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, c := range rec.got {
		if c.path == path && bytes.Contains(c.body, []byte(contains)) {
			return c, true
		}
	}
	return captured{}, false
}

func (rec *notifyRecorder) count(path string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, c := range rec.got {
		if c.path == path {
			n++
		}
	}
	return n
}

// deliver posts a kept notification, with its headers, to Bursar and
// returns the answer.
func deliver(t *testing.T, base string, c captured, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+c.path, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	for k, v := range c.header {
		if k != "Content-Length" {
			req.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// deliverMany posts a notification n times at once and returns the
// answers.
func deliverMany(t *testing.T, base string, c captured, n int) []string {
	answers := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			code, body := deliver(t, base, c, c.body)
			answers[i] = fmt.Sprintf("%d %s", code, body)
		})
	}
	close(start)
	wg.Wait()
	return answers
}

// oneByte returns a copy of body with one byte changed: the first letter
// or digit at or after offset bytes past marker, which must be there.
func oneByte(t *testing.T, body []byte, marker string, offset int) []byte {
	t.Helper()
	i := bytes.Index(body, []byte(marker))
	if i < 0 {
		t.Fatalf("no %q in %s", marker, body)
	}
	out := bytes.Clone(body)
	for j := i + len(marker) + offset; j < len(out); j++ {
		if c := flip(out[j]); c != out[j] {
			out[j] = c
			return out
		}
	}
	t.Fatalf("nothing to change after %q in %s", marker, body)
	return nil
}

// flip changes a letter or digit to another of the same kind; it leaves
// anything else alone.
func flip(c byte) byte {
	switch {
	case c >= '0' && c <= '8', c >= 'a' && c <= 'y', c >= 'A' && c <= 'Y':
		return c + 1
	case c == '9':
		return '0'
	case c == 'z':
		return 'a'
	case c == 'Z':
		return 'A'
	}
	return c
}

// TestNotificationReplay delivers each channel's genuine notification many
// times, ten at once while the order is still pending and ten more once it
// is paid: the order is paid once, with one ledger entry. Copies with one
// byte changed are refused and change nothing.
func TestNotificationReplay(t *testing.T) {
	t.Parallel()
	notificationReplay(t, sqliteBackend(t))
}

func notificationReplay(t *testing.T, b backend) {
	rec := &notifyRecorder{}
	front := httptest.NewServer(rec)
	defer front.Close()
	key := createKey(t, b.db...)
	p := serveChannels(t, b, "--public-url", front.URL)
	target, err := url.Parse(p.base)
	if err != nil {
		t.Fatal(err)
	}
	rec.target.Store(target)
	a := client{t, p.base}
	s := a.shop(key, 9900)

	t.Run("alipay", func(t *testing.T) {
		a := client{t, p.base}
		id, no, _ := a.order(s)
		a.payAt(s.buyer, id, "alipay_qr")
		control(t, p.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {no}})
		var c captured
		eventually(t, 15*time.Second, "Alipay's notification reaches the front", func() (bool, any) {
			var ok bool
			c, ok = rec.find("/v1/notify/alipay", "out_trade_no="+no)
			return ok, rec.count("/v1/notify/alipay")
		})
		form, err := url.ParseQuery(string(c.body))
		if err != nil || form.Get("total_amount") != "99.00" || form.Get("sign") == "" {
			t.Fatalf("the notification: %v %v", form, err)
		}
		tampered := map[string][]byte{
			"amount":       oneByte(t, c.body, "&total_amount=", 0),
			"order number": oneByte(t, c.body, "&out_trade_no=", len(no)-1),
			"signature":    oneByte(t, c.body, "&sign=", 20),
			"buyer":        oneByte(t, c.body, "&buyer_id=", 4),
		}
		check := func(when string) {
			t.Helper()
			for what, body := range tampered {
				if code, ans := deliver(t, p.base, c, body); code != 200 || ans != "fail" {
					t.Errorf("%s, a notification with its %s changed: %d %q, want 200 fail", when, what, code, ans)
				}
			}
		}
		check("while pending")
		if o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, ""); o["status"] != "pending" {
			t.Fatalf("tampered notifications changed the order: %v", o)
		}
		if k := a.entryKinds(key, id); len(k) != 0 {
			t.Fatalf("tampered notifications posted %v", k)
		}
		for round, when := range []string{"while pending", "once paid"} {
			for i, ans := range deliverMany(t, p.base, c, 10) {
				if ans != "200 success" {
					t.Errorf("%s, copy %d: %q, want 200 success", when, i, ans)
				}
			}
			if round == 0 {
				if o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, ""); o["status"] != "paid" {
					t.Errorf("after ten copies at once: %v", o)
				}
			}
			a.paidOnce(key, id, "alipay")
		}
		check("once paid")
		if o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, ""); o["status"] != "paid" || o["refunded"] != 0.0 {
			t.Errorf("in the end: %v", o)
		}
		a.paidOnce(key, id, "alipay")
	})

	t.Run("wechat", func(t *testing.T) {
		a := client{t, p.base}
		id, no, _ := a.order(s)
		a.payAt(s.buyer, id, "wechat_native")
		control(t, p.base, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
		var c captured
		eventually(t, 15*time.Second, "WeChat's notification reaches the front", func() (bool, any) {
			var ok bool
			c, ok = rec.find("/v1/notify/wechat", `"TRANSACTION.SUCCESS"`)
			return ok, rec.count("/v1/notify/wechat")
		})
		header := func(name string, offset int) http.Header {
			h := c.header.Clone()
			h.Set(name, string(oneByte(t, []byte(h.Get(name)), "", offset)))
			return h
		}
		tampered := map[string]captured{
			"ciphertext": {c.path, c.header, oneByte(t, c.body, `"ciphertext":"`, 10)},
			"signature":  {c.path, header("Wechatpay-Signature", 10), c.body},
			"timestamp":  {c.path, header("Wechatpay-Timestamp", len(c.header.Get("Wechatpay-Timestamp"))-1), c.body},
			"nonce":      {c.path, header("Wechatpay-Nonce", 0), c.body},
		}
		check := func(when string) {
			t.Helper()
			for what, tc := range tampered {
				if code, _ := deliver(t, p.base, tc, tc.body); code != http.StatusInternalServerError {
					t.Errorf("%s, a notification with its %s changed: %d, want 500", when, what, code)
				}
			}
		}
		check("while pending")
		if o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, ""); o["status"] != "pending" {
			t.Fatalf("tampered notifications changed the order: %v", o)
		}
		for _, when := range []string{"while pending", "once paid"} {
			for i, ans := range deliverMany(t, p.base, c, 10) {
				if ans != "204 " {
					t.Errorf("%s, copy %d: %q, want 204", when, i, ans)
				}
			}
			a.awaitOrder(s.buyer, id, "paid", time.Second)
			a.paidOnce(key, id, "wechat")
		}
		check("once paid")
		a.paidOnce(key, id, "wechat")
	})
	p.stop(t)
	// Bursar's log tells what each copy did: the sandboxes' own attempts
	// never got past the front, so these are the test's copies alone.
	log := p.logText()
	for _, ch := range []string{"alipay", "wechat"} {
		outcomes := map[string]int{}
		for _, l := range strings.Split(log, "\n") {
			var e struct{ Msg, Channel, Outcome string }
			if json.Unmarshal([]byte(l), &e) == nil && e.Channel == ch {
				switch e.Msg {
				case "channel notification":
					outcomes[e.Outcome]++
				case "channel notification rejected":
					outcomes["rejected"]++
				}
			}
		}
		if want := map[string]int{"applied": 1, "duplicate": 19, "rejected": 8}; fmt.Sprint(outcomes) != fmt.Sprint(want) {
			t.Errorf("%s notifications: %v, want %v", ch, outcomes, want)
		}
	}
	verifyLedger(t, b)
}

// TestChannelsOnPostgres runs the Alipay purchase and the replayed
// notifications on PostgreSQL, where ten copies at once really run in
// parallel transactions.
func TestChannelsOnPostgres(t *testing.T) {
	t.Parallel()
	t.Run("alipay purchase", func(t *testing.T) {
		t.Parallel()
		alipayPurchase(t, postgresBackend(t))
	})
	t.Run("notification replay", func(t *testing.T) {
		t.Parallel()
		notificationReplay(t, postgresBackend(t))
	})
	t.Run("withdrawals at once", func(t *testing.T) {
		t.Parallel()
		withdrawalsAtOnce(t, postgresBackend(t))
	})
}

// withdrawalsAtOnce sends a seller's withdrawals all at once: the day's
// limit of three holds, and the rest are refused with nothing moved.
func withdrawalsAtOnce(t *testing.T, b backend) {
	key := createKey(t, b.db...)
	p := serveChannels(t, b)
	a := client{t, p.base}
	seller := a.user(key, "seller")
	a.must(201, key, "POST", "/v1/users/seller/wallet/adjustments", `{"account":"user_earnings","amount":100000,"reason":"sales"}`)
	const n = 8
	codes := make([]int, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			code, w, err := a.try(seller, "POST", "/v1/withdrawals",
				`{"user_id":"seller","amount":1000,"account":"seller@example.com","name":"张三","payment_password":"246810"}`)
			if err != nil {
				t.Error(err)
			}
			codes[i] = code
			ids[i], _ = w["id"].(string)
		})
	}
	wg.Wait()
	count := map[int]int{}
	for i, code := range codes {
		count[code]++
		if code == 201 {
			a.awaitOrder(seller, ids[i], "succeeded", 15*time.Second)
		}
	}
	if count[201] != 3 || count[429] != n-3 {
		t.Errorf("%d withdrawals at once were answered %v, want 3 × 201 and %d × 429", n, count, n-3)
	}
	if w := a.wallet(seller, "seller"); w["earnings"] != 97000.0 {
		t.Errorf("earnings: %v, want 97000", w)
	}
	p.stop(t)
	verifyLedger(t, b)
}

// TestPaidTwice has the buyer pay one order at both channels: the order is
// paid once, and the second payment goes back to the payer through its
// channel.
func TestPaidTwice(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := serveChannels(t, b)
	a := client{t, p.base}
	s := a.shop(key, 9900)
	id, no, _ := a.order(s)
	a.payAt(s.buyer, id, "alipay_qr")
	a.payAt(s.buyer, id, "wechat_native")
	control(t, p.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {no}})
	control(t, p.base, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
	a.awaitOrder(s.buyer, id, "paid", 15*time.Second)
	var ps []map[string]any
	eventually(t, 30*time.Second, "the second payment is returned", func() (bool, any) {
		ps = a.payments(s.buyer, id)
		statuses := map[any]int{}
		for _, p := range ps {
			statuses[p["status"]]++
		}
		return len(ps) == 2 && statuses["paid"] == 1 && statuses["returned"] == 1, ps
	})
	o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, "")
	var returned string
	for _, p := range ps {
		if p["status"] == "returned" {
			returned = p["channel"].(string)
		}
	}
	if o["status"] != "paid" || o["channel"] == returned || o["refunded"] != 0.0 {
		t.Errorf("order %v, with its %s payment returned", o, returned)
	}
	if k := a.entryKinds(key, id); k["channel_pay"] != 1 || k["duplicate_payment"] != 1 || k["duplicate_return"] != 1 {
		t.Errorf("entries: %v", k)
	}
	// The channel that was paid twice refunded its payment in full.
	switch returned {
	case "alipay":
		trades, _ := getJSON(t, p.base+"/alipay/sandbox/trades")["trades"].([]any)
		for _, tr := range trades {
			if tr := tr.(map[string]any); tr["out_trade_no"] == no && tr["refunded"] != 9900.0 {
				t.Errorf("Alipay's trade: %v, want 9900 refunded", tr)
			}
		}
	case "wechat":
		var sum float64
		for _, rf := range getJSON(t, p.base+"/wechat/sandbox/state")["refunds"].(map[string]any) {
			if rf := rf.(map[string]any); rf["out_trade_no"] == no && rf["status"] == "SUCCESS" {
				sum += rf["amount"].(float64)
			}
		}
		if sum != 9900 {
			t.Errorf("WeChat refunded %v, want 9900", sum)
		}
	}
	p.stop(t)
	verifyLedger(t, b)
}

// TestChannelRefundRefused has the channel refuse a refund: it goes back to
// the seller to decide again, and a second approval goes through under a
// new refund number.
func TestChannelRefundRefused(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := serveChannels(t, b)
	a := client{t, p.base}
	s := a.shop(key, 9900)
	for _, c := range []struct {
		method, pay string
		refuse      func()
	}{
		{"alipay_qr", "/alipay/sandbox/pay", func() {
			control(t, p.base, "/alipay/sandbox/fail-next", url.Values{"what": {"refund"}})
		}},
		{"wechat_native", "/wechat/sandbox/pay", func() {
			control(t, p.base, "/wechat/sandbox/next-refund", url.Values{"status": {"CLOSED"}})
		}},
	} {
		id, no, _ := a.order(s)
		a.payAt(s.buyer, id, c.method)
		control(t, p.base, c.pay, url.Values{"out_trade_no": {no}})
		a.awaitOrder(s.buyer, id, "paid", 15*time.Second)
		rid := a.must(201, s.buyer, "POST", "/v1/orders/"+id+"/refunds", `{"reason":"wrong course"}`)["id"].(string)
		c.refuse()
		if r := a.must(200, s.seller, "POST", "/v1/refunds/"+rid+"/approve", `{}`); r["status"] != "processing" {
			t.Errorf("%s: approved: %v", c.method, r)
		}
		eventually(t, 15*time.Second, c.method+": the refused refund is back to be decided", func() (bool, any) {
			r := a.must(200, s.buyer, "GET", "/v1/refunds/"+rid, "")
			return r["status"] == "requested", r
		})
		if o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, ""); o["status"] != "refund_requested" || o["refunded"] != 0.0 {
			t.Errorf("%s: after the refusal: %v", c.method, o)
		}
		if k := a.entryKinds(key, id); k["refund"] != 0 {
			t.Errorf("%s: a refused refund moved money: %v", c.method, k)
		}
		a.must(200, s.seller, "POST", "/v1/refunds/"+rid+"/approve", `{"note":"try again"}`)
		o := a.awaitOrder(s.buyer, id, "refunded", 15*time.Second)
		if o["refunded"] != 9900.0 {
			t.Errorf("%s: refunded order: %v", c.method, o)
		}
		if k := a.entryKinds(key, id); k["channel_pay"] != 1 || k["refund"] != 1 {
			t.Errorf("%s: entries: %v", c.method, k)
		}
	}
	p.stop(t)
	verifyLedger(t, b)
}

// TestExpiredOrderClosedAtChannel lets orders the buyer opened but never
// paid expire: Bursar closes them at the channels too, so the buyer can no
// longer pay.
func TestExpiredOrderClosedAtChannel(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := serveChannels(t, b, "--order-expiry", "3s")
	a := client{t, p.base}
	s := a.shop(key, 9900)
	type pending struct{ method, pay, id, no string }
	var orders []pending
	for _, c := range []pending{{method: "alipay_qr", pay: "/alipay/sandbox/pay"}, {method: "wechat_native", pay: "/wechat/sandbox/pay"}} {
		c.id, c.no, _ = a.order(s)
		open(t, a.payAt(s.buyer, c.id, c.method)["url"].(string)) // the buyer scans the code, and leaves
		orders = append(orders, c)
	}
	for _, c := range orders {
		id, no := c.id, c.no
		a.awaitOrder(s.buyer, id, "closed", 20*time.Second)
		if ps := a.payments(s.buyer, id); len(ps) != 1 || ps[0]["status"] != "closed" {
			t.Errorf("%s: payments of the closed order: %v", c.method, ps)
		}
		resp, err := http.PostForm(p.base+c.pay, url.Values{"out_trade_no": {no}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("%s: the buyer paid a closed order: %s", c.method, body)
		}
		code, _ := a.call(s.buyer, "POST", "/v1/orders/"+id+"/pay", `{"method":"`+c.method+`"}`)
		if code != http.StatusConflict {
			t.Errorf("%s: paying the closed order again: %d, want 409", c.method, code)
		}
		if k := a.entryKinds(key, id); len(k) != 0 {
			t.Errorf("%s: entries of the closed order: %v", c.method, k)
		}
	}
	p.stop(t)
	verifyLedger(t, b)
}

// TestHungChannelDelaysOtherJobs hangs the sandbox (SIGSTOP: it accepts
// connections and never answers) while a payout is due: the escrow release
// of a wallet purchase, which needs no channel, must still happen on time.
// It does not: the release waits behind the payout's call until Alipay's
// 15 s timeout, and behind every other channel job due before it.
func TestHungChannelDelaysOtherJobs(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--retry-scale", "0.001")
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := startProcess(t, append([]string{"--sandbox=false", "--alipay-config", sb.alipayConfig,
		"--wechat-config", sb.wechatConfig}, b.serve...)...)
	a := client{t, p.base}
	buyer, seller := a.user(key, "buyer"), a.user(key, "seller")
	a.must(201, key, "POST", "/v1/users/buyer/wallet/adjustments", `{"amount":10000,"reason":"funds"}`)
	a.must(201, key, "POST", "/v1/users/seller/wallet/adjustments", `{"account":"user_earnings","amount":10000,"reason":"funds"}`)
	item := a.must(201, seller, "POST", "/v1/items", `{"seller_id":"seller","kind":"course","title":"Go","price":1000,"hold_seconds":1}`)["id"].(string)

	if err := sb.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sb.cmd.Process.Signal(syscall.SIGCONT) }()
	a.must(201, seller, "POST", "/v1/withdrawals",
		`{"user_id":"seller","amount":1000,"account":"seller@example.com","name":"张三","payment_password":"246810"}`)
	// Due jobs run oldest first: the payout, then the release.
	id := a.must(201, buyer, "POST", "/v1/orders", `{"buyer_id":"buyer","item_id":"`+item+`"}`)["id"].(string)
	o := a.must(200, buyer, "POST", "/v1/orders/"+id+"/pay", `{"method":"wallet","payment_password":"246810"}`)
	releaseAt, err := time.Parse(time.RFC3339Nano, o["release_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	a.awaitOrder(buyer, id, "completed", 30*time.Second)
	if late := time.Since(releaseAt); late > 5*time.Second {
		t.Errorf("the escrow was released %v late, behind a payout waiting for a hung Alipay", late.Round(time.Second))
	}
	if err := sb.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	p.stop(t)
	verifyLedger(t, b)
}

// freePort returns a port nothing listens on just now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestPublicURLWithTrailingSlash gives --public-url as people often write
// it, with a trailing slash. serve must either refuse it or still receive
// the channels' notifications.
func TestPublicURLWithTrailingSlash(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	addr := freePort(t)
	p, lines, code := launch(t, 1, append([]string{"serve", "--addr", addr, "--public-url", "http://" + addr + "/",
		"--sandbox-retry-scale", "0.001"}, b.serve...)...)
	if p == nil {
		if code != exitUsage {
			t.Fatalf("serve ended with exit code %d, want %d (a usage error) or to run", code, exitUsage)
		}
		return // refused: fine
	}
	p.base = strings.TrimPrefix(lines[0], "bursar listening on ")
	a := client{t, p.base}
	s := a.shop(key, 9900)
	id, no, _ := a.order(s)
	a.payAt(s.buyer, id, "alipay_qr")
	control(t, p.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {no}})
	a.awaitOrder(s.buyer, id, "paid", 10*time.Second)
	p.stop(t)
	verifyLedger(t, b)
}

// TestEveryPaymentMethod pays one order with each method the API offers,
// the way the buyer's client would: opening the page or the code's page,
// or handing the order string or parameters to the channel's SDK.
func TestEveryPaymentMethod(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := serveChannels(t, b)
	a := client{t, p.base}
	s := a.shop(key, 1234)
	type paying struct{ id, no, method string }
	var orders []paying
	for _, c := range []struct {
		method, body, has string
	}{
		{"alipay_page", `"return_url":"https://shop.example/done"`, "url"},
		{"alipay_wap", `"return_url":"https://shop.example/done"`, "url"},
		{"alipay_app", ``, "order_string"},
		{"alipay_qr", ``, "url"},
		{"wechat_native", ``, "url"},
		{"wechat_jsapi", `"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"`, "params"},
		{"wechat_h5", `"client_ip":"203.0.113.9"`, "url"},
		{"wechat_app", ``, "params"},
	} {
		id, no, _ := a.order(s)
		body := `{"method":"` + c.method + `"`
		if c.body != "" {
			body += "," + c.body
		}
		o := a.must(200, s.buyer, "POST", "/v1/orders/"+id+"/pay", body+"}")
		na, _ := o["next_action"].(map[string]any)
		if na == nil || na["method"] != c.method || na[c.has] == nil || na[c.has] == "" {
			t.Errorf("%s: next_action %v lacks %s", c.method, na, c.has)
			continue
		}
		form := url.Values{"out_trade_no": {no}}
		switch c.has {
		case "url":
			if u := na["url"].(string); strings.HasPrefix(u, "http") {
				open(t, u) // the buyer's browser, or the page of the QR code
			}
		case "order_string":
			form = url.Values{"order_string": {na["order_string"].(string)}} // what the Alipay app gets
		}
		pay := map[string]string{"alipay": "/alipay/sandbox/pay", "wechat": "/wechat/sandbox/pay"}[strings.Split(c.method, "_")[0]]
		control(t, p.base, pay, form)
		orders = append(orders, paying{id, no, c.method})
	}
	for _, o := range orders {
		got := a.awaitOrder(s.buyer, o.id, "paid", 15*time.Second)
		ch := strings.Split(o.method, "_")[0]
		if got["channel"] != ch {
			t.Errorf("%s: %v", o.method, got)
		}
		a.paidOnce(s.buyer, o.id, ch)
		if ps := a.payments(s.buyer, o.id); ps[0]["method"] != o.method || ps[0]["amount"] != 1234.0 {
			t.Errorf("%s: payment %v", o.method, ps[0])
		}
	}
	p.stop(t)
	verifyLedger(t, b)
}

// TestAlipayRefunds refunds an Alipay purchase in two parts through Alipay.
func TestAlipayRefunds(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := serveChannels(t, b)
	a := client{t, p.base}
	s := a.shop(key, 10000)
	id, no, _ := a.order(s)
	a.payAt(s.buyer, id, "alipay_qr")
	control(t, p.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {no}})
	a.awaitOrder(s.buyer, id, "paid", 15*time.Second)
	for i, c := range []struct {
		body, status string
		refunded     float64
	}{
		{`{"amount":2500,"reason":"a chapter is missing"}`, "paid", 2500},
		{`{"reason":"the rest too"}`, "refunded", 10000},
	} {
		rid := a.must(201, s.buyer, "POST", "/v1/orders/"+id+"/refunds", c.body)["id"].(string)
		if r := a.must(200, s.seller, "POST", "/v1/refunds/"+rid+"/approve", `{}`); r["status"] != "processing" {
			t.Errorf("refund %d approved: %v", i, r)
		}
		eventually(t, 15*time.Second, fmt.Sprintf("refund %d succeeds", i), func() (bool, any) {
			r := a.must(200, s.buyer, "GET", "/v1/refunds/"+rid, "")
			return r["status"] == "succeeded", r
		})
		if o := a.must(200, s.buyer, "GET", "/v1/orders/"+id, ""); o["status"] != c.status || o["refunded"] != c.refunded {
			t.Errorf("after refund %d: %v, want %s with %v refunded", i, o, c.status, c.refunded)
		}
	}
	for _, tr := range getJSON(t, p.base+"/alipay/sandbox/trades")["trades"].([]any) {
		if tr := tr.(map[string]any); tr["out_trade_no"] == no && (tr["refunded"] != 10000.0 || tr["status"] != "TRADE_CLOSED") {
			t.Errorf("Alipay's trade: %v, want closed with 10000 refunded", tr)
		}
	}
	if k := a.entryKinds(key, id); k["channel_pay"] != 1 || k["refund"] != 2 {
		t.Errorf("entries: %v", k)
	}
	p.stop(t)
	verifyLedger(t, b)
}

// TestBursarKilledMidFlow kills Bursar (SIGKILL) while the channels have
// payments to tell it about: they keep trying on their retry schedules, and
// once Bursar is back on the same address each order is paid exactly once.
func TestBursarKilledMidFlow(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--retry-scale", "0.01")
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	addr := freePort(t)
	serve := func() *process {
		return startProcess(t, append([]string{"--addr", addr, "--public-url", "http://" + addr, "--sandbox=false",
			"--alipay-config", sb.alipayConfig, "--wechat-config", sb.wechatConfig}, b.serve...)...)
	}
	p := serve()
	a := client{t, p.base}
	s := a.shop(key, 9900)
	ali, aliNo, _ := a.order(s)
	wx, wxNo, _ := a.order(s)
	a.payAt(s.buyer, ali, "alipay_qr")
	a.payAt(s.buyer, wx, "wechat_native")

	p.kill(t)
	control(t, sb.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {aliNo}})
	control(t, sb.base, "/wechat/sandbox/pay", url.Values{"out_trade_no": {wxNo}})
	eventually(t, 10*time.Second, "both channels fail to reach Bursar", func() (bool, any) {
		an := alipayNotifications(t, sb.base, aliNo)
		wn := wechatNotifications(t, sb.base, "TRANSACTION.SUCCESS")
		return len(an) == 1 && an[0]["attempts"].(float64) >= 1 && len(wn) == 1 && wn[0]["attempts"].(float64) >= 1, []any{an, wn}
	})

	p = serve()
	if p.base != "http://"+addr {
		t.Fatalf("restarted at %s, not %s", p.base, addr)
	}
	a = client{t, p.base}
	a.awaitOrder(s.buyer, ali, "paid", 20*time.Second)
	a.awaitOrder(s.buyer, wx, "paid", 20*time.Second)
	a.paidOnce(s.buyer, ali, "alipay")
	a.paidOnce(s.buyer, wx, "wechat")
	p.stop(t)
	sb.stop(t)
	verifyLedger(t, b)
}

// TestTopupRetriedAfterChannelOutage retries a top-up that Alipay could not
// take (503: try again) under the same Idempotency-Key once Alipay is back:
// the retry must not leave the first attempt's order behind.
func TestTopupRetriedAfterChannelOutage(t *testing.T) {
	t.Parallel()
	sbDir := t.TempDir()
	sb := startSandbox(t, "--addr", "127.0.0.1:0", "--data-dir", sbDir)
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := startProcess(t, append([]string{"--sandbox=false", "--alipay-config", sb.alipayConfig,
		"--wechat-config", sb.wechatConfig}, b.serve...)...)
	a := client{t, p.base}
	buyer := a.user(key, "buyer")
	topup := func() (int, map[string]any) {
		req, err := http.NewRequest(http.MethodPost, p.base+"/v1/topups",
			strings.NewReader(`{"user_id":"buyer","amount":5000,"method":"alipay_qr"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+buyer)
		req.Header.Set("Idempotency-Key", "topup-2026-11-23-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, m
	}
	sb.kill(t)
	// The top-up is made, and says why it cannot be paid yet.
	code, first := topup()
	perr, _ := first["last_payment_error"].(map[string]any)
	if code != http.StatusCreated || perr["code"] != "unavailable" || first["next_action"] != nil {
		t.Fatalf("a top-up while Alipay is down: %d %v, want 201 with last_payment_error unavailable", code, first)
	}
	sb = startSandbox(t, "--addr", strings.TrimPrefix(sb.base, "http://"), "--data-dir", sbDir)
	// A retry under the same key is the same top-up; it is paid again by id.
	code, m := topup()
	if code != http.StatusCreated || m["id"] != first["id"] {
		t.Fatalf("the retry: %d %v, want the first top-up again", code, m)
	}
	id := first["id"].(string)
	paying := a.must(200, buyer, "POST", "/v1/orders/"+id+"/pay", `{"method":"alipay_qr"}`)
	if paying["next_action"] == nil {
		t.Fatalf("paying the top-up again gave no next action: %v", paying)
	}
	control(t, sb.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {first["order_no"].(string)}})
	a.awaitOrder(buyer, id, "completed", 10*time.Second)
	list := a.must(200, buyer, "GET", "/v1/orders?type=topup&role=buyer&limit=10", "")["data"].([]any)
	if len(list) != 1 {
		t.Errorf("one top-up retried under one key left %d top-up orders: %v", len(list), list)
	}
	p.stop(t)
	verifyLedger(t, b)
}
