package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"bursar.dev/bursar/internal/admin"
	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/channeltest"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

const (
	cookieName = "__Host-bursar_admin"
	password   = "correct horse battery"
	pin        = "246810"
	// The text users control, planted where the console shows it.
	evilTitle   = `<script>alert("title")</script> Go course`
	evilReason  = `<script>alert("reason")</script> not as described`
	evilName    = `<img src=x onerror=alert("name")>`
	evilDetail  = `<script>alert("recon")</script>`
	viewerRefus = "Your role is viewer: ask an operator to do this."
)

// clock is a movable clock for service.Deps.Now. It starts at the real
// time, because the dashboard's chart is laid out against the real clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// errorLog records what the console logs at error level: a test that sees
// one has hit an internal failure (a template error, say) behind a page.
type errorLog struct {
	mu      sync.Mutex
	records []string
}

func (l *errorLog) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.records = append(l.records, b.String())
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

// world is the console over a real database and real services, with a
// marketplace in it: a course (with a hostile title) paid from the wallet
// and a refund asked for it (with a hostile reason), a second paid order
// with a refund waiting, two withdrawals waiting for approval, a webhook
// endpoint, and a reconciliation run with an open exception.
type world struct {
	t        *testing.T
	db       store.DB
	clock    *clock
	log      *errorLog
	url      string
	client   *http.Client
	platform bursar.Actor

	admins      *service.Admins
	orders      *service.Orders
	wallets     *service.Wallets
	refunds     *service.Refunds
	withdrawals *service.Withdrawals
	webhooks    *service.Webhooks
	recon       *service.Recon
	console     *service.Console

	operator, viewer string // session cookies

	course, session bursar.Order  // paid from the buyer's wallet
	evil, plain     bursar.Refund // waiting: of course and of session
	big, bigger     bursar.Order  // withdrawals waiting for approval
	endpoint        bursar.WebhookEndpoint
	run             bursar.ReconRun
	exception       bursar.ReconException
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newWorld(t *testing.T, db store.DB) *world {
	t.Helper()
	ctx := context.Background()
	c := &clock{now: time.Now().UTC().Truncate(time.Millisecond)}
	log := &errorLog{}
	d := service.Deps{DB: db, Now: c.Now, Log: slog.New(log), Pepper: []byte("a test pepper of at least 32 bytes!"),
		CommissionBPS: 1000, Channels: map[bursar.Channel]channel.Channel{bursar.ChannelAlipay: channeltest.Idle{}},
		Withdrawals: service.WithdrawalLimits{ApprovalOver: 1_000}}
	w := &world{t: t, db: db, clock: c, log: log, admins: service.NewAdmins(d), orders: service.NewOrders(d),
		wallets: service.NewWallets(d), refunds: service.NewRefunds(d), withdrawals: service.NewWithdrawals(d),
		webhooks: service.NewWebhooks(d), recon: service.NewRecon(d), console: service.NewConsole(d)}
	users, items := service.NewUsers(d), service.NewItems(d)
	srv := admin.New(admin.Deps{Log: d.Log, Admins: w.admins, Idempotency: service.NewIdempotency(d), Console: w.console, Users: users, Orders: w.orders,
		Refunds: w.refunds, Withdrawals: w.withdrawals, Wallets: w.wallets, Recon: w.recon, Webhooks: w.webhooks})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	w.url = ts.URL
	w.client = ts.Client()
	w.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	t.Cleanup(func() {
		log.mu.Lock()
		defer log.mu.Unlock()
		for _, r := range log.records {
			t.Errorf("the console logged an error: %s", r)
		}
	})
	t.Cleanup(func() { dbtest.Verify(t, db) })

	_, key, err := service.NewAuth(d).CreatePlatformKey(ctx, "test")
	must(t, err)
	w.platform = bursar.Actor{Credential: key.ID, Kind: bursar.CredentialPlatform}
	buyerName := evilName
	for _, in := range []service.UserInput{{ID: "buyer", DisplayName: &buyerName}, {ID: "seller"}} {
		_, err := users.Create(ctx, w.platform, in)
		must(t, err)
		must(t, users.SetPassword(ctx, w.platform, in.ID, bursar.SecretPayment, "", pin))
	}
	buyer := bursar.Actor{Credential: "tok_b", Kind: bursar.CredentialUser, User: "buyer"}
	seller := bursar.Actor{Credential: "tok_s", Kind: bursar.CredentialUser, User: "seller"}

	events := []bursar.EventType{"*"}
	hook := "https://hooks.example.com/bursar"
	w.endpoint, err = w.webhooks.CreateEndpoint(ctx, w.platform, service.EndpointInput{URL: &hook, Events: &events})
	must(t, err)

	course, err := items.Create(ctx, w.platform, bursar.Item{Seller: "seller", Kind: bursar.ItemCourse, Title: evilTitle,
		Price: bursar.Money{Amount: 8888, Currency: bursar.CNY}})
	must(t, err)
	session, err := items.Create(ctx, w.platform, bursar.Item{Seller: "seller", Kind: bursar.ItemSession, Title: "24 h chat",
		Price: bursar.Money{Amount: 1990, Currency: bursar.CNY}, Duration: 24 * time.Hour})
	must(t, err)
	w.fund("buyer", bursar.AccountUserCash, 50_000)
	pay := func(it bursar.Item) bursar.Order {
		o, _, err := w.orders.CreatePurchase(ctx, buyer, service.PurchaseInput{Buyer: "buyer", Item: it.ID})
		must(t, err)
		o, err = w.orders.PayWithWallet(ctx, buyer, o.ID, pin)
		must(t, err)
		return o
	}
	w.course, w.session = pay(course), pay(session)
	w.evil, err = w.refunds.Request(ctx, buyer, w.course.ID, nil, evilReason)
	must(t, err)
	w.plain, err = w.refunds.Request(ctx, buyer, w.session.ID, nil, "Changed my mind.")
	must(t, err)

	w.fund("seller", bursar.AccountUserEarnings, 100_000)
	for _, o := range []*bursar.Order{&w.big, &w.bigger} {
		*o, err = w.withdrawals.Request(ctx, seller, service.WithdrawalInput{User: "seller", Amount: 5_000,
			Account: "seller@example.com", Name: "张三", PaymentPassword: pin})
		must(t, err)
		if o.Status != bursar.OrderRequested {
			t.Fatalf("a withdrawal over the approval limit is %s", o.Status)
		}
	}

	// A reconciliation run is planted in storage: running one needs a
	// channel's bill.
	now := c.Now()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).AddDate(0, 0, -1)
	w.run = bursar.ReconRun{ID: "rcn_planted", Channel: bursar.ChannelAlipay, Day: day, Status: bursar.ReconRunning,
		StartedBy: "system", StartedAt: now}
	w.exception = bursar.ReconException{ID: "rce_planted", Run: w.run.ID, Channel: w.run.Channel, Day: day,
		Kind: bursar.ReconMissingOurs, Line: 3, OrderNo: "20261121000000000001", BillAmount: 1990, Detail: evilDetail,
		Status: bursar.ReconOpen, CreatedAt: now}
	must(t, db.InTx(ctx, func(tx store.Tx) error {
		if err := tx.ReconRunInsert(ctx, w.run); err != nil {
			return err
		}
		return tx.ReconExceptionInsert(ctx, w.exception)
	}))

	_, err = w.admins.Create(ctx, "alice", password, bursar.AdminOperator)
	must(t, err)
	_, err = w.admins.Create(ctx, "victor", password, bursar.AdminViewer)
	must(t, err)
	w.operator, _, err = w.admins.SignIn(ctx, "alice", password)
	must(t, err)
	w.viewer, _, err = w.admins.SignIn(ctx, "victor", password)
	must(t, err)
	return w
}

