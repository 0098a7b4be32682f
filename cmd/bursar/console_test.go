package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Browser tests of the admin console at /admin: a real `bursar serve` with
// its Alipay and WeChat Pay sandboxes, state made through the v1 API, the
// command line and the sandboxes, and Debian's Chromium, headless, driven
// through chromedp: sign in, find an order, decide refunds and withdrawals,
// resolve a reconciliation exception, re-send a webhook, sign out. A full
// page screenshot of each main page is written to BURSAR_SCREENSHOTS (by
// default bursar-console-screenshots in the temporary directory).
//
// Without a browser on PATH the tests skip, saying how to install one
// (scripts/install-chromium.sh); with CI=true they fail instead.

// browserStepTimeout bounds each browser subtest, so a page that never shows
// what a test waits for fails it instead of hanging the run.
const browserStepTimeout = 60 * time.Second

// browserLifetime bounds a whole browser, in case Chromium itself hangs.
const browserLifetime = 8 * time.Minute

// chromiumPath finds Chromium or Chrome on PATH. Where there is none, the
// test skips with how to install it, or fails under CI=true, as the
// PostgreSQL tests do.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no Chromium on PATH (looked for chromium, chromium-browser, google-chrome): " +
		"the console's browser tests need it; install Debian's package with scripts/install-chromium.sh " +
		"(apt-get install chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless Chromium with a profile of its own, and
// returns a context whose tab runs the actions. The browser ends with the
// test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], // headless, no first-run dialogs
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()), // a fresh profile: no cookies from another run
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		// Chromium's sandbox (user namespaces and a setuid helper) refuses
		// to start as root, and CI and these machines run tests as root.
		// The pages are our own, served from 127.0.0.1, so running them
		// without that isolation risks nothing.
		opts = append(opts, chromedp.NoSandbox)
	}
	life, cancelLife := context.WithTimeout(context.Background(), browserLifetime)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// Cleanups run last-in first-out: the browser exits before t.TempDir
	// removes its profile.
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		cancelLife()
	})
	// The first action starts the browser and binds its life to the
	// context it runs with, so it runs with ctx itself, which has no step's
	// deadline (each step derives its own), and is bounded by a timer.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v", exe, err)
		}
	case <-time.After(browserStepTimeout):
		cancel()
		t.Fatalf("%s did not start within %v", exe, browserStepTimeout)
	}
	return ctx
}

// screenshotDir is where the pages' screenshots go: BURSAR_SCREENSHOTS, or
// bursar-console-screenshots in the temporary directory.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BURSAR_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "bursar-console-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// page drives one browser tab for one subtest, with the subtest's
// deadline; every failure stops the subtest.
type page struct {
	t     *testing.T
	tab   context.Context // the tab, without the subtest's deadline
	ctx   context.Context
	base  string // the console's origin as the browser sees it
	dir   string // where screenshots go, and what a failed step showed
	shoot bool   // whether to take the pages' screenshots
}

func newPage(t *testing.T, tab context.Context, base, dir string, shoot bool) *page {
	ctx, cancel := context.WithTimeout(tab, browserStepTimeout)
	t.Cleanup(cancel)
	p := &page{t: t, tab: tab, ctx: ctx, base: base, dir: dir, shoot: shoot}
	t.Cleanup(func() {
		if t.Failed() {
			p.dump(failedPrefix + fileName(t.Name()))
		}
	})
	return p
}

// failedPrefix starts the names of the files that show a failed step.
const failedPrefix = "failed-"

// fileName makes a test's name a file name.
func fileName(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(s, "_")
}

// clearFailures removes what earlier runs of the test left of failed steps.
func clearFailures(t *testing.T, dir string) {
	old, _ := filepath.Glob(filepath.Join(dir, failedPrefix+fileName(t.Name())+"_*"))
	for _, f := range old {
		_ = os.Remove(f)
	}
}

// dump saves what the tab shows when a subtest failed, for the person who
// reads the log.
func (p *page) dump(name string) {
	ctx, cancel := context.WithTimeout(p.tab, 10*time.Second)
	defer cancel()
	if b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		f := filepath.Join(p.dir, name+".png")
		if os.WriteFile(f, b, 0o644) == nil {
			p.t.Logf("the page when it failed: %s", f)
		}
	}
	if html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); err == nil {
		f := filepath.Join(p.dir, name+".html")
		if os.WriteFile(f, []byte(html), 0o644) == nil {
			p.t.Logf("its HTML: %s", f)
		}
	}
}

func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v (at %s)", what, err, p.location())
	}
}

// open navigates to a path of the console and returns the HTTP status of
// the page it ends on (after redirects).
func (p *page) open(path string) int64 {
	p.t.Helper()
	resp, err := chromedp.Run(p.ctx, chromedp.NavigateResponse(p.base+path))
	if err != nil {
		p.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// submit clicks a form's button and waits for the page the form leads to
// (the console answers a POST with a redirect to a page).
func (p *page) submit(button string) int64 {
	p.t.Helper()
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		p.t.Fatalf("submit with %s: %v (at %s)", button, err, p.location())
	}
	return resp.Status
}

func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v (at %s)", sel, err, p.location())
	}
	return strings.TrimSpace(s)
}

