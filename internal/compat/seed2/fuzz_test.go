package seed2

// Fuzz tests of the layer's outside input: FuzzParams for the parameter
// parsing of params.go and callbacks.go (any body, any content type, any
// query and header, GET or POST), FuzzServer for whole calls on a real
// SQLite database with the channels' sandboxes. The rule they check: bad
// input never panics, never fails inside (code 9 or 10, seed 2's 5xx),
// always answers HTTP 200 in the seed's envelope, and never writes half a
// state (the ledger verifies after every call, and a refused call leaves
// orders, payments, refunds, reviews and the ledger as they were, but for
// the exceptions docs/compat/seed2.md states).
//
// Run one with, for example:
//
//	go test -run='^$' -fuzz='^FuzzServer$' -fuzztime=30s ./internal/compat/seed2/

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"bursar.dev/bursar/internal/api"
	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/alipay"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
	"bursar.dev/bursar/internal/channel/wechat"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store/dbtest"
	"bursar.dev/bursar/internal/store/sqlite"
)

// ---------------------------------------------------------------------------
// Unit level: params.go and readReport.

// fuzzParamNames are the parameters the routes read, besides whatever
// names the input itself brings.
var fuzzParamNames = []string{
	"album_id", "user_id", "amount", "servicer", "method", "openid", "return_url", "result", "trade_no",
	"third_trade_no", "third_buyer_id", "id", "page", "page_size", "role", "access_token", "accessToken",
	"accesstoken", "token",
}

// fuzzMultipart is a multipart/form-data body of the fields kv, and its
// content type.
func fuzzMultipart(kv ...string) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.SetBoundary("fuzzboundary")
	for i := 0; i+1 < len(kv); i += 2 {
		_ = mw.WriteField(kv[i], kv[i+1])
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// fuzzHeaderLines reads "Name: value" lines into a header, dropping the
// lines an HTTP server would refuse and those that would change the
// body's framing.
func fuzzHeaderLines(s string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		name, value, ok := strings.Cut(strings.TrimSuffix(line, "\r"), ":")
		value = strings.Trim(value, " \t")
		if !ok || !fuzzValidHeaderName(name) || !fuzzValidHeaderValue(value) {
			continue
		}
		switch http.CanonicalHeaderKey(name) {
		case "Content-Type", "Content-Length", "Transfer-Encoding", "Host", "Connection", "Expect":
			continue
		}
		h.Add(name, value)
	}
	return h
}

func fuzzValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		token := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !token {
			return false
		}
	}
	return true
}

// fuzzValidHeaderValue is net/http's rule: no control byte but tab.
func fuzzValidHeaderValue(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// fuzzIsBadInput fails t unless err is one of the layer's own refusals of
// bad input: a failure of code invalid with its own text, answered as
// {"code": 4, "err_desc": that text} with HTTP 200.
func fuzzIsBadInput(t *testing.T, what string, err error) {
	t.Helper()
	f, ok := errors.AsType[*failure](err)
	if !ok || f.err.Code != bursar.Invalid || f.err.Message == "" || f.cause != nil {
		t.Fatalf("%s: %#v (%v) is not a bad-input failure", what, err, err)
	}
	s := &Server{deps: Deps{Log: slog.New(slog.DiscardHandler)}}
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest("POST", Prefix+"x", nil), err)
	// A text that echoes a parameter's name may not be UTF-8: JSON shows
	// its bad bytes as U+FFFD.
	var ans errorBody
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &ans) != nil || ans.Code != 4 || ans.ErrDesc == "" ||
		(utf8.ValidString(f.err.Message) && ans.ErrDesc != f.err.Message) {
		t.Fatalf("%s: %v answers %d %s", what, err, rec.Code, rec.Body)
	}
}