func (w *world) fund(user bursar.UserID, account bursar.AccountKind, amount bursar.Amount) {
	w.t.Helper()
	_, err := w.wallets.Adjust(context.Background(), w.platform, service.Adjustment{User: user, Account: account,
		Amount: amount, Reason: "test funds"})
	must(w.t, err)
}

// response is what the console answered.
type response struct {
	status int
	header http.Header
	body   string
}

// location is the redirect's target.
func (r response) location(t *testing.T) *url.URL {
	t.Helper()
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil || r.header.Get("Location") == "" {
		t.Fatalf("status %d with Location %q", r.status, r.header.Get("Location"))
	}
	return u
}

// do sends a request with a session cookie (when token is not empty) and
// extra headers in pairs.
func (w *world) do(method, path, token string, form url.Values, headers ...string) response {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, w.url+path, body)
	must(w.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: token})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := w.client.Do(req)
	must(w.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(w.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (w *world) get(path, token string) response {
	w.t.Helper()
	return w.do(http.MethodGet, path, token, nil)
}

// post sends a form as a browser on the console's own page does.
func (w *world) post(path, token string, form url.Values) response {
	w.t.Helper()
	return w.do(http.MethodPost, path, token, form, "Sec-Fetch-Site", "same-origin", "Origin", w.url)
}

// act posts a form to an action and returns the flash it redirects with:
// "ok" or "error", and the message.
func (w *world) act(path, token string, form url.Values) (kind, msg string) {
	w.t.Helper()
	r := w.post(path, token, form)
	if r.status != http.StatusSeeOther {
		w.t.Fatalf("POST %s = %d, want 303\n%s", path, r.status, r.body)
	}
	q := r.location(w.t).Query()
	if q.Has("ok") {
		return "ok", q.Get("ok")
	}
	return "error", q.Get("error")
}

// state is everything the actions here may change, to show that a refused
// one changed nothing.
type state struct {
	Refunds     map[bursar.RefundID]bursar.RefundStatus
	Orders      map[bursar.OrderID]bursar.OrderStatus
	Cash        bursar.Amount
	Earnings    bursar.Amount
	Exception   bursar.ReconExceptionStatus
	Deliveries  int
	AuditLength int
}

func (w *world) state() state {
	w.t.Helper()
	ctx := context.Background()
	s := state{Refunds: map[bursar.RefundID]bursar.RefundStatus{}, Orders: map[bursar.OrderID]bursar.OrderStatus{}}
	for _, id := range []bursar.RefundID{w.evil.ID, w.plain.ID} {
		r, err := w.refunds.Get(ctx, w.platform, id)
		must(w.t, err)
		s.Refunds[id] = r.Status
	}
	for _, id := range []bursar.OrderID{w.course.ID, w.session.ID, w.big.ID, w.bigger.ID} {
		o, err := w.orders.Get(ctx, w.platform, id)
		must(w.t, err)
		s.Orders[id] = o.Status
	}
	buyer, err := w.wallets.Get(ctx, w.platform, "buyer")
	must(w.t, err)
	seller, err := w.wallets.Get(ctx, w.platform, "seller")
	must(w.t, err)
	s.Cash, s.Earnings = buyer.Cash.Amount, seller.Earnings.Amount
	_, excs, err := w.recon.Get(ctx, w.platform, w.run.ID)
	must(w.t, err)
	s.Exception = excs[0].Status
	ds, _, err := w.webhooks.Deliveries(ctx, w.platform, bursar.DeliveryFilter{Limit: 100})
	must(w.t, err)
	s.Deliveries = len(ds)
	audit, _, err := w.console.Audit(ctx, w.platform, bursar.AuditFilter{Limit: 100})
	must(w.t, err)
	s.AuditLength = len(audit)
	return s
}

func (w *world) mustBeUnchanged(what string, before state) {
	w.t.Helper()
	after := w.state()
	if after.Cash != before.Cash || after.Earnings != before.Earnings || after.Exception != before.Exception ||
		after.Deliveries != before.Deliveries || after.AuditLength != before.AuditLength ||
		!mapsEqual(after.Refunds, before.Refunds) || !mapsEqual(after.Orders, before.Orders) {
		w.t.Errorf("%s changed things:\nbefore %+v\nafter  %+v", what, before, after)
	}
}

func mapsEqual[K, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// pages are every page of the console, with a piece of what each must show.
func (w *world) pages() []struct{ path, want string } {
	return []struct{ path, want string }{
		{"/admin/", `id="paid-today"`},
		{"/admin/orders", w.course.No},
		{"/admin/orders?type=withdrawal&status=requested", w.big.No},
		{"/admin/orders?q=buyer", w.session.No},
		{"/admin/orders?status=nonsense", "<h1>Orders</h1>"},
		{"/admin/orders/" + string(w.course.ID), string(w.evil.ID)},
		{"/admin/orders/" + string(w.big.ID), "seller@example.com"},
		{"/admin/refunds", `id="refund-` + string(w.plain.ID) + `"`},
		{"/admin/withdrawals", `id="withdrawal-` + string(w.bigger.ID) + `"`},
		{"/admin/users/buyer", `id="cash"`},
		{"/admin/users/seller", w.big.No},
		{"/admin/reconciliation", string(w.exception.ID)},
		{"/admin/reconciliation/" + string(w.run.ID), string(w.exception.ID)},
		{"/admin/webhooks", string(w.endpoint.ID)},
		{"/admin/audit", "refund.request"},
		{"/admin/audit?subject=" + string(w.course.ID), "refund.request"},
	}
}

func TestPagesNeedASession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		expired, _, err := w.admins.SignIn(context.Background(), "alice", password)
		must(t, err)
		w.clock.Advance(service.SessionTTL)
		tokens := map[string]string{"no cookie": "", "an unknown cookie": "as_NOTATOKEN", "an expired session": expired}
		for _, p := range w.pages() {
			for name, token := range tokens {
				r := w.get(p.path, token)
				want := "/admin/login?next=" + url.QueryEscape(p.path)
				if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
					t.Errorf("GET %s with %s = %d to %q, want 303 to %q", p.path, name, r.status, r.header.Get("Location"), want)
				}
				if strings.Contains(r.body, w.course.No) {
					t.Errorf("GET %s with %s shows the page's data", p.path, name)
				}
			}
		}

		// An action without a session goes to the sign-in form and does
		// nothing.
		before := w.state()
		for _, a := range w.actions() {
			r := w.post(a.path, "", a.form)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/login?next=%2Fadmin%2F" {
				t.Errorf("POST %s without a session = %d to %q", a.path, r.status, r.header.Get("Location"))
			}
		}
		w.mustBeUnchanged("actions without a session", before)

		// What signing in needs is open.
		for _, path := range []string{"/admin/login", "/admin/static/style.css"} {
			if r := w.get(path, ""); r.status != http.StatusOK {
				t.Errorf("GET %s without a session = %d, want 200", path, r.status)
			}
		}
	})
}

func TestSignIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		form := loginForm("alice", password, "/admin/refunds")
		w := newWorld(t, db)

		page := w.get("/admin/login?next="+url.QueryEscape("/admin/refunds"), "")
		if page.status != http.StatusOK || !strings.Contains(page.body, `name="next" value="/admin/refunds"`) {
			t.Errorf("the sign-in form = %d and does not carry next:\n%s", page.status, page.body)
		}

		r := w.post("/admin/login", "", form)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/refunds" {
			t.Fatalf("POST /admin/login = %d to %q, want 303 to /admin/refunds", r.status, r.header.Get("Location"))
		}
		cookies := (&http.Response{Header: r.header}).Cookies()
		if len(cookies) != 1 {
			t.Fatalf("sign-in set %d cookies, want 1: %v", len(cookies), r.header["Set-Cookie"])
		}
		c := cookies[0]
		if c.Name != cookieName || c.Value == "" || c.Path != "/" || c.Domain != "" || !c.Secure || !c.HttpOnly ||
			c.SameSite != http.SameSiteStrictMode || c.MaxAge != int(service.SessionTTL/time.Second) {
			t.Errorf("the session cookie is %q, want __Host-bursar_admin; Path=/; Max-Age=43200; HttpOnly; Secure; SameSite=Strict",
				r.header.Get("Set-Cookie"))
		}
		if p := w.get("/admin/refunds", c.Value); p.status != http.StatusOK || !strings.Contains(p.body, "alice") {
			t.Errorf("GET /admin/refunds with the new cookie = %d", p.status)
		}

		// Wrong names and passwords get the form again, with one message.
		for _, tc := range []struct{ name, password string }{{"alice", "wrong password!"}, {"mallory", password}, {"", ""}} {
			r := w.post("/admin/login", "", loginForm(tc.name, tc.password, "/admin/"))
			if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "The name or the password is wrong.") {
				t.Errorf("sign-in as %q/%q = %d, want 401 with the message", tc.name, tc.password, r.status)
			}
			if r.header.Get("Set-Cookie") != "" {
				t.Errorf("a refused sign-in set a cookie: %q", r.header.Get("Set-Cookie"))
			}
		}
		r = w.post("/admin/login", "", loginForm(evilName, "x", "/admin/"))
		if strings.Contains(r.body, evilName) || !strings.Contains(r.body, "&lt;img src=x onerror=alert(&#34;name&#34;)&gt;") {
			t.Errorf("the sign-in form shows the name it was sent unescaped:\n%s", r.body)
		}

		// After too many wrong passwords even the right one is refused.
		for range bursar.MaxWrongTries {
			w.post("/admin/login", "", loginForm("victor", "wrong password!", "/admin/"))
		}
		r = w.post("/admin/login", "", loginForm("victor", password, "/admin/"))
		if r.status != http.StatusLocked || r.header.Get("Set-Cookie") != "" || !strings.Contains(r.body, "locked") {
			t.Errorf("the right password of a locked admin = %d, cookie %q", r.status, r.header.Get("Set-Cookie"))
		}

		// A sign-in posted from another site is refused: no login CSRF.
		for _, h := range [][]string{{"Origin", "http://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
			r := w.do(http.MethodPost, "/admin/login", "", form, h...)
			if r.status != http.StatusForbidden || r.header.Get("Set-Cookie") != "" {
				t.Errorf("a sign-in with %s: %s = %d, cookie %q; want 403 and none", h[0], h[1], r.status, r.header.Get("Set-Cookie"))
			}
		}
	})
}