// has says whether an element is on the page now, without waiting.
func (p *page) has(sel string) bool {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.querySelector(`+jsString(sel)+`) !== null`))
	if err != nil {
		p.t.Fatalf("look for %s: %v", sel, err)
	}
	return n
}

func (p *page) eval(js string) any {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[any](js))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (p *page) location() string {
	ctx, cancel := context.WithTimeout(p.tab, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return loc
}

// path is the page's path and query, without the origin.
func (p *page) path() string {
	p.t.Helper()
	return strings.TrimPrefix(p.location(), p.base)
}

// fill types into an input, replacing what it held.
func (p *page) fill(sel, value string) {
	p.t.Helper()
	p.do("fill "+sel, chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

// flash returns the page's message of success or failure, waiting for it.
func (p *page) flash(kind string) string {
	p.t.Helper()
	return p.text("main .flash." + kind)
}

// screenshot writes a full page PNG of what the tab shows and checks it.
func (p *page) screenshot(name string) {
	p.t.Helper()
	if !p.shoot {
		return
	}
	b, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)) // quality 100 is PNG
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	checkPNG(p.t, name, b)
	f := filepath.Join(p.dir, name+".png")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot of %s: %s", name, f)
}

// checkPNG requires a real picture of a page: a PNG that decodes, at least
// the window's width, and not a blank few bytes.
func checkPNG(t *testing.T, name string, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if sz := img.Bounds().Size(); sz.X < 1000 || sz.Y < 400 || len(b) < 10_000 {
		t.Fatalf("screenshot %s is %dx%d, %d bytes: too small to show a page", name, sz.X, sz.Y, len(b))
	}
}

// money reads an amount as the console shows it, ¥1,234.56, in fen.
func money(t *testing.T, s string) int64 {
	t.Helper()
	clean := strings.NewReplacer("¥", "", ",", "", " ", "").Replace(s)
	var yuan, fen int64
	if _, err := fmt.Sscanf(clean, "%d.%02d", &yuan, &fen); err != nil {
		t.Fatalf("%q is not an amount: %v", s, err)
	}
	if strings.HasPrefix(clean, "-") {
		return yuan*100 - fen
	}
	return yuan*100 + fen
}

// failingHook is a webhook endpoint that is down: it answers every
// delivery 500, so deliveries to it wait for their next try.
func failingHook(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// consoleWorld is a running Bursar with something in every queue of the
// console, made through the API, the command line and the sandboxes.
type consoleWorld struct {
	b    backend
	p    *process
	a    client
	key  string
	shop shop
	// The console's admins and their generated passwords.
	operator, operatorPassword string
	viewer, viewerPassword     string
	// Purchases paid from the buyer's wallet, each with a refund waiting:
	// the operator approves the first; the viewer fails to approve the
	// second, which stays waiting.
	order, orderNo, refund   string
	order2, refund2          string
	buyerCashBefore, price   int64
	sellerEarnings           int64
	withdrawal, withdrawalNo string // over the approval threshold: the operator rejects it
	withdrawal2              string // also waiting, left so
	// A WeChat Pay day reconciled with two exceptions: an amount that
	// differs on our order (resolved in the browser) and a payment we
	// never saw (left open).
	reconRun, exception, ghostException string
	reconOrderNo                        string
	// A webhook endpoint that fails, and a delivery to it waiting to be
	// retried.
	hook            *httptest.Server
	endpoint, event string
	delivery        float64
}

// newConsoleWorld starts `bursar serve` on b and fills it.
func newConsoleWorld(t *testing.T, b backend) *consoleWorld {
	t.Helper()
	w := &consoleWorld{b: b, price: 10000}
	w.key = createKey(t, b.db...)
	w.operator, w.operatorPassword = createAdmin(t, b, "ops.lead", "operator")
	w.viewer, w.viewerPassword = createAdmin(t, b, "auditor", "viewer")
	w.p = serveChannels(t, b)
	w.a = client{t, w.p.base}
	a := w.a

	// A webhook endpoint that is down, registered before any event, so
	// every order.paid gets a delivery to it.
	w.hook = failingHook(t)
	out, err := runCLI(t, append([]string{"webhooks", "endpoints", "create", "--json", "--url", w.hook.URL + "/hook",
		"--events", "order.paid"}, b.db...)...)
	if err != nil {
		t.Fatalf("webhooks endpoints create: %v\n%s", err, out)
	}
	var ep struct{ ID string }
	if err := json.Unmarshal([]byte(out), &ep); err != nil || ep.ID == "" {
		t.Fatalf("endpoint %s: %v", out, err)
	}
	w.endpoint = ep.ID

	// Two purchases paid from the buyer's wallet, each with a refund
	// request waiting for a decision.
	w.shop = a.shop(w.key, int(w.price))
	a.must(201, w.key, "POST", "/v1/users/buyer/wallet/adjustments", `{"amount":50000,"reason":"launch credit"}`)
	pay := func() (id, no, refund string) {
		id, no, _ = a.order(w.shop)
		a.must(200, w.shop.buyer, "POST", "/v1/orders/"+id+"/pay", `{"method":"wallet","payment_password":"246810"}`)
		r := a.must(201, w.shop.buyer, "POST", "/v1/orders/"+id+"/refunds", `{"reason":"the course is not what it said"}`)
		if r["status"] != "requested" {
			t.Fatalf("refund request: %v", r)
		}
		return id, no, r["id"].(string)
	}
	w.order, w.orderNo, w.refund = pay()
	w.order2, _, w.refund2 = pay()
	w.buyerCashBefore = int64(a.wallet(w.key, "buyer")["cash"].(float64))
	if w.buyerCashBefore != 50000-2*w.price {
		t.Fatalf("the buyer's cash after two purchases: %d", w.buyerCashBefore)
	}

	// Two withdrawals over the approval threshold (5,000 yuan), waiting.
	a.must(201, w.key, "POST", "/v1/users/seller/wallet/adjustments",
		`{"account":"user_earnings","amount":2000000,"reason":"sales before the migration"}`)
	withdraw := func(amount int) (string, string) {
		o := a.must(201, w.shop.seller, "POST", "/v1/withdrawals", fmt.Sprintf(
			`{"user_id":"seller","amount":%d,"account":"seller@example.com","name":"张三","payment_password":"246810"}`, amount))
		if o["status"] != "requested" || o["needs_approval"] != true {
			t.Fatalf("a large withdrawal: %v, want it requested for approval", o)
		}
		return o["id"].(string), o["order_no"].(string)
	}
	w.withdrawal, w.withdrawalNo = withdraw(600000)
	w.withdrawal2, _ = withdraw(700000)
	w.sellerEarnings = int64(a.wallet(w.key, "seller")["earnings"].(float64))
	if w.sellerEarnings != 2000000-600000-700000 {
		t.Fatalf("the seller's earnings with two withdrawals held: %d", w.sellerEarnings)
	}

	// A purchase paid through WeChat Pay's sandbox, and today's bill with
	// two planted differences (WeChat serves a day's bill the same day;
	// Alipay only the next).
	id, no, _ := a.order(w.shop)
	a.payAt(w.shop.buyer, id, "wechat_native")
	control(t, w.p.base, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
	a.awaitOrder(w.shop.buyer, id, "paid", 15*time.Second)
	w.reconOrderNo = no
	date := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	control(t, w.p.base, "/wechat/sandbox/bill/plant", url.Values{"kind": {"amount"}, "date": {date},
		"out_trade_no": {no}, "amount": {"9990"}})
	control(t, w.p.base, "/wechat/sandbox/bill/plant", url.Values{"kind": {"extra_payment"}, "date": {date},
		"out_trade_no": {"GHOST-7"}, "amount": {"1234"}})
	// With serve's flags: its data dir holds the sandbox's keys.
	code, out, errOut := recon(t, append([]string{"--channel", "wechat", "--date", date, "--json"}, b.serve...)...)
	var run struct {
		ID            string `json:"id"`
		ExceptionList []struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
		} `json:"exception_list"`
	}
	if err := json.Unmarshal([]byte(out), &run); err != nil || code != exitProblem || len(run.ExceptionList) != 2 {
		t.Fatalf("bursar recon: exit %d, %+v (%v)\n%s\n%s", code, run, err, out, errOut)
	}
	w.reconRun = run.ID
	for _, e := range run.ExceptionList {
		switch e.Kind {
		case "amount_mismatch":
			w.exception = e.ID
		case "missing_ours":
			w.ghostException = e.ID
		}
	}
	if w.exception == "" || w.ghostException == "" {
		t.Fatalf("exceptions: %+v, want an amount_mismatch (%s) and a missing_ours (GHOST-7)", run.ExceptionList, no)
	}

	// The first order's order.paid delivery has been tried, and waits for
	// its next try.
	eventually(t, 20*time.Second, "a failed try of the order.paid delivery", func() (bool, any) {
		l := a.must(200, w.key, "GET", "/v1/webhook_deliveries?status=pending&endpoint_id="+w.endpoint+"&limit=100", "")
		for _, d := range l["data"].([]any) {
			d := d.(map[string]any)
			if d["subject"] == w.order && d["attempts"].(float64) >= 1 && d["last_status"] == 500.0 {
				w.delivery, w.event = d["id"].(float64), d["event_id"].(string)
				return true, d
			}
		}
		return false, l
	})
	return w
}

// createAdmin adds a console admin with `bursar admins create --json` and
// returns the name and the password it printed.
func createAdmin(t *testing.T, b backend, name, role string) (string, string) {
	t.Helper()
	out, err := runCLI(t, append([]string{"admins", "create", name, "--role", role, "--json"}, b.db...)...)
	if err != nil {
		t.Fatalf("admins create %s: %v\n%s", name, err, out)
	}
	var a struct{ Name, Role, Password string }
	if err := json.Unmarshal([]byte(out), &a); err != nil || a.Password == "" || a.Role != role {
		t.Fatalf("admins create %s: %+v (%v)\n%s", name, a, err, out)
	}
	return a.Name, a.Password
}

// TestConsole drives the console in headless Chromium against `bursar
// serve` on SQLite, and writes a screenshot of each main page.
func TestConsole(t *testing.T) {
	dir := screenshotDir(t)
	clearFailures(t, dir)
	tab := newBrowser(t)
	w := newConsoleWorld(t, sqliteBackend(t))
	t.Logf("screenshots go to %s", dir)
	consoleFlow(t, w, tab, dir, true)
}

// TestConsoleOnPostgres is the same on PostgreSQL, without screenshots.
func TestConsoleOnPostgres(t *testing.T) {
	b := postgresBackend(t) // skips first where PostgreSQL is missing, unless CI=true
	dir := screenshotDir(t)
	clearFailures(t, dir)
	tab := newBrowser(t)
	w := newConsoleWorld(t, b)
	consoleFlow(t, w, tab, dir, false)
}

// consoleFlow is the operator's day in the browser, one subtest per task,
// in order: each needs the sign-in of the first.
func consoleFlow(t *testing.T, w *consoleWorld, tab context.Context, dir string, shoot bool) {
	// The session cookie is __Host- and Secure, which a browser keeps only
	// from a secure context. Chromium counts plain http on loopback as one:
	// with Chromium 156 both http://127.0.0.1:PORT and http://localhost:PORT
	// keep the cookie and send it back. The tests use the address serve
	// prints, which needs no name lookup (localhost may resolve to ::1,
	// where serve does not listen).
	base := w.p.base
	a := w.a
	shots := map[string]bool{}
	shot := func(p *page, name string) {
		p.screenshot(name)
		shots[name] = true
	}
	var sessionCookie string // the cookie's value, to try it again after signing out

	ok := t.Run("sign in", func(t *testing.T) {
		p := newPage(t, tab, base, dir, shoot)
		// A page of the console sends the browser to the sign-in form,
		// which comes back to the page afterwards.
		if st := p.open("/admin/refunds"); st != 200 || !strings.HasPrefix(p.path(), "/admin/login?next=") {
			t.Fatalf("signed out, /admin/refunds gave %d at %s, want the sign-in form", st, p.path())
		}
		p.do("wait for the form", chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)))
		shot(p, "login")

		// A wrong password: the form again, with the message, and no cookie.
		p.fill(`input[name=name]`, w.operator)
		p.fill(`input[name=password]`, w.operatorPassword+"x")
		if st := p.submit(`form[action="/admin/login"] button[type=submit]`); st != http.StatusUnauthorized {
			t.Errorf("a wrong password answered %d, want 401", st)
		}
		if msg := p.flash("error"); msg != "The name or the password is wrong." {
			t.Errorf("a wrong password shows %q", msg)
		}
		if got := p.eval(`document.querySelector("input[name=name]").value`); got != w.operator {
			t.Errorf("the name field after a wrong password holds %v, want it kept", got)
		}
		if c := p.cookies(); len(c) != 0 {
			t.Errorf("cookies after a wrong password: %v", c)
		}

		// The right one: back to the page asked for, with the session cookie.
		p.fill(`input[name=password]`, w.operatorPassword)
		if st := p.submit(`form[action="/admin/login"] button[type=submit]`); st != 200 {
			t.Fatalf("signing in answered %d", st)
		}
		if p.path() != "/admin/refunds" {
			t.Errorf("signed in at %s, want /admin/refunds", p.path())
		}
		if who := p.text("header .who span"); !strings.Contains(who, w.operator) || !strings.Contains(who, "operator") {
			t.Errorf("the header names %q", who)
		}
		cookies := p.cookies()
		if len(cookies) != 1 {
			t.Fatalf("cookies after signing in: %v, want the session cookie", cookies)
		}
		c := cookies[0]
		if c.Name != "__Host-bursar_admin" || !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteStrict ||
			c.Path != "/" || c.Domain != "127.0.0.1" || c.Session || !strings.HasPrefix(c.Value, "as_") {
			t.Errorf("the session cookie: %+v, want __Host-bursar_admin, HttpOnly, Secure, SameSite=Strict, Path=/, host-only, with an expiry", *c)
		}
		if exp := time.Unix(int64(c.Expires), 0); time.Until(exp) < 11*time.Hour || time.Until(exp) > 13*time.Hour {
			t.Errorf("the session cookie expires at %v, want in 12 hours", exp)
		}
		// HttpOnly: the page's scripts cannot read it.
		if dc := p.eval(`document.cookie`); dc != "" {
			t.Errorf("document.cookie = %q, want the session cookie hidden from scripts", dc)
		}
		sessionCookie = c.Value
	})
	if !ok {
		t.Fatal("not signed in: the other steps need it")
	}

	t.Run("dashboard", func(t *testing.T) {
		p := newPage(t, tab, base, dir, shoot)
		if st := p.open("/admin/"); st != 200 {
			t.Fatalf("/admin/ = %d", st)
		}
		p.do("wait for the chart", chromedp.WaitVisible(chromedp.CSS(`figure.chart svg`)))
		// Paid today: two wallet purchases and one through WeChat Pay.
		if got := money(t, p.text("#paid-today")); got != 3*w.price {
			t.Errorf("paid today shows %d fen, want %d", got, 3*w.price)
		}
		if got := money(t, p.text("#escrow")); got != 3*w.price {
			t.Errorf("in escrow shows %d fen, want %d", got, 3*w.price)
		}
		cards := p.text(".cards")
		for _, want := range []string{"waiting (¥200.00)", "waiting (¥13000.00)"} {
			if !strings.Contains(strings.ReplaceAll(cards, ",", ""), want) {
				t.Errorf("the dashboard's cards do not say %q:\n%s", want, cards)
			}
		}
		shot(p, "dashboard")
	})

	t.Run("find an order", func(t *testing.T) {
		p := newPage(t, tab, base, dir, shoot)
		p.open("/admin/orders")
		p.do("wait for the list", chromedp.WaitVisible(chromedp.CSS(`table tbody tr`)))
		if !strings.Contains(p.text("table"), w.orderNo) {
			t.Errorf("the orders list does not show %s", w.orderNo)
		}
		shot(p, "orders")
		p.fill(`input[name=q]`, w.orderNo)
		if st := p.submit(`form.filters button[type=submit]`); st != 200 {
			t.Fatalf("search answered %d", st)
		}
		if p.path() != "/admin/orders/"+w.order {
			t.Fatalf("searching for %s led to %s, want the order's page", w.orderNo, p.path())
		}
		if h := p.text("h1"); !strings.Contains(h, w.orderNo) || !strings.Contains(h, "refund_requested") {
			t.Errorf("the order's heading: %q", h)
		}
		timeline := p.text("ol.timeline")
		for _, want := range []string{"created (purchase)", "order.paid", "refund.request", "user:buyer"} {
			if !strings.Contains(timeline, want) {
				t.Errorf("the timeline does not show %q:\n%s", want, timeline)
			}
		}
		entries := p.eval(`[...document.querySelectorAll("h2")].find(h => h.textContent === "Ledger entries").nextElementSibling.innerText`).(string)
		if !strings.Contains(entries, "escrow") || strings.Contains(entries, "No money has moved") {
			t.Errorf("the ledger entries do not show the payment into escrow:\n%s", entries)
		}
		if refunds := p.text("body"); !strings.Contains(refunds, w.refund) {
			t.Errorf("the order's page does not list its refund %s", w.refund)
		}
		deliveries := p.eval(`[...document.querySelectorAll("h2")].find(h => h.textContent === "Webhook deliveries").nextElementSibling.innerText`).(string)
		if !strings.Contains(deliveries, "order.paid") || !strings.Contains(deliveries, "HTTP 500") {
			t.Errorf("the order's webhook deliveries do not show the failed order.paid:\n%s", deliveries)
		}
		shot(p, "order")

		// A number nobody has: the list says so.
		p.open("/admin/orders")
		p.fill(`input[name=q]`, "999999999")
		p.submit(`form.filters button[type=submit]`)
		if got := p.text("table tbody"); got != "No orders match." {
			t.Errorf("searching for an unknown number: %q", got)
		}
	})

	t.Run("a viewer is refused", func(t *testing.T) {
		// Another browser profile (an incognito-like browser context), so
		// the operator stays signed in in the first.
		vtab, cancel := chromedp.NewContext(tab, chromedp.WithNewBrowserContext())
		defer cancel()
		p := newPage(t, vtab, base, dir, shoot)
		p.open("/admin/login")
		p.fill(`input[name=name]`, w.viewer)
		p.fill(`input[name=password]`, w.viewerPassword)
		if st := p.submit(`form[action="/admin/login"] button[type=submit]`); st != 200 {
			t.Fatalf("the viewer's sign-in answered %d", st)
		}
		p.open("/admin/refunds")
		row := "#refund-" + w.refund2
		p.fill(row+` form[action$="/approve"] input[name=note]`, "looks fine to me")
		p.submit(row + ` form[action$="/approve"] button`)
		if msg := p.flash("error"); msg != "Your role is viewer: ask an operator to do this." {
			t.Errorf("the viewer's approval shows %q", msg)
		}
		if !strings.HasPrefix(p.path(), "/admin/refunds?") {
			t.Errorf("after the refusal the viewer is at %s, want back on the refunds page", p.path())
		}
		if r := a.must(200, w.key, "GET", "/v1/refunds/"+w.refund2, ""); r["status"] != "requested" {
			t.Errorf("after the viewer's try the refund is %v", r["status"])
		}
		p.open("/admin/withdrawals")
		wrow := "#withdrawal-" + w.withdrawal2
		p.fill(wrow+` form[action$="/reject"] input[name=reason]`, "no")
		p.submit(wrow + ` form[action$="/reject"] button`)
		if msg := p.flash("error"); msg != "Your role is viewer: ask an operator to do this." {
			t.Errorf("the viewer's rejection shows %q", msg)
		}
		if o := a.must(200, w.key, "GET", "/v1/orders/"+w.withdrawal2, ""); o["status"] != "requested" {
			t.Errorf("after the viewer's try the withdrawal is %v", o["status"])
		}
	})

	t.Run("approve a refund", func(t *testing.T) {
		p := newPage(t, tab, base, dir, shoot)
		p.open("/admin/users/buyer")
		cash := money(t, p.text("#cash"))
		if cash != w.buyerCashBefore {
			t.Errorf("the buyer's cash shows %d fen, want %d", cash, w.buyerCashBefore)
		}
		p.open("/admin/refunds")
		row := "#refund-" + w.refund
		if got := p.text(row); !strings.Contains(got, w.orderNo) || !strings.Contains(got, "requested") ||
			!strings.Contains(got, "the course is not what it said") {
			t.Errorf("the refund's row: %q", got)
		}
		shot(p, "refunds")
		p.fill(row+` form[action$="/approve"] input[name=note]`, "checked the course: refund")
		p.submit(row + ` form[action$="/approve"] button`)
		if msg := p.flash("ok"); msg != "Refund "+w.refund+" approved: succeeded." {
			t.Errorf("after approving: %q", msg)
		}
		if p.has(row) {
			t.Errorf("the approved refund is still in the queue")
		}
		if !p.has("#refund-" + w.refund2) {
			t.Errorf("the other refund left the queue")
		}

		// The buyer's wallet, from the order's page.
		p.open("/admin/orders/" + w.order)
		if h := p.text("h1"); !strings.Contains(h, "refunded") {
			t.Errorf("the refunded order's heading: %q", h)
		}
		if got := p.text("body"); !strings.Contains(got, "admin:"+w.operator) || !strings.Contains(got, "checked the course: refund") {
			t.Errorf("the order's page does not show who approved the refund, with the note")
		}
		p.submit(`dl.facts a[href="/admin/users/buyer"]`)
		if got := money(t, p.text("#cash")); got != w.buyerCashBefore+w.price {
			t.Errorf("the buyer's cash after the refund shows %d fen, want %d", got, w.buyerCashBefore+w.price)
		}
		if got := p.text("table"); !strings.Contains(got, "refund") || !strings.Contains(got, w.order) {
			t.Errorf("the statement does not show the refund:\n%s", got)
		}
		shot(p, "user")
		if c := a.wallet(w.key, "buyer")["cash"].(float64); int64(c) != w.buyerCashBefore+w.price {
			t.Errorf("the API says the buyer's cash is %v", c)
		}
	})

	t.Run("reject a withdrawal", func(t *testing.T) {
		p := newPage(t, tab, base, dir, shoot)
		p.open("/admin/withdrawals")
		row := "#withdrawal-" + w.withdrawal
		if got := p.text(row); !strings.Contains(got, w.withdrawalNo) || !strings.Contains(got, "6000.00") ||
			!strings.Contains(got, "requested") {
			t.Errorf("the withdrawal's row: %q", got)
		}
		shot(p, "withdrawals")
		form := row + ` form[action$="/reject"]`

		// With no reason the browser does not send the form: the field is
		// required.
		p.eval(`(() => {
			const f = document.querySelector(` + jsString(form) + `);
			window.seen = [];
			f.addEventListener("submit", () => window.seen.push("submit"));
			f.querySelector("input[name=reason]").addEventListener("invalid", () => window.seen.push("invalid"));
		})()`)
		p.do("click Reject with no reason", chromedp.Click(chromedp.CSS(form+" button")))
		if seen := fmt.Sprint(p.eval(`window.seen`)); seen != "[invalid]" {
			t.Errorf("clicking Reject with no reason: the form saw %s, want [invalid] and no submit", seen)
		}
		if p.path() != "/admin/withdrawals" {
			t.Errorf("a Reject with no reason left the page for %s", p.path())
		}

		// Sent anyway (as a browser without validation would), the server
		// refuses it and nothing changes.
		p.eval(`document.querySelector(` + jsString(form) + `).noValidate = true`)
		p.submit(form + " button")
		if msg := p.flash("error"); msg != "A reason is 1 to 500 characters." {
			t.Errorf("a Reject with no reason, past the browser: %q", msg)
		}
		if !p.has(row) {
			t.Fatalf("the withdrawal left the queue with no reason given")
		}
		if o := a.must(200, w.key, "GET", "/v1/orders/"+w.withdrawal, ""); o["status"] != "requested" {
			t.Errorf("after a Reject with no reason the withdrawal is %v", o["status"])
		}

		// With a reason.
		p.fill(form+" input[name=reason]", "identity check needed for large payouts")
		p.submit(form + " button")
		if msg := p.flash("ok"); msg != "Withdrawal "+w.withdrawal+" rejected; the money is back in earnings." {
			t.Errorf("after rejecting: %q", msg)
		}
		if p.has(row) {
			t.Errorf("the rejected withdrawal is still waiting")
		}
		recent := p.eval(`[...document.querySelectorAll("h2")].find(h => h.textContent === "Recent").nextElementSibling.innerText`).(string)
		var line string
		for _, l := range strings.Split(recent, "\n") {
			if strings.Contains(l, w.withdrawalNo) {
				line = l
			}
		}
		if !strings.Contains(line, "failed") || !strings.Contains(line, "Rejected: identity check needed for large payouts") {
			t.Errorf("Recent does not show the withdrawal failed with the reason:\n%s", recent)
		}
		p.open("/admin/users/seller")
		if got := money(t, p.text("#earnings")); got != w.sellerEarnings+600000 {
			t.Errorf("the seller's earnings after the rejection show %d fen, want %d", got, w.sellerEarnings+600000)
		}
	})

	t.Run("a reason of only spaces is no reason", func(t *testing.T) {
		// The issue asks for a reason on every rejection, kept in the audit
		// log. The browser's `required` takes spaces as a value, so the
		// server must be the one to refuse them.
		p := newPage(t, tab, base, dir, shoot)
		p.open("/admin/withdrawals")
		form := "#withdrawal-" + w.withdrawal2 + ` form[action$="/reject"]`
		p.fill(form+" input[name=reason]", "   ")
		if p.eval(`document.querySelector(`+jsString(form)+`).checkValidity()`) == false {
			t.Logf("the browser holds back a reason of only spaces; sending it anyway, to the server")
		}
		p.eval(`document.querySelector(` + jsString(form) + `).noValidate = true`)
		p.submit(form + " button")
		o := a.must(200, w.key, "GET", "/v1/orders/"+w.withdrawal2, "")
		if o["status"] != "requested" {
			t.Errorf("BUG: a Reject whose reason is three spaces was taken: the withdrawal is %v with failure_reason %q "+
				"and the page says %q; want it refused like an empty reason (\"A reason is 1 to 500 characters.\") "+
				"and the withdrawal still waiting", o["status"], o["failure_reason"], p.text("main .flash"))
		} else if msg := p.flash("error"); msg == "" {
			t.Errorf("a reason of only spaces was refused without a message")
		}
	})

	t.Run("resolve a reconciliation exception", func(t *testing.T) {
		p := newPage(t, tab, base, dir, shoot)
		p.open("/admin/reconciliation")
		row := "#exception-" + w.exception
		if got := p.text(row); !strings.Contains(got, w.reconOrderNo) || !strings.Contains(got, "open") ||
			!strings.Contains(got, "99.90") || !strings.Contains(got, "100.00") {
			t.Errorf("the exception's row: %q", got)
		}
		if !p.has("#exception-" + w.ghostException) {
			t.Errorf("the payment Bursar never saw is not among the open exceptions")
		}
		shot(p, "reconciliation")
		form := row + ` form[action$="/resolve"]`
		p.do("choose adjusted", chromedp.SetValue(chromedp.CSS(form+" select[name=action]"), "adjusted"))
		p.fill(form+" input[name=note]", "WeChat kept 0.10 as a fee; adjustment adj-17 booked")
		p.submit(form + " button")
		if msg := p.flash("ok"); msg != "Exception "+w.exception+" resolved (adjusted)." {
			t.Errorf("after resolving: %q", msg)
		}
		if p.has(row) {
			t.Errorf("the resolved exception is still open")
		}
		// The run's page shows it resolved, by whom, with the note.
		p.open("/admin/reconciliation/" + w.reconRun)
		got := p.text(row)
		if !strings.Contains(got, "resolved") || !strings.Contains(got, "adjusted by admin:"+w.operator) ||
			!strings.Contains(got, "adjustment adj-17 booked") || p.has(row+" form") {
			t.Errorf("on the run's page the exception shows %q, want it resolved with the action and the note", got)
		}
		if e := a.must(200, w.key, "GET", "/v1/reconciliation_exceptions?status=open", ""); len(e["data"].([]any)) != 1 {
			t.Errorf("open exceptions after resolving one: %v", e)
		}
	})

	t.Run("re-send a webhook delivery", func(t *testing.T) {
		p := newPage(t, tab, base, dir, shoot)
		p.open("/admin/webhooks")
		row := fmt.Sprintf("#delivery-%d", int(w.delivery))
		if got := p.text(row); !strings.Contains(got, "order.paid") || !strings.Contains(got, "HTTP 500") ||
			!strings.Contains(got, w.order) {
			t.Errorf("the failing delivery's row: %q", got)
		}
		if !strings.Contains(p.text("table"), w.hook.URL) {
			t.Errorf("the endpoint is not listed")
		}
		shot(p, "webhooks")
		p.submit(row + " button")
		if msg := p.flash("ok"); msg != "Event "+w.event+" queued again to 1 endpoint(s)." {
			t.Errorf("after re-sending: %q", msg)
		}
		// A new delivery of the same event to the endpoint, listed with the
		// pending ones.
		l := a.must(200, w.key, "GET", "/v1/webhook_deliveries?event_id="+w.event, "")
		var newest float64
		for _, d := range l["data"].([]any) {
			newest = max(newest, d.(map[string]any)["id"].(float64))
		}
		if n := len(l["data"].([]any)); n != 2 || newest <= w.delivery {
			t.Fatalf("deliveries of %s after re-sending: %v", w.event, l)
		}
		if !p.has(fmt.Sprintf("#delivery-%d", int(newest))) {
			t.Errorf("the webhooks page does not list the new delivery %d", int(newest))
		}
	})

	t.Run("audit log", func(t *testing.T) {
		p := newPage(t, tab, base, dir, shoot)
		p.open("/admin/audit")
		log := p.text("table")
		for _, want := range []string{
			"admin:" + w.operator + "\trefund.succeeded\t" + w.refund,
			"admin:" + w.operator + "\twithdrawal.reject\t" + w.withdrawal + "\tidentity check needed for large payouts",
			"admin:" + w.operator + "\treconciliation.adjusted\t" + w.exception,
			"admin.sign_in_failed\tadmin:" + w.operator,
		} {
			if !strings.Contains(log, want) {
				t.Errorf("the audit log does not show %q:\n%s", want, log)
			}
		}
		shot(p, "audit")
		// Filtered to one subject.
		p.fill(`input[name=subject]`, w.withdrawal)
		p.submit(`form.filters button[type=submit]`)
		if rows := p.eval(`document.querySelectorAll("table tbody tr").length`); rows != 2.0 {
			t.Errorf("the audit log of %s has %v rows, want two, the request and the rejection:\n%s", w.withdrawal, rows, p.text("table"))
		}
	})

	t.Run("sign out", func(t *testing.T) {
		p := newPage(t, tab, base, dir, shoot)
		p.open("/admin/")
		p.submit(`form.who button[type=submit]`)
		if p.path() != "/admin/login" {
			t.Errorf("signed out at %s, want /admin/login", p.path())
		}
		if c := p.cookies(); len(c) != 0 {
			t.Errorf("cookies after signing out: %v", c)
		}
		p.open("/admin/audit")
		if !strings.HasPrefix(p.path(), "/admin/login?next=") {
			t.Errorf("after signing out /admin/audit shows %s", p.path())
		}
		// The old cookie is dead on the server too, not only forgotten by
		// the browser.
		if st, loc := consoleGet(t, w.p.base+"/admin/", sessionCookie); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/login") {
			t.Errorf("the signed-out session still works: %d %s", st, loc)
		}
	})

	if shoot {
		t.Run("screenshots", func(t *testing.T) {
			for _, name := range []string{"login", "dashboard", "orders", "order", "refunds", "withdrawals", "user",
				"reconciliation", "webhooks", "audit"} {
				if !shots[name] {
					t.Errorf("no screenshot of %s: its step failed", name)
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, name+".png"))
				if err != nil {
					t.Fatal(err)
				}
				checkPNG(t, name, b)
			}
		})
	}
	w.p.stop(t)
	verifyLedger(t, w.b)
}