// FuzzParams reads any request, GET or POST, as a route's parameters, then
// every parameter as each kind the routes read, and the parameters as a
// payment report: no panic, every error a bad-input failure, every value
// within its bounds.
func FuzzParams(f *testing.F) {
	ctMultipart, bodyMultipart := fuzzMultipart("album_id", "3", "servicer", "2", "access_token", "ut_x")
	for _, s := range []struct {
		post                       bool
		ctype, query, header, body string
	}{
		{false, "", "album_id=2", "Authorization: Bearer ut_x", ""},
		{true, "application/x-www-form-urlencoded", "", "", "result=2&trade_no=201807050257180000000001&third_trade_no=2018070521001004&third_buyer_id=2088102177846880&amount=88.88"},
		{true, "application/json", "access_token=ut_q", "", `{"result":"SUCCESS","trade_no":"5-9996-6d2d","amount":0.01,"third_buyer_id":null}`},
		{true, "application/json; charset=utf-8", "", "", `{"id":"1","trade_no":"a b"}`},
		{true, "text/plain", "", "", `{"page":"2","page_size":10.5,"role":["seller"]}`},
		{true, "application/vnd.api+json", "", "", `{"page":1} {"page":2}`},
		{true, "", "page=0&page_size=101", "Authorization: Bearer  ", "token=ut_y&accesstoken=ut_z&id=" + strings.Repeat("x", 65)},
		{true, ctMultipart, "", "", string(bodyMultipart)},
		{true, "multipart/form-data", "", "", string(bodyMultipart)},
		{true, "application/x-www-form-urlencoded", "", "", "amount=%zz&x=1;y=2"},
		{true, "application/json", "", "", `{"amount":"92233720368547758.08","page":"9223372036854775807","method":"alipay_wap","return_url":"javascript:alert(1)"}`},
		{true, "application/json", "", "", "null"},
		{true, "application/json", "", "", `{"a":"\ud800"}`},
		{true, "", "", "X-Forwarded-For: 203.0.113.9, 10.0.0.1", "servicer=1&method=wechat_h5&openid=o1"},
		// A name that is not UTF-8, echoed in err_desc ("\xe7 应为 ..."):
		// JSON shows its byte as U+FFFD.
		{true, "0", "", "", "\xe7=00"},
	} {
		f.Add(s.post, s.ctype, s.query, s.header, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, post bool, ctype, query, header string, body []byte) {
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(method, Prefix+"create", io.NopCloser(bytes.NewReader(body)))
		r.URL.RawQuery = query
		r.Header = fuzzHeaderLines(header)
		r.Header.Set("Content-Type", ctype)
		p, err := readParams(rec, r)
		if err != nil {
			fuzzIsBadInput(t, "readParams", err)
			return
		}
		if p == nil {
			t.Fatal("readParams: nil params and no error")
		}
		if !post {
			for k, vs := range r.URL.Query() {
				if p[k] != vs[0] {
					t.Fatalf("GET: %q is %q, the query says %q", k, p[k], vs[0])
				}
			}
		}
		names := slices.Clone(fuzzParamNames)
		for k := range p {
			names = append(names, k)
		}
		for _, name := range names {
			if v, err := p.id(name); err != nil {
				fuzzIsBadInput(t, "id("+name+")", err)
			} else if v != "" && !validID(v) || v != p[name] {
				t.Fatalf("id(%q) = %q from %q", name, v, p[name])
			}
			if n, err := p.number(name, 10, 1, 100); err != nil {
				fuzzIsBadInput(t, "number("+name+")", err)
			} else if n < 1 || n > 100 {
				t.Fatalf("number(%q) = %d", name, n)
			}
			if a, err := p.yuan(name); err != nil {
				fuzzIsBadInput(t, "yuan("+name+")", err)
			} else if a != nil {
				// Not negative, and written in yuan it reads back the same.
				if b, err := bursar.ParseYuan(a.Yuan()); *a < 0 || err != nil || b != *a {
					t.Fatalf("yuan(%q) = %d from %q", name, *a, p[name])
				}
			}
			if v, err := p.text(name, 64); err != nil {
				fuzzIsBadInput(t, "text("+name+")", err)
			} else if len(v) > 64 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) {
				t.Fatalf("text(%q) = %q", name, v)
			}
		}
		if tok := p.token(r); tok != "" {
			bearer, fromHeader := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			inParams := false
			for _, k := range tokenParams {
				inParams = inParams || p[k] == tok
			}
			if fromBearer := fromHeader && strings.TrimSpace(bearer) == tok; !fromBearer && !inParams {
				t.Fatalf("token %q comes from nowhere", tok)
			}
		}
		if rep, err := readReport(p); err != nil {
			fuzzIsBadInput(t, "readReport", err)
		} else if !validID(rep.tradeNo) || len(rep.thirdTradeNo) > 64 || (rep.amount != nil && *rep.amount < 0) {
			t.Fatalf("readReport: %+v", rep)
		}
		c := call{ctx: context.Background(), p: p, r: r}
		if m, opt, err := payMethod(c); err != nil {
			fuzzIsBadInput(t, "payMethod", err)
		} else if m != "" && m.Channel() == "" {
			t.Fatalf("payMethod: %q", m)
		} else if opt.ReturnURL != "" {
			if u, err := url.Parse(opt.ReturnURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("payMethod: return_url %q", opt.ReturnURL)
			}
		}
		for _, actor := range []bursar.Actor{{Kind: bursar.CredentialPlatform}, {Kind: bursar.CredentialUser, User: "8"}} {
			c.actor = actor
			if u, err := user(c); err != nil {
				fuzzIsBadInput(t, "user", err)
			} else if !validID(string(u)) || (!actor.IsPlatform() && u != actor.User) {
				t.Fatalf("user: %q for %+v", u, actor)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Handler level: the layer over a real SQLite database.

// The users and albums of setup_test.go: a teacher who sells albums, a
// student who buys them, mallory, another student.
const (
	fuzzTeacher = "1"
	fuzzStudent = "8"
	fuzzMallory = "9"
)

var fuzzAlbums = []bursar.Item{
	{ID: "1", Kind: bursar.ItemCourse, Title: "我的直播课"},
	{ID: "2", Kind: bursar.ItemCourse, Title: "我的直播课"},
	{ID: "3", Kind: bursar.ItemCourse, Title: "Go 语言入门", Price: bursar.Money{Amount: 8888}, Hold: 2 * time.Hour},
	{ID: "4", Kind: bursar.ItemCourse, Title: "Python 数据分析", Price: bursar.Money{Amount: 1990}, Hold: 2 * time.Hour},
	{ID: "5", Kind: bursar.ItemCourse, Title: "Rust 实战", Price: bursar.Money{Amount: 6600}, Hold: 2 * time.Hour},
	{ID: "6", Kind: bursar.ItemSession, Title: "一对一答疑", Price: bursar.Money{Amount: 500}, Duration: 24 * time.Hour},
}

// fuzzLogs keeps the log of the current call, shown when it fails.
type fuzzLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *fuzzLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *fuzzLogs) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.buf.String()
	l.buf.Reset()
	return s
}

// fuzzWorld is a course platform served as `bursar serve` serves it: the
// seed 2 layer under its prefix and the v1 API in one ServeMux, the
// channels the sandboxes, each reached by its real adapter.
type fuzzWorld struct {
	db    *sqlite.DB
	read  *sql.DB // a read-only connection, for fingerprints
	mux   *http.ServeMux
	logs  *fuzzLogs
	subst map[string]string // placeholder → value
}

func fuzzMust(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// fuzzOpenDB opens a migrated SQLite database, as dbtest.Open does, whose
// file a second, read-only connection also reads.
func fuzzOpenDB(tb testing.TB) (*sqlite.DB, *sql.DB) {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "bursar.db")
	db, err := sqlite.Open(p)
	fuzzMust(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	fuzzMust(tb, db.Migrate(context.Background()))
	read, err := sql.Open("sqlite", sqlite.DSN(p, true))
	fuzzMust(tb, err)
	tb.Cleanup(func() { _ = read.Close() })
	return db, read
}

func newFuzzWorld(tb testing.TB) *fuzzWorld {
	tb.Helper()
	ctx := context.Background()
	db, read := fuzzOpenDB(tb)
	w := &fuzzWorld{db: db, read: read, logs: &fuzzLogs{}, subst: map[string]string{}}
	log := slog.New(slog.NewTextHandler(w.logs, nil))
	quiet := slog.New(slog.DiscardHandler)

	// The sandboxes listen on a real port: the adapters reach them by
	// HTTP. Calls to the layer go straight to w.mux.
	w.mux = http.NewServeMux()
	srv := httptest.NewServer(w.mux)
	tb.Cleanup(srv.Close)
	dir := tb.TempDir()
	aDir, wDir := filepath.Join(dir, "alipay"), filepath.Join(dir, "wechat")
	af, err := alipaysandbox.Setup(aDir, srv.URL)
	fuzzMust(tb, err)
	wf, err := wechatsandbox.Setup(wDir, srv.URL)
	fuzzMust(tb, err)
	ag, err := alipaysandbox.New(alipaysandbox.Config{Dir: aDir, BaseURL: srv.URL, RetryScale: 0.0001,
		AppGatewayURL: srv.URL + "/v1/notify/alipay", Log: quiet})
	fuzzMust(tb, err)
	tb.Cleanup(ag.Close)
	wcfg := wf.Gateway
	wcfg.BaseURL, wcfg.RetryScale, wcfg.Log = srv.URL, 0.0001, quiet
	wg, err := wechatsandbox.New(wcfg)
	fuzzMust(tb, err)
	tb.Cleanup(wg.Close)
	for _, p := range []string{"/gateway.do", "/alipay/"} {
		w.mux.Handle(p, ag.Handler())
	}
	for _, p := range []string{"/v3/", "/wechat/"} {
		w.mux.Handle(p, wg.Handler())
	}
	acfg, err := alipay.LoadConfig(af.CertConfig)
	fuzzMust(tb, err)
	ach, err := alipay.New(acfg)
	fuzzMust(tb, err)
	wccfg, err := wechat.LoadConfig(wf.ConfigFile)
	fuzzMust(tb, err)
	wch, err := wechat.New(wccfg)
	fuzzMust(tb, err)
	chans := map[bursar.Channel]channel.Channel{bursar.ChannelAlipay: ach, bursar.ChannelWeChat: wch}

	d := service.Deps{DB: db, Now: time.Now, Log: log, Pepper: []byte("a test pepper of at least 32 bytes!"),
		CommissionBPS: 1000, Channels: chans, PublicURL: srv.URL}
	auth, users, items, orders := service.NewAuth(d), service.NewUsers(d), service.NewItems(d), service.NewOrders(d)
	w.mux.Handle("/v1/", api.New(api.Deps{Log: quiet, Auth: auth, Users: users, Items: items, Orders: orders,
		Wallets: service.NewWallets(d), Idempotency: service.NewIdempotency(d), Refunds: service.NewRefunds(d),
		Reviews: service.NewReviews(d), Entitlements: service.NewEntitlements(d), Withdrawals: service.NewWithdrawals(d),
		Notifications: service.NewNotifications(d)}))
	w.mux.Handle(Prefix, New(Deps{Auth: auth, Items: items, Orders: orders, Log: log}))

	key, cred, err := auth.CreatePlatformKey(ctx, "fuzz")
	fuzzMust(tb, err)
	w.subst["{key}"] = key
	platform := bursar.Actor{Kind: bursar.CredentialPlatform, Credential: cred.ID}
	for u, placeholder := range map[string]string{fuzzTeacher: "{teacher}", fuzzStudent: "{student}", fuzzMallory: "{mallory}"} {
		_, err := users.Create(ctx, platform, service.UserInput{ID: bursar.UserID(u)})
		fuzzMust(tb, err)
		w.subst[placeholder], _, err = auth.MintToken(ctx, platform, bursar.UserID(u), "fuzz", 0)
		fuzzMust(tb, err)
	}
	for _, it := range fuzzAlbums {
		it.Seller, it.Price.Currency = fuzzTeacher, bursar.CNY
		_, err := items.Create(ctx, platform, it)
		fuzzMust(tb, err)
	}
	// Orders in each state the routes act on: {topay} (its number {topayno})
	// unpaid; {alipaidno} and {wxpaidno} paid by the student's app at the
	// channel (as the seed's apps pay), which Bursar does not know yet.
	// {last} and {lastno} are the order the last successful create made.
	buy := func(album bursar.ItemID) bursar.Order {
		o, _, err := orders.CreatePurchase(ctx, platform, service.PurchaseInput{Buyer: fuzzStudent, Item: album})
		fuzzMust(tb, err)
		return o
	}
	o := buy("3")
	w.subst["{topay}"], w.subst["{topayno}"] = string(o.ID), o.No
	w.subst["{last}"], w.subst["{lastno}"] = string(o.ID), o.No
	for _, p := range []struct {
		album       bursar.ItemID
		m           channel.Method
		placeholder string
	}{{"4", channel.AlipayApp, "{alipaidno}"}, {"5", channel.WeChatApp, "{wxpaidno}"}} {
		o := buy(p.album)
		pay, err := chans[p.m.Channel()].Pay(ctx, channel.PayRequest{OrderNo: o.No, Amount: o.Amount, Subject: o.Subject,
			Method: p.m, ExpiresAt: time.Now().Add(30 * time.Minute), NotifyURL: srv.URL + "/app-server/notify"})
		fuzzMust(tb, err)
		form := url.Values{"order_string": {pay.OrderString}}
		control := "/alipay/sandbox/pay"
		if p.m == channel.WeChatApp {
			form, control = url.Values{"out_trade_no": {o.No}, "openid": {"oFuzzStudent"}}, "/wechat/sandbox/pay"
		}
		resp, err := http.PostForm(srv.URL+control, form)
		fuzzMust(tb, err)
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("POST %s: %d %s", control, resp.StatusCode, b)
		}
		w.subst[p.placeholder] = o.No
	}
	tb.Cleanup(func() { dbtest.Verify(tb, db) })
	w.logs.take()
	return w
}

// expand replaces the placeholders of s, as they are or as a form or a
// query encodes them, by the world's tokens and ids.
func (w *fuzzWorld) expand(s string) string {
	if !strings.Contains(s, "{") && !strings.Contains(s, "%7B") {
		return s
	}
	kv := make([]string, 0, 4*len(w.subst))
	for k, v := range w.subst {
		kv = append(kv, k, v, "%7B"+strings.Trim(k, "{}")+"%7D", v)
	}
	return strings.NewReplacer(kv...).Replace(s)
}

// fingerprint sums up what a refused call must not change: orders,
// channel payments, refunds, reviews and the ledger's entries.
func (w *fuzzWorld) fingerprint(tb testing.TB) string {
	tb.Helper()
	const q = `SELECT
		(SELECT count(*) || ':' || coalesce(group_concat(x, ','), '') FROM (SELECT id || '/' || status || '/' || channel || '/' ||
			paid_from_cash || '/' || paid_from_earnings || '/' || refunded || '/' || amount || '/' || metadata AS x FROM orders ORDER BY id)),
		(SELECT count(*) || ':' || coalesce(group_concat(x, ','), '') FROM (SELECT order_id || '/' || channel || '/' || method || '/' ||
			status || '/' || trade_no AS x FROM payments ORDER BY order_id, channel)),
		(SELECT count(*) || ':' || coalesce(group_concat(x, ','), '') FROM (SELECT id || '/' || status AS x FROM refunds ORDER BY id)),
		(SELECT count(*) FROM reviews), (SELECT count(*) FROM entries), (SELECT count(*) FROM postings)`
	var o, p, r string
	var rv, e, ps int64
	fuzzMust(tb, w.read.QueryRow(q).Scan(&o, &p, &r, &rv, &e, &ps))
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%s", o, p, r)
	return fmt.Sprintf("%x reviews=%d entries=%d postings=%d", h.Sum64(), rv, e, ps)
}

// fuzzSeeds are the seed document's example requests and their variants,
// as name/value pairs with the caller's token placeholder.
var fuzzSeeds = []struct {
	route string
	token string
	kv    []string
}{
	{"create", "{student}", []string{"album_id", "2"}},
	{"create", "{student}", []string{"album_id", "3"}},
	{"create", "{student}", []string{"album_id", "4", "servicer", "2"}},
	{"create", "{student}", []string{"album_id", "4", "servicer", "1"}},
	{"create", "{student}", []string{"album_id", "5", "method", "alipay_wap", "return_url", "https://example.com/paid"}},
	{"create", "{student}", []string{"album_id", "5", "method", "alipay_page", "return_url", "https://example.com/paid"}},
	{"create", "{student}", []string{"album_id", "5", "method", "alipay_qr"}},
	{"create", "{student}", []string{"album_id", "3", "servicer", "1", "method", "wechat_h5"}},
	{"create", "{student}", []string{"album_id", "3", "method", "wechat_jsapi", "openid", "oFuzzStudent"}},
	{"create", "{student}", []string{"album_id", "3", "method", "wechat_native"}},
	{"create", "{key}", []string{"album_id", "5", "user_id", fuzzMallory, "amount", "0.01"}},
	{"create", "{key}", []string{"album_id", "5", "user_id", fuzzMallory, "amount", "0.00"}},
	{"create", "{teacher}", []string{"album_id", "6"}},
	{"alipay", "{student}", []string{"result", "2", "trade_no", "{alipaidno}", "third_trade_no", "2018070521001004", "third_buyer_id", "2088102177846880", "amount", "19.90"}},
	{"alipay", "{student}", []string{"result", "2", "trade_no", "{alipaidno}"}},
	{"wxpay", "{student}", []string{"result", "SUCCESS", "trade_no", "{wxpaidno}", "third_trade_no", "4200000000201807050000000001", "third_buyer_id", "oFuzzStudent", "amount", "66.00"}},
	{"wxpay", "{student}", []string{"result", "FAIL", "trade_no", "{topayno}"}},
	{"alipay", "{key}", []string{"result", "2", "trade_no", "{lastno}", "amount", "88.88"}},
	{"get", "{student}", []string{"id", "{topay}"}},
	{"get", "{teacher}", []string{"trade_no", "{alipaidno}"}},
	{"get", "{mallory}", []string{"id", "{last}", "trade_no", "{lastno}"}},
	{"list", "{student}", []string{"page", "1", "page_size", "10"}},
	{"list", "{teacher}", []string{"page", "2", "page_size", "100", "role", "seller"}},
	{"list", "{key}", []string{"user_id", fuzzStudent, "role", "buyer"}},
	{"nosuch", "{student}", []string{"id", "{topay}"}},
}

// FuzzServer sends any call to the seed 2 layer, served with the v1 API
// as `bursar serve` serves them: GET or POST, the route name (which may
// bring a query), the content type, header lines (the Authorization
// header, X-Forwarded-For) and the body. Placeholders such as {student}
// or {topayno} in any of them stand for the world's tokens and order ids.
// The answer is always HTTP 200 in the seed's envelope and never code 9
// or 10; a refusal changes no order, payment, refund, review or ledger
// entry, but where docs/compat/seed2.md says it may; the ledger verifies
// after every call.
func FuzzServer(f *testing.F) {
	for _, s := range fuzzSeeds {
		form, obj := url.Values{}, map[string]any{}
		for i := 0; i+1 < len(s.kv); i += 2 {
			form.Set(s.kv[i], s.kv[i+1])
			obj[s.kv[i]] = s.kv[i+1]
		}
		withToken := url.Values{"access_token": {s.token}}
		for k, vs := range form {
			withToken[k] = vs
		}
		// The seed's own form: GET with a query.
		f.Add(false, s.route+"?"+withToken.Encode(), "", "", []byte(nil))
		// A posted form, the token in the header.
		f.Add(true, s.route, "application/x-www-form-urlencoded", "Authorization: Bearer "+s.token, []byte(form.Encode()))
		// A posted JSON object, the token in it.
		obj["access_token"] = s.token
		b, err := json.Marshal(obj)
		fuzzMust(f, err)
		f.Add(true, s.route, "application/json", "", b)
	}
	ct, body := fuzzMultipart("album_id", "4", "servicer", "1", "method", "wechat_h5")
	f.Add(true, "create", ct, "Authorization: Bearer {student}\nX-Forwarded-For: 203.0.113.9", body)
	f.Add(true, "create", "text/plain", "Authorization: Bearer {student}", []byte(`{"album_id":3,"servicer":2}`))
	f.Add(true, "list", "application/json", "Authorization: Bearer {student}", []byte(`{"page":10001,"page_size":1}`))
	f.Add(true, "get", "application/json", "Authorization: Bearer {student}", []byte(`{"id":{"$ne":null}}`))
	f.Add(false, "alipay?result=2&trade_no=%7Bwxpaidno%7D&amount=-1", "", "Authorization: Bearer {student}", []byte(nil))
	// What create hands the channels as the caller gives it: the client's
	// address, an openid, a return URL.
	f.Add(true, "create", "", "Authorization: Bearer {student}\nX-Forwarded-For: not-an-ip, 10.0.0.1", []byte("album_id=3&method=wechat_h5"))
	f.Add(true, "create", "", "Authorization: Bearer {student}\nX-Forwarded-For: 2001:db8::1", []byte("album_id=3&method=wechat_h5"))
	f.Add(true, "create", "", "Authorization: Bearer {student}", []byte("album_id=3&method=wechat_jsapi&openid=%00%FF<x>"))
	f.Add(true, "create", "", "Authorization: Bearer {student}", []byte("album_id=3&method=alipay_page&return_url=http://h/%00%ZZ\"<>"+strings.Repeat("a", 600)))

	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, post bool, route, ctype, header string, body []byte) {
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		target := Prefix + w.expand(route)
		for i := range len(target) {
			if c := target[i]; c <= ' ' || c == 0x7f {
				return // no request line carries it
			}
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // net/http answers 400 before any handler
		}
		ctype = strings.Trim(ctype, " \t")
		if !fuzzValidHeaderValue(ctype) {
			return
		}
		req := httptest.NewRequest(method, "/", bytes.NewReader([]byte(w.expand(string(body)))))
		req.URL, req.RequestURI = u, target
		req.Header = fuzzHeaderLines(w.expand(header))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}

		before := w.fingerprint(t)
		w.logs.take()
		rec := httptest.NewRecorder()
		w.mux.ServeHTTP(rec, req)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("%s %s\nContent-Type: %s\n%s\n\n%s\n→ %d %s\n%s\nlog:\n%s", method, target, ctype, req.Header, body,
				rec.Code, rec.Header().Get("Content-Type"), rec.Body, fmt.Sprintf(format, args...)+"\n"+w.logs.take())
		}
		code := fuzzCheckAnswer(rec, u.Path, fail)
		callback := u.Path == Prefix+"alipay" || u.Path == Prefix+"wxpay"
		switch {
		case code == 0 || callback:
			// A callback's order follows the channel, whatever the
			// report's answer (docs/compat/seed2.md, 6.2).
		case code == codes[bursar.ChannelFailed].N && u.Path == Prefix+"create":
			// The channel refused the payment of the order just
			// created, which expires unpaid (docs/compat/seed2.md, 6.1).
		default:
			if after := w.fingerprint(t); after != before {
				fail("a refused call changed the database: %s → %s", before, after)
			}
		}
		var ans listBody
		if code == 0 && u.Path == Prefix+"create" && json.Unmarshal(rec.Body.Bytes(), &ans) == nil && len(ans.Data.Items) == 1 {
			if it, ok := ans.Data.Items[0].(map[string]any); ok {
				id, _ := it["id"].(string)
				no, _ := it["trade_no"].(string)
				w.subst["{last}"], w.subst["{lastno}"] = id, no
			}
		}
		dbtest.Verify(t, w.db)
	})
}