func loginForm(name, password, next string) url.Values {
	return url.Values{"name": {name}, "password": {password}, "next": {next}}
}

func TestPagesRender(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		for who, token := range map[string]string{"operator": w.operator, "viewer": w.viewer} {
			for _, p := range w.pages() {
				r := w.get(p.path, token)
				if r.status != http.StatusOK {
					t.Errorf("GET %s as %s = %d, want 200\n%s", p.path, who, r.status, r.body)
					continue
				}
				if !strings.Contains(r.body, p.want) {
					t.Errorf("GET %s as %s does not show %q", p.path, who, p.want)
				}
				for h, want := range map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
					"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
					if got := r.header.Get(h); got != want {
						t.Errorf("GET %s: %s = %q, want %q", p.path, h, got, want)
					}
				}
				if !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
					t.Errorf("GET %s: Content-Security-Policy = %q", p.path, r.header.Get("Content-Security-Policy"))
				}
			}
		}

		// The dashboard counts what was planted.
		d := w.get("/admin/", w.operator).body
		for _, want := range []string{`id="paid-today">¥108.78<`, `id="escrow">¥108.78<`, "waiting (¥108.78)", "waiting (¥100.00)"} {
			if !strings.Contains(d, want) {
				t.Errorf("the dashboard does not show %q", want)
			}
		}
		if !strings.Contains(d, "<rect ") {
			t.Error("the dashboard's chart has no bar for this hour's payments")
		}

		// A search by order ID or number goes to the order.
		for _, q := range []string{string(w.course.ID), w.course.No} {
			r := w.get("/admin/orders?q="+url.QueryEscape(q), w.viewer)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/orders/"+string(w.course.ID) {
				t.Errorf("searching %s = %d to %q", q, r.status, r.header.Get("Location"))
			}
		}

		for _, path := range []string{"/admin/orders/ord_nope", "/admin/users/nobody", "/admin/reconciliation/rcn_nope",
			"/admin/orders/" + string(w.evil.ID)} {
			r := w.get(path, w.operator)
			if r.status != http.StatusNotFound || !strings.Contains(r.body, "Not found") {
				t.Errorf("GET %s = %d, want 404 with the error page", path, r.status)
			}
		}
	})
}

