package seed1

// Fuzz tests of the layer's outside input: FuzzParams for the parameter
// parsing of params.go (any body, any content type, any query and header),
// FuzzServer for whole calls on a real SQLite database with the channels'
// sandboxes. The rule they check: bad input never panics, never answers
// 5xx, always answers in the seed's envelope, and never writes half a
// state (the ledger verifies after every call, and a refused call leaves
// orders, payments, refunds, reviews and the ledger as they were).
//
// Run one with, for example:
//
//	go test -run='^$' -fuzz='^FuzzServer$' -fuzztime=30s ./internal/compat/seed1/

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

	"bursar.dev/bursar/internal/api"
	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/alipay"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
	"bursar.dev/bursar/internal/channel/wechat"
	"bursar.dev/bursar/internal/clientip"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store/dbtest"
	"bursar.dev/bursar/internal/store/sqlite"
)

// ---------------------------------------------------------------------------
// Unit level: params.go.

// fuzzParamNames are the parameters the endpoints read, besides whatever
// names the input itself brings.
var fuzzParamNames = []string{
	"subject", "amount", "userId", "receiverId", "chatId", "skillId", "type", "channel", "payPass", "oid", "id",
	"alipayNo", "alipayName", "uid", "newPass", "oldPass", "status", "pageNo", "pageSize", "reason", "pass",
	"score", "comment", "accessToken", "accesstoken",
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
// bad input: a fault of code invalid, and answered as {"code": 2 or 12}
// with HTTP 200.
func fuzzIsBadInput(t *testing.T, what string, err error) {
	t.Helper()
	f, ok := errors.AsType[*fault](err)
	if !ok || f.code != bursar.Invalid || f.msg == "" || f.cause != nil {
		t.Fatalf("%s: %#v (%v) is not a bad-input fault", what, err, err)
	}
	s := &Server{deps: Deps{Log: slog.New(slog.DiscardHandler)}}
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest("POST", Prefix+"x", nil), err)
	var ans struct {
		Code *int    `json:"code"`
		Msg  *string `json:"msg"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &ans) != nil || ans.Code == nil ||
		(*ans.Code != 2 && *ans.Code != 12) || ans.Msg == nil || *ans.Msg == "" {
		t.Fatalf("%s: %v answers %d %s", what, err, rec.Code, rec.Body)
	}
}

// FuzzParams reads any query, content type, header and body as a call's
// parameters, then every parameter as each kind the endpoints read: no
// panic, every error a bad-input fault, every value within its bounds.
func FuzzParams(f *testing.F) {
	ctMultipart, bodyMultipart := fuzzMultipart("oid", "ord_1", "payPass", "246810", "accessToken", "ut_x")
	for _, s := range []struct{ ctype, query, header, body string }{
		{"application/x-www-form-urlencoded", "", "", "subject=%E8%B4%AD%E4%B9%B0xx%E6%9C%8D%E5%8A%A1&amount=100&userId=55370ecc30b55c7805829b33&receiverId=55370ecc30b55c7805829b34&chatId=room_77340061&skillId=5555c4a1390c9ed166fc7f15"},
		{"application/json", "", "Authorization: Bearer ut_x", `{"subject":"购买xx服务","amount":100,"userId":"55370ecc30b55c7805829b33","receiverId":"55370ecc30b55c7805829b34"}`},
		{"application/json; charset=utf-8", "accessToken=ut_q", "", `{"oid":"ord_1","payPass":"246810","userId":null}`},
		{"text/plain", "", "", `{"pageNo":"2","pageSize":10.5,"type":["deal"],"status":{"a":1}}`},
		{"application/vnd.api+json", "", "", `{"score":5} {"score":4}`},
		{"", "pageNo=-1&pageSize=1e3", "Authorization: Bearer  ", "accesstoken=ut_y&ACCESSTOKEN=ut_z&oid=" + strings.Repeat("x", 65)},
		{ctMultipart, "", "", string(bodyMultipart)},
		{"multipart/form-data", "", "", string(bodyMultipart)},
		{"application/x-www-form-urlencoded", "", "", "amount=%zz&x=1;y=2"},
		{"application/json", "", "", `{"amount":99999999999999999999999,"score":"0x10","pageNo":9223372036854775807,"pageSize":1}`},
		{"application/json", "", "", "null"},
		{"application/json", "", "", `{"a":"\ud800"}`},
		{"", "", "", "   "},
	} {
		f.Add(s.ctype, s.query, s.header, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ctype, query, header string, body []byte) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("POST", Prefix+"initOrder", nil)
		r.URL.RawQuery = query
		r.Header = fuzzHeaderLines(header)
		r.Header.Set("Content-Type", ctype)
		r.Body = http.MaxBytesReader(rec, io.NopCloser(bytes.NewReader(body)), maxBody)
		p, err := readParams(r)
		if err != nil {
			fuzzIsBadInput(t, "readParams", err)
		}
		if p.v == nil || p.badType == nil {
			t.Fatalf("readParams left a nil map: %+v", p)
		}
		names := slices.Clone(fuzzParamNames)
		for k := range p.v {
			names = append(names, k)
		}
		for k := range p.badType {
			if _, ok := p.v[k]; ok {
				t.Fatalf("%q is both a value (%q) and of a bad type", k, p.v[k])
			}
			names = append(names, k)
		}
		for _, name := range names {
			v, err := p.str(name)
			switch {
			case p.badType[name]:
				if f, ok := errors.AsType[*fault](err); !ok || f.about != aboutType {
					t.Fatalf("str(%q) of a bad type: %v", name, err)
				}
			case err != nil || v != p.v[name]:
				t.Fatalf("str(%q) = %q, %v; want %q", name, v, err, p.v[name])
			}
			if v, err := p.need(name); err != nil {
				fuzzIsBadInput(t, "need("+name+")", err)
			} else if v == "" {
				t.Fatalf("need(%q) accepted an empty value", name)
			}
			if n, ok, err := p.int(name); err != nil {
				fuzzIsBadInput(t, "int("+name+")", err)
			} else if ok {
				if want, perr := strconv.ParseInt(p.v[name], 10, 64); perr != nil || want != n {
					t.Fatalf("int(%q) = %d from %q", name, n, p.v[name])
				}
			} else if p.v[name] != "" {
				t.Fatalf("int(%q) ignored %q", name, p.v[name])
			}
			if a, ok, err := p.amount(name); err != nil {
				fuzzIsBadInput(t, "amount("+name+")", err)
			} else if ok && (a < 1 || a > 1_000_000_000) {
				t.Fatalf("amount(%q) = %d, out of bounds", name, a)
			}
			if id, err := p.id(name); err != nil {
				fuzzIsBadInput(t, "id("+name+")", err)
			} else if id == "" || len(id) > 64 {
				t.Fatalf("id(%q) = %q", name, id)
			}
		}
		if tok := p.token(r); tok != "" {
			bearer, fromHeader := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			inParams := false
			for k, v := range p.v {
				inParams = inParams || (strings.EqualFold(k, "accesstoken") && v == tok)
			}
			if fromBearer := fromHeader && strings.TrimSpace(bearer) == tok; !fromBearer && !inParams {
				t.Fatalf("token %q comes from nowhere", tok)
			}
		}
		if flt, err := orderFilter(p); err != nil {
			fuzzIsBadInput(t, "orderFilter", err)
		} else if flt.Limit < 1 || flt.Limit > maxPageSize || flt.Offset < 0 || flt.Offset > maxOffset || flt.Offset%flt.Limit != 0 {
			t.Fatalf("orderFilter: limit %d offset %d", flt.Limit, flt.Offset)
		}
		if m, err := payMethod(p.v["channel"]); err != nil {
			fuzzIsBadInput(t, "payMethod", err)
		} else if m != channel.AlipayApp && m != channel.WeChatApp {
			t.Fatalf("payMethod(%q) = %q", p.v["channel"], m)
		}
		if ip := clientip.Of(r); ip == "" {
			t.Fatalf("clientIP is empty")
		}
	})
}

// ---------------------------------------------------------------------------
// Handler level: the layer over a real SQLite database.

// The people and skills of the seed's own examples, as in setup_test.go.
const (
	fuzzBuyer   = "55506c67f73577b459968be1" // Michael
	fuzzSeller  = "55516ed14522f7917465e4da" // 郭利军
	fuzzPayer   = "55370ecc30b55c7805829b33"
	fuzzPayee   = "55370ecc30b55c7805829b34"
	fuzzMallory = "mallory"
	fuzzSkill   = "5555c4a1390c9ed166fc7f15" // 个人魅力提升, 1 fen, sold by 郭利军
	fuzzXXSkill = "5555c4a1390c9ed166fc7f16" // 购买xx服务, 100 fen, sold by the payee
	fuzzChat    = "room_77340061"
	fuzzPayPass = "246810"
)

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

// fuzzWorld is a marketplace served as `bursar serve` serves it: the seed
// 1 layer under its prefix and the v1 API in one ServeMux, the channels
// the sandboxes, each reached by its real adapter.
type fuzzWorld struct {
	db    *sqlite.DB
	read  *sql.DB // a read-only connection, for fingerprints
	mux   *http.ServeMux
	logs  *fuzzLogs
	subst map[string]string // placeholder → value
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

func fuzzMust(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
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

	d := service.Deps{DB: db, Now: time.Now, Log: log, Pepper: []byte("a test pepper of at least 32 bytes!"),
		CommissionBPS: 1000, PublicURL: srv.URL,
		Channels: map[bursar.Channel]channel.Channel{bursar.ChannelAlipay: ach, bursar.ChannelWeChat: wch}}
	auth, users, items, orders := service.NewAuth(d), service.NewUsers(d), service.NewItems(d), service.NewOrders(d)
	wallets, refunds, reviews := service.NewWallets(d), service.NewRefunds(d), service.NewReviews(d)
	entitlements, withdrawals := service.NewEntitlements(d), service.NewWithdrawals(d)
	w.mux.Handle("/v1/", api.New(api.Deps{Log: quiet, Auth: auth, Users: users, Items: items, Orders: orders,
		Wallets: wallets, Idempotency: service.NewIdempotency(d), Refunds: refunds, Reviews: reviews,
		Entitlements: entitlements, Withdrawals: withdrawals, Notifications: service.NewNotifications(d)}))
	w.mux.Handle(Prefix, New(Deps{Auth: auth, Users: users, Items: items, Orders: orders, Wallets: wallets,
		Refunds: refunds, Reviews: reviews, Entitlements: entitlements, Withdrawals: withdrawals, Log: log, Now: time.Now}))

	key, cred, err := auth.CreatePlatformKey(ctx, "fuzz")
	fuzzMust(tb, err)
	w.subst["{key}"] = key
	platform := bursar.Actor{Kind: bursar.CredentialPlatform, Credential: cred.ID}
	for _, u := range []struct{ id, name, placeholder string }{
		{fuzzBuyer, "Michael", "{buyer}"}, {fuzzSeller, "郭利军", "{seller}"}, {fuzzPayer, "xx", "{payer}"},
		{fuzzPayee, "xx 老师", "{payee}"}, {fuzzMallory, "mallory", "{mallory}"},
	} {
		name := u.name
		_, err := users.Create(ctx, platform, service.UserInput{ID: bursar.UserID(u.id), DisplayName: &name})
		fuzzMust(tb, err)
		fuzzMust(tb, users.SetPassword(ctx, platform, bursar.UserID(u.id), bursar.SecretPayment, "", fuzzPayPass))
		w.subst[u.placeholder], _, err = auth.MintToken(ctx, platform, bursar.UserID(u.id), "fuzz", 0)
		fuzzMust(tb, err)
	}
	for _, it := range []bursar.Item{
		{ID: fuzzSkill, Seller: fuzzSeller, Kind: bursar.ItemSession, Title: "个人魅力提升", Price: bursar.Money{Amount: 1, Currency: bursar.CNY}, Duration: 24 * time.Hour},
		{ID: fuzzXXSkill, Seller: fuzzPayee, Kind: bursar.ItemSession, Title: "购买xx服务", Price: bursar.Money{Amount: 100, Currency: bursar.CNY}, Duration: 24 * time.Hour},
	} {
		_, err := items.Create(ctx, platform, it)
		fuzzMust(tb, err)
	}
	// Money to spend and to withdraw, and an order in each state the
	// endpoints act on: {topay} and {tocharge} to pay, {toconfirm} and
	// {torefund} in escrow, {done} completed to comment on. {last} is the
	// order the last successful call answered.
	for _, a := range []service.Adjustment{
		{User: fuzzBuyer, Account: bursar.AccountUserCash, Amount: 100_000, Reason: "fuzz"},
		{User: fuzzPayer, Account: bursar.AccountUserCash, Amount: 100_000, Reason: "fuzz"},
		{User: fuzzSeller, Account: bursar.AccountUserEarnings, Amount: 100_000, Reason: "fuzz"},
	} {
		_, err := wallets.Adjust(ctx, platform, a)
		fuzzMust(tb, err)
	}
	buy := func(pay, confirm bool) string {
		o, _, err := orders.CreatePurchase(ctx, platform, service.PurchaseInput{Buyer: fuzzBuyer, Item: fuzzSkill,
			Metadata: map[string]string{chatKey: fuzzChat}})
		fuzzMust(tb, err)
		if pay {
			_, err = orders.PayWithWallet(ctx, platform, o.ID, fuzzPayPass)
			fuzzMust(tb, err)
		}
		if confirm {
			_, err = orders.Confirm(ctx, platform, o.ID)
			fuzzMust(tb, err)
		}
		return string(o.ID)
	}
	w.subst["{done}"] = buy(true, true)
	w.subst["{toconfirm}"] = buy(true, false)
	w.subst["{torefund}"] = buy(true, false)
	w.subst["{topay}"] = buy(false, false)
	w.subst["{tocharge}"] = buy(false, false)
	w.subst["{last}"] = w.subst["{topay}"]
	tb.Cleanup(func() { dbtest.Verify(tb, db) })
	w.logs.take()
	return w
}

// expand replaces the placeholders of s by the world's tokens and ids.
func (w *fuzzWorld) expand(s string) string {
	if !strings.Contains(s, "{") && !strings.Contains(s, "%7B") {
		return s
	}
	kv := make([]string, 0, 4*len(w.subst))
	for k, v := range w.subst {
		// Also as a form or query encodes it.
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

// fuzzKnownCodes are the seed's refusal codes (0, 未知错误, is a 5xx).
var fuzzKnownCodes = map[string]bool{"2": true, "4": true, "6": true, "7": true, "8": true, "10": true, "12": true}

// fuzzSeeds are the seed document's example requests, one per endpoint
// and variant, as name/value pairs with the caller's token placeholder.
var fuzzSeeds = []struct {
	route string
	token string
	kv    []string
}{
	{"initOrder", "{payer}", []string{"subject", "购买xx服务", "amount", "100", "userId", fuzzPayer, "receiverId", fuzzPayee, "chatId", fuzzChat, "skillId", fuzzXXSkill}},
	{"initOrder", "{buyer}", []string{"subject", "个人魅力提升", "amount", "1", "userId", fuzzBuyer, "receiverId", fuzzSeller, "chatId", fuzzChat, "skillId", fuzzSkill, "channel", "alipay"}},
	{"initOrder", "{buyer}", []string{"skillId", fuzzSkill, "channel", "wx"}},
	{"initOrder", "{buyer}", []string{"skillId", fuzzSkill, "channel", "wallet"}},
	{"initOrder", "{buyer}", []string{"type", "recharge", "amount", "600", "channel", "alipay", "subject", "充值"}},
	{"initOrder", "{key}", []string{"subject", "购买xx服务", "amount", "100", "userId", fuzzPayer, "receiverId", fuzzPayee}},
	{"payByWallet", "{buyer}", []string{"payPass", fuzzPayPass, "userId", fuzzBuyer, "oid", "{topay}"}},
	{"payByWallet", "{buyer}", []string{"payPass", "000000", "userId", fuzzBuyer, "oid", "{last}"}},
	{"payByPing", "{buyer}", []string{"oid", "{tocharge}", "channel", "alipay"}},
	{"payByPing", "{buyer}", []string{"oid", "{last}", "channel", "wx"}},
	{"withdrawCash", "{seller}", []string{"payPass", fuzzPayPass, "userId", fuzzSeller, "alipayNo", "13800000000", "alipayName", "郭利军", "amount", "100"}},
	{"withdrawCash", "{seller}", []string{"payPass", fuzzPayPass, "userId", fuzzSeller, "alipayNo", "guo@example.com", "alipayName", "郭利军"}},
	{"confirmOrder", "{buyer}", []string{"id", "{toconfirm}"}},
	{"confirmOrder", "{buyer}", []string{"oid", "{last}"}},
	{"setPayPass", "{mallory}", []string{"uid", fuzzMallory, "newPass", "135790", "oldPass", fuzzPayPass, "accessToken", "{mallory}"}},
	{"setPayPass", "{mallory}", []string{"uid", fuzzMallory, "newPass", "123456"}},
	{"getOrderDetail", "{buyer}", []string{"accesstoken", "{buyer}", "oid", "{done}"}},
	{"getOrderDetail", "{key}", []string{"oid", "{toconfirm}"}},
	{"getOrder", "{buyer}", []string{"accesstoken", "{buyer}", "type", "deal", "status", "已付款", "uid", fuzzBuyer, "receiverId", fuzzSeller, "pageNo", "1", "pageSize", "10"}},
	{"getOrder", "{seller}", []string{"type", "withdrawals", "status", "提现申请中", "pageNo", "2", "pageSize", "100"}},
	{"applyRefund", "{buyer}", []string{"reason", "tobad!!!", "accesstoken", "{buyer}", "oid", "{torefund}"}},
	{"getCash", "{payer}", []string{"uid", fuzzPayer, "accessToken", "{payer}"}},
	{"getCash", "{key}", []string{"uid", fuzzSeller}},
	{"confirmPass", "{buyer}", []string{"uid", fuzzBuyer, "pass", "login-pass-1"}},
	{"shouldCreateNewTalk", "{buyer}", []string{"userId", fuzzBuyer, "receiverId", fuzzSeller, "skillId", fuzzSkill}},
	{"shouldContinueTalk", "{seller}", []string{"chatId", fuzzChat}},
	{"comment", "{buyer}", []string{"accesstoken", "{buyer}", "oid", "{done}", "score", "5", "comment", "很好"}},
	{"nosuchEndpoint", "{buyer}", []string{"oid", "{done}"}},
	// Subjects and amounts as the channels receive them.
	{"initOrder", "{buyer}", []string{"skillId", fuzzSkill, "channel", "wx", "subject", strings.Repeat("字", 128)}},
	{"initOrder", "{buyer}", []string{"skillId", fuzzSkill, "channel", "alipay", "subject", strings.Repeat("字", 128)}},
	{"initOrder", "{buyer}", []string{"skillId", fuzzSkill, "channel", "wx", "subject", "a\x00b\r\n<xml>&amp;\"'"}},
	{"initOrder", "{buyer}", []string{"skillId", fuzzSkill, "channel", "alipay", "subject", "a&b=c\"d%e+f\tg"}},
	{"initOrder", "{buyer}", []string{"type", "recharge", "amount", "1000000000", "channel", "wx"}},
	{"initOrder", "{buyer}", []string{"type", "recharge", "amount", "1000000000", "channel", "alipay"}},
}

// fuzzJSONNumbers are the parameters the JSON seeds send as numbers.
var fuzzJSONNumbers = map[string]bool{"amount": true, "pageNo": true, "pageSize": true, "score": true}

// FuzzServer sends any call to the seed 1 layer, served with the v1 API
// as `bursar serve` serves them: the route name (which may bring a query),
// the content type, header lines (the Authorization header) and the body.
// Placeholders such as {buyer} or {topay} in any of them stand for the
// world's tokens and order ids. The answer is never 5xx and always the
// seed's envelope; a refusal changes no order, payment, refund, review or
// ledger entry; the ledger verifies after every call.
func FuzzServer(f *testing.F) {
	inQuery := map[string]bool{}
	for _, s := range fuzzSeeds {
		form, obj := url.Values{}, map[string]any{}
		for i := 0; i+1 < len(s.kv); i += 2 {
			form.Set(s.kv[i], s.kv[i+1])
			obj[s.kv[i]] = s.kv[i+1]
			if n, err := strconv.Atoi(s.kv[i+1]); err == nil && fuzzJSONNumbers[s.kv[i]] {
				obj[s.kv[i]] = n
			}
		}
		// The seed's apps: a urlencoded form with the token as accessToken.
		withToken := url.Values{}
		for k, vs := range form {
			withToken[k] = vs
		}
		if withToken.Get("accessToken") == "" && withToken.Get("accesstoken") == "" {
			withToken.Set("accessToken", s.token)
		}
		f.Add(s.route, "application/x-www-form-urlencoded", "", []byte(withToken.Encode()))
		// A JSON object with the token in the Authorization header.
		b, err := json.Marshal(obj)
		fuzzMust(f, err)
		f.Add(s.route, "application/json", "Authorization: Bearer "+s.token, b)
		// The parameters in the query, no body: once per route, which
		// keeps the seed corpus's run short.
		if !inQuery[s.route] {
			inQuery[s.route] = true
			f.Add(s.route+"?"+withToken.Encode(), "", "", []byte(nil))
		}
	}
	ct, body := fuzzMultipart("oid", "{tocharge}", "channel", "wx")
	f.Add("payByPing", ct, "Authorization: Bearer {buyer}", body)
	f.Add("getCash", "text/plain", "Authorization: Bearer {key}\nX-Forwarded-For: 203.0.113.9", []byte(`{"uid":"`+fuzzBuyer+`"}`))
	f.Add("getOrder", "application/json", "Authorization: Bearer {buyer}", []byte(`{"pageNo":9223372036854775807,"pageSize":1}`))
	f.Add("payByWallet", "application/json", "Authorization: Bearer {buyer}", []byte(`{"oid":{"$ne":null},"payPass":"246810"}`))

	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, route, ctype, header string, body []byte) {
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
		req := httptest.NewRequest("POST", "/", bytes.NewReader([]byte(w.expand(string(body)))))
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
			t.Fatalf("POST %s\nContent-Type: %s\n%s\n\n%s\n→ %d %s\n%s\nlog:\n%s", target, ctype, req.Header, body,
				rec.Code, rec.Header().Get("Content-Type"), rec.Body, fmt.Sprintf(format, args...)+"\n"+w.logs.take())
		}
		success := fuzzCheckAnswer(rec, u.Path, fail)
		if !success {
			if after := w.fingerprint(t); after != before {
				fail("a refused call changed the database: %s → %s", before, after)
			}
		}
		var ans struct {
			Order struct {
				ID string `json:"_id"`
			} `json:"order"`
		}
		if success && json.Unmarshal(rec.Body.Bytes(), &ans) == nil && ans.Order.ID != "" {
			w.subst["{last}"] = ans.Order.ID
		}
		dbtest.Verify(t, w.db)
	})
}

// fuzzCheckAnswer fails unless rec is an answer of the seed's: never 5xx,
// a JSON object, {"success": true, ...}, {"success": false, "msg"} or
// {"code", "msg"}; or, for a path that is not clean, net/http's redirect
// to the clean one (the layer never sees that call). It reports whether
// the call succeeded.
func fuzzCheckAnswer(rec *httptest.ResponseRecorder, p string, fail func(string, ...any)) bool {
	if rec.Code >= 500 {
		fail("a 5xx answer")
	}
	if rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect || rec.Code == http.StatusPermanentRedirect {
		if clean := path.Clean(p); clean == p || clean+"/" == p {
			fail("a redirect of a clean path")
		}
		return false
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
	if s, ok := m["success"]; ok {
		switch s {
		case true:
			if rec.Code != http.StatusOK {
				fail("success with status %d", rec.Code)
			}
			if _, ok := m["code"]; ok {
				fail("success with a code")
			}
			return true
		case false:
			msg, ok := m["msg"].(string)
			if !ok || msg == "" || len(m) != 2 || rec.Code != http.StatusOK {
				fail(`not {"success": false, "msg": "..."}`)
			}
			return false
		}
		fail("success is %v", s)
	}
	code, ok := m["code"].(json.Number)
	msg, _ := m["msg"].(string)
	if !ok || !fuzzKnownCodes[code.String()] || msg == "" || len(m) != 2 {
		fail(`not {"code": N, "msg": "..."} with a seed's code`)
	}
	noRoute := rec.Code == http.StatusNotFound && code == "2" && strings.HasPrefix(msg, "没有此接口")
	if rec.Code != http.StatusOK && !noRoute {
		fail("a refusal with status %d", rec.Code)
	}
	return false
}