// cookies returns the browser's cookies for the console.
func (p *page) cookies() []*network.Cookie {
	p.t.Helper()
	res, err := chromedp.Call(p.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.base + "/admin/"}})
	if err != nil {
		p.t.Fatalf("get cookies: %v", err)
	}
	return res.Cookies
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// consoleGet fetches a console page with a session cookie and without
// following redirects, and returns the status and the Location.
func consoleGet(t *testing.T, u, session string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "__Host-bursar_admin", Value: session})
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// TestConsoleCrossOriginRefused posts to the console's actions from a plain
// HTTP client, as another site's page would make a browser do: with a valid
// session, an Origin of another site is refused 403 and nothing changes.
// It needs no browser.
func TestConsoleCrossOriginRefused(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	name, password := createAdmin(t, b, "ops", "operator")
	p := serveChannels(t, b)
	a := client{t, p.base}
	s := a.shop(key, 5000)
	a.must(201, key, "POST", "/v1/users/buyer/wallet/adjustments", `{"amount":10000,"reason":"credit"}`)
	id, _, _ := a.order(s)
	a.must(200, s.buyer, "POST", "/v1/orders/"+id+"/pay", `{"method":"wallet","payment_password":"246810"}`)
	refund := a.must(201, s.buyer, "POST", "/v1/orders/"+id+"/refunds", `{"reason":"changed my mind"}`)["id"].(string)

	post := func(path string, form url.Values, header http.Header, cookie string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest("POST", p.base+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header[k] = v
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "__Host-bursar_admin", Value: cookie})
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, c := range resp.Cookies() {
			if c.Name == "__Host-bursar_admin" {
				return resp.StatusCode, resp.Header.Get("Location"), c.Value
			}
		}
		return resp.StatusCode, resp.Header.Get("Location"), string(body)
	}

	// Signing in from another site is refused too (login CSRF).
	creds := url.Values{"name": {name}, "password": {password}, "next": {"/admin/"}}
	if st, _, _ := post("/admin/login", creds, http.Header{"Origin": {"http://evil.example"}}, ""); st != http.StatusForbidden {
		t.Errorf("a sign-in posted from another origin: %d, want 403", st)
	}
	// A client that is no browser sends neither Origin nor Sec-Fetch-Site,
	// and may sign in.
	st, loc, session := post("/admin/login", creds, nil, "")
	if st != http.StatusSeeOther || loc != "/admin/" || !strings.HasPrefix(session, "as_") {
		t.Fatalf("sign in: %d %s %q", st, loc, session)
	}

	approve := "/admin/refunds/" + refund + "/approve"
	for _, h := range []http.Header{
		{"Origin": {"http://evil.example"}},
		{"Origin": {"http://evil.example"}, "Sec-Fetch-Site": {"cross-site"}},
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Sec-Fetch-Site": {"same-site"}},
		{"Origin": {"null"}},
	} {
		st, _, body := post(approve, url.Values{"note": {"ok"}, "back": {"/admin/refunds"}}, h, session)
		if st != http.StatusForbidden {
			t.Errorf("POST %s with %v: %d %s, want 403", approve, h, st, body)
		}
	}
	if r := a.must(200, key, "GET", "/v1/refunds/"+refund, ""); r["status"] != "requested" {
		t.Fatalf("after cross-origin posts the refund is %v", r["status"])
	}
	// The same post from the console's own origin is taken.
	st, loc, _ = post(approve, url.Values{"note": {"ok"}, "back": {"/admin/refunds"}},
		http.Header{"Origin": {p.base}, "Sec-Fetch-Site": {"same-origin"}}, session)
	if st != http.StatusSeeOther || !strings.Contains(loc, "ok=") {
		t.Errorf("the same-origin approval: %d %s", st, loc)
	}
	if r := a.must(200, key, "GET", "/v1/refunds/"+refund, ""); r["status"] != "succeeded" {
		t.Errorf("after the same-origin approval the refund is %v", r["status"])
	}
}