func TestEscaping(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		tests := []struct {
			path    string
			planted []string
		}{
			{"/admin/orders/" + string(w.course.ID), []string{evilTitle, evilReason}},
			{"/admin/orders", []string{evilTitle}},
			{"/admin/refunds", []string{evilReason}},
			{"/admin/users/buyer", []string{evilName, evilTitle}},
			{"/admin/audit", []string{evilReason}},
			{"/admin/reconciliation", []string{evilDetail}},
			{"/admin/reconciliation/" + string(w.run.ID), []string{evilDetail}},
			{w.flashURL("/admin/", "error", evilReason), []string{evilReason}},
			{w.flashURL("/admin/", "ok", evilTitle), []string{evilTitle}},
			{"/admin/audit?subject=" + url.QueryEscape(evilName), []string{evilName}},
		}
		for _, tt := range tests {
			r := w.get(tt.path, w.operator)
			if r.status != http.StatusOK {
				t.Errorf("GET %s = %d", tt.path, r.status)
				continue
			}
			for _, s := range tt.planted {
				if strings.Contains(r.body, s) {
					t.Errorf("GET %s shows %q unescaped", tt.path, s)
				}
				escaped := strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
				if !strings.Contains(r.body, escaped) {
					t.Errorf("GET %s does not show %q escaped as %q", tt.path, s, escaped)
				}
			}
			if strings.Contains(r.body, "<script") || strings.Contains(r.body, "<img") {
				t.Errorf("GET %s has a script or an image in it", tt.path)
			}
		}
	})
}

// action is a form the console posts, which an operator's post changes
// something with.
type action struct {
	path string
	form url.Values
}

func (w *world) actions() []action {
	back := url.Values{"back": {"/admin/"}}
	with := func(kv ...string) url.Values {
		v := url.Values{"back": {"/admin/"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	events, _, err := w.webhooks.Events(context.Background(), w.platform, bursar.EventFilter{Order: w.course.ID, Limit: 1})
	must(w.t, err)
	return []action{
		{"/admin/refunds/" + string(w.evil.ID) + "/approve", back},
		{"/admin/refunds/" + string(w.plain.ID) + "/reject", with("reason", "No.")},
		{"/admin/withdrawals/" + string(w.big.ID) + "/approve", back},
		{"/admin/withdrawals/" + string(w.bigger.ID) + "/reject", with("reason", "No.")},
		{"/admin/users/buyer/adjustments", with("account", "user_cash", "amount", "12.50", "reason", "Goodwill.")},
		{"/admin/reconciliation/exceptions/" + string(w.exception.ID) + "/resolve", with("action", "accept", "note", "Known.")},
		{"/admin/webhooks/events/" + string(events[0].ID) + "/resend", with("endpoint", string(w.endpoint.ID))},
	}
}

func TestOperatorActions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		before := w.state()

		// Every action works for an operator.
		for _, a := range w.actions() {
			if kind, msg := w.act(a.path, w.operator, a.form); kind != "ok" {
				t.Errorf("POST %s: %s %q", a.path, kind, msg)
			}
		}
		after := w.state()
		if got := after.Cash - before.Cash; got != 8888+1250 {
			t.Errorf("the buyer's cash moved by %d, want the refund 8888 and the adjustment 1250", got)
		}
		if got := after.Earnings - before.Earnings; got != 5_000 {
			t.Errorf("the seller's earnings moved by %d, want the rejected withdrawal's 5000 back", got)
		}
		wantStatus := map[string]string{
			string(w.evil.ID): string(bursar.RefundSucceeded), string(w.plain.ID): string(bursar.RefundRejected),
			string(w.big.ID): string(bursar.OrderProcessing), string(w.bigger.ID): string(bursar.OrderFailed),
			string(w.course.ID): string(bursar.OrderRefunded), string(w.session.ID): string(bursar.OrderPaid),
		}
		for id, st := range after.Refunds {
			if string(st) != wantStatus[string(id)] {
				t.Errorf("refund %s is %s, want %s", id, st, wantStatus[string(id)])
			}
		}
		for id, st := range after.Orders {
			if string(st) != wantStatus[string(id)] {
				t.Errorf("order %s is %s, want %s", id, st, wantStatus[string(id)])
			}
		}
		if after.Exception != bursar.ReconResolved || after.Deliveries <= before.Deliveries {
			t.Errorf("exception %s and %d deliveries after resolving and re-sending, want resolved and more than %d",
				after.Exception, after.Deliveries, before.Deliveries)
		}
		// The audit log names the person, not only the platform.
		audit, _, err := w.console.Audit(ctx, w.platform, bursar.AuditFilter{Subject: string(w.evil.ID), Limit: 10})
		must(t, err)
		if len(audit) != 1 || audit[0].Actor != "admin:alice" || audit[0].Action != "refund.succeeded" {
			t.Errorf("the approval is recorded as %+v, want by admin:alice", audit)
		}
		// Deciding again is refused with the reason.
		if kind, msg := w.act(w.actions()[0].path, w.operator, w.actions()[0].form); kind != "error" || !strings.Contains(msg, "already") {
			t.Errorf("approving a decided refund: %s %q", kind, msg)
		}
	})
}