// fuzzCheckAnswer fails unless rec is an answer of the seed's: HTTP 200, a
// JSON object, {"code": 0, "data": {"count", "ts", "items"}}, {"code": 0}
// from a callback, or {"code", "err_desc"} with a code that is not a
// failure inside (9 or 10); or, for a path that is not clean, net/http's
// redirect to the clean one (the layer never sees that call). It returns
// the answer's code, -1 for a redirect.
func fuzzCheckAnswer(rec *httptest.ResponseRecorder, p string, fail func(string, ...any)) int {
	if rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect || rec.Code == http.StatusPermanentRedirect {
		if clean := path.Clean(p); clean == p || clean+"/" == p {
			fail("a redirect of a clean path")
		}
		return -1
	}
	if rec.Code != http.StatusOK {
		fail("HTTP %d: every answer is 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		fail("Content-Type %q", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		fail("not a JSON object: %v", err)
	}
	if dec.More() {
		fail("more than one JSON value")
	}
	n, ok := m["code"].(json.Number)
	code, err := strconv.Atoi(n.String())
	if !ok || err != nil {
		fail("no integer code")
	}
	switch {
	case code == 0 && len(m) == 1:
		if p != Prefix+"alipay" && p != Prefix+"wxpay" {
			fail(`{"code": 0} from a route that is not a callback`)
		}
	case code == 0:
		data, ok := m["data"].(map[string]any)
		if !ok || len(m) != 2 || len(data) != 3 {
			fail(`not {"code": 0, "data": {"count", "ts", "items"}}`)
		}
		items, ok := data["items"].([]any)
		count, _ := data["count"].(json.Number)
		_, hasTS := data["ts"].(json.Number)
		if !ok || !hasTS || count.String() != strconv.Itoa(len(items)) {
			fail("data: count %v of %d items, ts %v", data["count"], len(items), data["ts"])
		}
	default:
		desc, ok := m["err_desc"].(string)
		if !ok || desc == "" || len(m) != 2 {
			fail(`not {"code": N, "err_desc": "..."}`)
		}
		known := false
		for c, v := range codes {
			known = known || (v.N == code && c != bursar.Internal && c != bursar.Unavailable && c != bursar.RateLimited)
		}
		if !known {
			fail("code %d: a failure inside, or no code of the seed's", code)
		}
	}
	return code
}