func TestRefusedActions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		tests := []struct {
			name string
			path string
			form url.Values
			msg  string
		}{
			{"rejecting a withdrawal without a reason", "/admin/withdrawals/" + string(w.big.ID) + "/reject",
				url.Values{"reason": {""}}, "A reason is 1 to 500 characters."},
			{"rejecting a refund without a reason", "/admin/refunds/" + string(w.plain.ID) + "/reject",
				url.Values{}, "A reason is 1 to 500 characters."},
			{"approving a refund that is not there", "/admin/refunds/rfd_nope/approve", url.Values{}, "There is no refund rfd_nope."},
			{"an adjustment of letters", "/admin/users/buyer/adjustments",
				url.Values{"account": {"user_cash"}, "amount": {"abc"}, "reason": {"x"}}, "The amount is yuan, such as 12.50 or -3.00."},
			{"an adjustment of three decimals", "/admin/users/buyer/adjustments",
				url.Values{"account": {"user_cash"}, "amount": {"1.234"}, "reason": {"x"}}, "The amount is yuan, such as 12.50 or -3.00."},
			{"an adjustment of nothing", "/admin/users/buyer/adjustments",
				url.Values{"account": {"user_cash"}, "amount": {"0.00"}, "reason": {"x"}}, "An adjustment is a non-zero amount of at most 1000000000 fen either way."},
			{"an adjustment without a reason", "/admin/users/buyer/adjustments",
				url.Values{"account": {"user_cash"}, "amount": {"1.00"}}, "An adjustment needs a reason of at most 500 bytes."},
			{"an adjustment of another account", "/admin/users/buyer/adjustments",
				url.Values{"account": {"platform_fees"}, "amount": {"1.00"}, "reason": {"x"}}, `An adjustment changes "user_cash" or "user_earnings".`},
			{"a debit below zero", "/admin/users/buyer/adjustments",
				url.Values{"account": {"user_earnings"}, "amount": {"-1.00"}, "reason": {"x"}}, ""},
			{"resolving without a note", "/admin/reconciliation/exceptions/" + string(w.exception.ID) + "/resolve",
				url.Values{"action": {"accept"}}, ""},
		}
		for _, tt := range tests {
			before := w.state()
			tt.form.Set("back", "/admin/users/buyer")
			r := w.post(tt.path, w.operator, tt.form)
			if r.status != http.StatusSeeOther {
				t.Errorf("%s: %d, want 303", tt.name, r.status)
				continue
			}
			u := r.location(t)
			if u.Path != "/admin/users/buyer" || u.Query().Get("error") == "" || u.Query().Has("ok") {
				t.Errorf("%s: redirected to %s, want back with an error", tt.name, u)
			}
			if tt.msg != "" && u.Query().Get("error") != tt.msg {
				t.Errorf("%s: error %q, want %q", tt.name, u.Query().Get("error"), tt.msg)
			}
			w.mustBeUnchanged(tt.name, before)
			// The page it comes back to shows the message.
			if p := w.get(u.String(), w.operator); !strings.Contains(p.body, `role="alert">`) {
				t.Errorf("%s: the page does not show the error", tt.name)
			}
		}

		// With a reason the same rejection goes through.
		if kind, msg := w.act("/admin/withdrawals/"+string(w.big.ID)+"/reject", w.operator,
			url.Values{"reason": {"The name does not match the account."}}); kind != "ok" {
			t.Errorf("rejecting a withdrawal with a reason: %s %q", kind, msg)
		}
		o, err := w.orders.Get(context.Background(), w.platform, w.big.ID)
		must(t, err)
		if o.Status != bursar.OrderFailed || !strings.Contains(o.FailureReason, "The name does not match the account.") {
			t.Errorf("the rejected withdrawal is %s (%q)", o.Status, o.FailureReason)
		}
	})
}

func TestAdjustments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		tests := []struct {
			account, amount string
			cash, earnings  bursar.Amount // the change
		}{
			{"user_cash", "12.50", 1250, 0},
			{"user_earnings", "0.01", 0, 1},
			{"user_cash", " 7 ", 700, 0},
			{"user_cash", "-3.00", -300, 0}, // the form's own example of a debit
			{"user_earnings", "-0.01", 0, -1},
		}
		for _, tt := range tests {
			before, err := w.wallets.Get(context.Background(), w.platform, "seller")
			must(t, err)
			kind, msg := w.act("/admin/users/seller/adjustments", w.operator, url.Values{"account": {tt.account},
				"amount": {tt.amount}, "reason": {"Goodwill."}, "back": {"/admin/users/seller"}})
			if kind != "ok" {
				t.Errorf("adjusting %s by %q: %s %q", tt.account, tt.amount, kind, msg)
				continue
			}
			after, err := w.wallets.Get(context.Background(), w.platform, "seller")
			must(t, err)
			if dc, de := after.Cash.Amount-before.Cash.Amount, after.Earnings.Amount-before.Earnings.Amount; dc != tt.cash || de != tt.earnings {
				t.Errorf("adjusting %s by %q moved cash %d and earnings %d, want %d and %d", tt.account, tt.amount, dc, de, tt.cash, tt.earnings)
			}
		}
		page := w.get("/admin/users/seller", w.operator).body
		if !strings.Contains(page, "Goodwill.") {
			t.Error("the statement does not show the adjustments' reason")
		}
	})
}

func TestViewerCannotAct(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		before := w.state()
		for _, a := range w.actions() {
			if kind, msg := w.act(a.path, w.viewer, a.form); kind != "error" || msg != viewerRefus {
				t.Errorf("POST %s as a viewer: %s %q, want error %q", a.path, kind, msg, viewerRefus)
			}
		}
		w.mustBeUnchanged("a viewer's actions", before)
		back := w.post(w.actions()[0].path, w.viewer, w.actions()[0].form).location(t)
		if p := w.get(back.RequestURI(), w.viewer); !strings.Contains(p.body, "Your role is viewer") {
			t.Error("the page a viewer comes back to does not say why")
		}
	})
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		before := w.state()
		headers := [][]string{
			{"Origin", "http://evil.example"},
			{"Origin", "null"},
			{"Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "same-site"},
			{"Sec-Fetch-Site", "cross-site", "Origin", "http://evil.example"},
		}
		for _, a := range w.actions() {
			for _, h := range headers {
				r := w.do(http.MethodPost, a.path, w.operator, a.form, h...)
				if r.status != http.StatusForbidden {
					t.Errorf("POST %s with %v = %d, want 403", a.path, h, r.status)
				}
			}
		}
		w.mustBeUnchanged("cross-origin actions", before)

		// Nor can another site sign the operator out.
		r := w.do(http.MethodPost, "/admin/logout", w.operator, url.Values{}, "Origin", "http://evil.example")
		if r.status != http.StatusForbidden {
			t.Errorf("a cross-origin sign-out = %d, want 403", r.status)
		}
		if p := w.get("/admin/", w.operator); p.status != http.StatusOK {
			t.Errorf("after a refused cross-origin sign-out the session answers %d", p.status)
		}

		// The console's own origin, and a request with no browser headers
		// at all (a script with the cookie), pass.
		a := w.actions()[4] // an adjustment
		if kind, msg := w.act(a.path, w.operator, a.form); kind != "ok" {
			t.Errorf("a same-origin adjustment: %s %q", kind, msg)
		}
		if r := w.do(http.MethodPost, a.path, w.operator, a.form); r.status != http.StatusSeeOther {
			t.Errorf("an adjustment without browser headers = %d, want 303", r.status)
		}
	})
}

func TestBackStaysInTheConsole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		backs := []struct{ back, want string }{
			{"/admin/refunds", "/admin/refunds"},
			{"/admin/refunds?ok=old&status=x", "/admin/refunds"},
			{"", "/admin/"},
			{"//evil.example", "/admin/"},
			{"//evil.example/admin/", "/admin/"},
			{"https://evil.example/admin/", "/admin/"},
			{"http://evil.example", "/admin/"},
			{"/\\evil.example", "/admin/"},
			{"/admin/\\\\evil.example", "/admin/"},
			{"javascript:alert(1)", "/admin/"},
			{"admin/refunds", "/admin/"},
			{"/admin\r\nLocation: https://evil.example", "/admin/"},
			{"/admin/../../evil", "/admin/"},
		}
		inside := func(t *testing.T, what, loc, want string) {
			t.Helper()
			u, err := url.Parse(loc)
			if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(loc, "//") || strings.Contains(loc, "\\") ||
				u.Path != want {
				t.Errorf("%s: redirected to %q, want %s in the console", what, loc, want)
			}
		}
		for _, b := range backs {
			// A refused action (a viewer's) and a failed one (an unknown
			// refund) both go back.
			for who, token := range map[string]string{"viewer": w.viewer, "operator": w.operator} {
				r := w.post("/admin/refunds/rfd_nope/approve", token, url.Values{"back": {b.back}})
				if r.status != http.StatusSeeOther {
					t.Errorf("back=%q as %s: %d", b.back, who, r.status)
					continue
				}
				inside(t, "back="+b.back+" as "+who, r.header.Get("Location"), b.want)
				if b.back == "/admin/refunds?ok=old&status=x" {
					q := r.location(t).Query()
					if q.Has("ok") || q.Get("status") != "x" || q.Get("error") == "" {
						t.Errorf("back=%q: the query became %v, want status kept, the old ok gone, an error", b.back, q)
					}
				}
			}
			// The sign-in form's next obeys the same rule.
			r := w.post("/admin/login", "", loginForm("alice", password, b.back))
			if r.status != http.StatusSeeOther {
				t.Errorf("next=%q: %d", b.back, r.status)
				continue
			}
			want := b.want
			if b.back == "/admin/refunds?ok=old&status=x" {
				want = "/admin/refunds"
			}
			inside(t, "next="+b.back, r.header.Get("Location"), want)
		}
	})
}

func TestSignOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		r := w.post("/admin/logout", w.operator, url.Values{})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/login" {
			t.Errorf("POST /admin/logout = %d to %q", r.status, r.header.Get("Location"))
		}
		cookies := (&http.Response{Header: r.header}).Cookies()
		if len(cookies) != 1 || cookies[0].Name != cookieName || cookies[0].Value != "" || cookies[0].MaxAge >= 0 ||
			!cookies[0].Secure || cookies[0].Path != "/" {
			t.Errorf("sign-out set %q, want the cookie removed", r.header["Set-Cookie"])
		}
		if p := w.get("/admin/", w.operator); p.status != http.StatusSeeOther {
			t.Errorf("the signed-out cookie still opens the dashboard: %d", p.status)
		}
		if _, _, err := w.admins.Session(context.Background(), w.operator); bursar.ErrorCode(err) != bursar.Unauthenticated {
			t.Errorf("the session after sign-out: %v", err)
		}
		if p := w.get("/admin/", w.viewer); p.status != http.StatusOK {
			t.Errorf("another admin's session after one signed out: %d", p.status)
		}
		// Signing out without a session just goes to the form.
		if r := w.post("/admin/logout", "", url.Values{}); r.status != http.StatusSeeOther {
			t.Errorf("signing out with no session = %d", r.status)
		}
	})
}

// TestFormActsOnce: a form sent twice with its one-time key (a double
// click, a resubmission) adjusts once and answers the first outcome again.
func TestFormActsOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		before, err := w.wallets.Get(context.Background(), w.platform, "seller")
		must(t, err)
		form := url.Values{"account": {"user_cash"}, "amount": {"100.00"}, "reason": {"Goodwill."}, "key": {"K1"},
			"back": {"/admin/users/seller"}}
		first, msg1 := w.act("/admin/users/seller/adjustments", w.operator, form)
		second, msg2 := w.act("/admin/users/seller/adjustments", w.operator, form)
		after, err := w.wallets.Get(context.Background(), w.platform, "seller")
		must(t, err)
		if first != "ok" || second != "ok" || msg1 != msg2 || after.Cash.Amount-before.Cash.Amount != 10_000 {
			t.Errorf("sent twice: %s %q, %s %q; cash moved %d, want 10000 once", first, msg1, second, msg2,
				after.Cash.Amount-before.Cash.Amount)
		}
		// A refused form can be fixed and sent again under its key.
		bad := url.Values{"account": {"user_cash"}, "amount": {"abc"}, "reason": {"x"}, "key": {"K2"}, "back": {"/admin/users/seller"}}
		if kind, _ := w.act("/admin/users/seller/adjustments", w.operator, bad); kind != "error" {
			t.Errorf("a bad amount: %s", kind)
		}
		bad.Set("amount", "1.00")
		if kind, msg := w.act("/admin/users/seller/adjustments", w.operator, bad); kind != "ok" {
			t.Errorf("the refused form fixed, under its key: %s %q", kind, msg)
		}
	})
}

// TestReenabledAdminSignsInAgain: disabling an admin ends their sessions,
// so enabling them again does not bring an old cookie back.
func TestReenabledAdminSignsInAgain(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		_, err := w.admins.SetDisabled(ctx, "alice", true)
		must(t, err)
		_, err = w.admins.SetDisabled(ctx, "alice", false)
		must(t, err)
		if r := w.get("/admin/", w.operator); r.status != http.StatusSeeOther {
			t.Errorf("the session from before the disable answers %d, want a redirect to sign in", r.status)
		}
	})
}

// TestUnreadableBack: a return address that does not parse falls back to
// the console's start, after the action, instead of failing the request.
func TestUnreadableBack(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		r := w.post("/admin/users/seller/adjustments", w.operator, url.Values{"account": {"user_cash"}, "amount": {"1.00"},
			"reason": {"x"}, "back": {"/admin/refunds%zz"}})
		if r.status != http.StatusSeeOther || r.location(t).Path != "/admin/" {
			t.Errorf("a bad back: %d %s", r.status, r.body)
		}
	})
}

// flashURL is path with a message an action would leave for the operator's
// session, signed as the console signs it.
func (w *world) flashURL(path, kind, msg string) string {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: w.operator})
	return path + "?" + url.Values{kind: {msg}, "sig": {admin.FlashSig(req, kind, msg)}}.Encode()
}

// TestUnsignedFlashIsNotShown: a link that carries its own "done" message
// (to make an admin believe something happened) shows nothing; the
// console's own message, signed for the session, shows.
func TestUnsignedFlashIsNotShown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := newWorld(t, db)
		const lie = "Withdrawal approved by finance: approve the others too."
		for _, path := range []string{"/admin/withdrawals?ok=" + url.QueryEscape(lie),
			"/admin/withdrawals?ok=" + url.QueryEscape(lie) + "&sig=0123456789abcdef0123456789abcdef"} {
			if p := w.get(path, w.operator); strings.Contains(p.body, `role="status">`+lie) {
				t.Errorf("GET %s shows the link's own message", path)
			}
		}
		if p := w.get(w.flashURL("/admin/withdrawals", "ok", "Done."), w.operator); !strings.Contains(p.body, `role="status">Done.`) {
			t.Error("a signed message is not shown")
		}
		// Signed for another session, it shows nothing.
		if p := w.get(w.flashURL("/admin/withdrawals", "ok", "Done."), w.viewer); strings.Contains(p.body, `role="status">Done.`) {
			t.Error("a message signed for another session is shown")
		}
	})
}

// TestStaticFiles: the stylesheet is served to anyone, a folder is not
// listed.
func TestStaticFiles(t *testing.T) {
	srv := admin.New(admin.Deps{})
	for path, want := range map[string]int{"/admin/static/style.css": http.StatusOK, "/admin/static/": http.StatusNotFound} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s = %d, want %d", path, rec.Code, want)
		}
	}
}
