package seed1_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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
	"bursar.dev/bursar/internal/compat/seed1"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// clock is a movable clock for service.Deps.Now: tests cross the escrow
// hold by moving it, never by sleeping.
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

// The people of the seed's own examples: Michael buys 郭利军's skill
// 个人魅力提升 in the chat room_77340061; 55370ecc…33 and …34 are the
// payer and payee of initOrder's example.
const (
	buyer     = "55506c67f73577b459968be1" // Michael
	seller    = "55516ed14522f7917465e4da" // 郭利军
	payer     = "55370ecc30b55c7805829b33"
	payee     = "55370ecc30b55c7805829b34"
	mallory   = "mallory"                  // another user, who must see nothing of theirs
	skill     = "5555c4a1390c9ed166fc7f15" // 个人魅力提升, 1 fen, 24 h
	xxSkill   = "5555c4a1390c9ed166fc7f16" // 购买xx服务, 100 fen, 24 h, sold by payee
	chatID    = "room_77340061"
	avatar    = "http://192.168.1.9:3000/public/upload/05bf686c17b14f2248fb3aac3b6e6391.jpg"
	payPass   = "246810"
	loginPass = "login-pass-1"
)

// world is a marketplace served as `bursar serve` serves it: seed 1's
// layer under /api/v1/, the v1 API (for the channels' notifications and
// what the seed has no endpoint for, such as approving a refund) under
// /v1/, and the Alipay and WeChat Pay sandboxes, each talked to by its
// real adapter, on one test server.
type world struct {
	t      *testing.T
	db     store.DB
	clock  *clock
	srv    *httptest.Server
	seed   *seed1.Server
	jobs   *service.Jobs
	key    string            // a platform secret key
	tokens map[string]string // user id → user token
}

// keysDir is where sandboxKeys put the keys, removed when the tests end.
var keysDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if keysDir != "" {
		_ = os.RemoveAll(keysDir)
	}
	os.Exit(code)
}

// sandboxKeys generates the sandboxes' keys once per test binary; each
// world copies them.
var sandboxKeys = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "bursar-seed1-keys-")
	if err != nil {
		return "", err
	}
	keysDir = dir
	if _, err := alipaysandbox.Setup(filepath.Join(dir, "alipay"), "http://127.0.0.1"); err != nil {
		return "", err
	}
	_, err = wechatsandbox.Setup(filepath.Join(dir, "wechat"), "http://127.0.0.1")
	return dir, err
})

func newWorld(t *testing.T, db store.DB) *world {
	t.Helper()
	ctx := context.Background()
	keys, err := sandboxKeys()
	must(t, err)
	dir := t.TempDir()
	must(t, os.CopyFS(dir, os.DirFS(keys)))
	log := slog.New(slog.DiscardHandler)

	// The sandboxes and the SDKs sign with the real clock, so the
	// services' clock starts at it; tests move it to make jobs due.
	w := &world{t: t, db: db, clock: &clock{now: time.Now().UTC().Truncate(time.Second)}, tokens: map[string]string{}}
	mux := http.NewServeMux()
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)

	aDir, wDir := filepath.Join(dir, "alipay"), filepath.Join(dir, "wechat")
	af, err := alipaysandbox.Setup(aDir, w.srv.URL)
	must(t, err)
	wf, err := wechatsandbox.Setup(wDir, w.srv.URL)
	must(t, err)
	ag, err := alipaysandbox.New(alipaysandbox.Config{Dir: aDir, BaseURL: w.srv.URL, RetryScale: 0.0001,
		AppGatewayURL: w.srv.URL + "/v1/notify/alipay", Log: log})
	must(t, err)
	t.Cleanup(ag.Close)
	wcfg := wf.Gateway
	wcfg.BaseURL, wcfg.RetryScale, wcfg.RefundDelay, wcfg.Log = w.srv.URL, 0.0001, 50*time.Millisecond, log
	wg, err := wechatsandbox.New(wcfg)
	must(t, err)
	t.Cleanup(wg.Close)
	for _, p := range []string{"/gateway.do", "/alipay/"} {
		mux.Handle(p, ag.Handler())
	}
	for _, p := range []string{"/v3/", "/wechat/"} {
		mux.Handle(p, wg.Handler())
	}
	acfg, err := alipay.LoadConfig(af.CertConfig)
	must(t, err)
	ach, err := alipay.New(acfg)
	must(t, err)
	wccfg, err := wechat.LoadConfig(wf.ConfigFile)
	must(t, err)
	wch, err := wechat.New(wccfg)
	must(t, err)

	d := service.Deps{DB: db, Now: w.clock.Now, Log: log, Pepper: []byte("a test pepper of at least 32 bytes!"),
		CommissionBPS: 1000, PublicURL: w.srv.URL,
		Channels: map[bursar.Channel]channel.Channel{bursar.ChannelAlipay: ach, bursar.ChannelWeChat: wch}}
	auth, users, orders := service.NewAuth(d), service.NewUsers(d), service.NewOrders(d)
	mux.Handle("/v1/", api.New(api.Deps{Log: log, Auth: auth, Users: users, Items: service.NewItems(d), Orders: orders,
		Wallets: service.NewWallets(d), Idempotency: service.NewIdempotency(d), Refunds: service.NewRefunds(d),
		Reviews: service.NewReviews(d), Entitlements: service.NewEntitlements(d), Withdrawals: service.NewWithdrawals(d),
		Notifications: service.NewNotifications(d)}))
	w.seed = seed1.New(seed1.Deps{Auth: auth, Users: users, Items: service.NewItems(d), Orders: orders,
		Wallets: service.NewWallets(d), Refunds: service.NewRefunds(d), Reviews: service.NewReviews(d),
		Entitlements: service.NewEntitlements(d), Withdrawals: service.NewWithdrawals(d), Log: log, Now: w.clock.Now})
	mux.Handle(seed1.Prefix, w.seed)
	w.jobs = service.NewJobs(d)

	var key bursar.Credential
	w.key, key, err = auth.CreatePlatformKey(ctx, "test")
	must(t, err)
	platform := bursar.Actor{Kind: bursar.CredentialPlatform, Credential: key.ID}
	for _, u := range []struct{ id, name, avatar string }{
		{buyer, "Michael", ""}, {seller, "郭利军", avatar}, {payer, "xx", ""}, {payee, "xx 老师", ""}, {mallory, "mallory", ""},
	} {
		name, pic := u.name, u.avatar
		_, err := users.Create(ctx, platform, service.UserInput{ID: bursar.UserID(u.id), DisplayName: &name, AvatarURL: &pic})
		must(t, err)
		must(t, users.SetPassword(ctx, platform, bursar.UserID(u.id), bursar.SecretPayment, "", payPass))
		w.tokens[u.id], _, err = auth.MintToken(ctx, platform, bursar.UserID(u.id), "test", 0)
		must(t, err)
	}
	items := service.NewItems(d)
	for _, it := range []bursar.Item{
		{ID: skill, Seller: seller, Kind: bursar.ItemSession, Title: "个人魅力提升", Price: bursar.Money{Amount: 1, Currency: bursar.CNY}, Duration: 24 * time.Hour},
		{ID: xxSkill, Seller: payee, Kind: bursar.ItemSession, Title: "购买xx服务", Price: bursar.Money{Amount: 100, Currency: bursar.CNY}, Duration: 24 * time.Hour},
	} {
		_, err := items.Create(ctx, platform, it)
		must(t, err)
	}
	t.Cleanup(func() { dbtest.Verify(t, db) })
	return w
}

// withLoginPass gives the buyer a login password. Only the tests of
// confirmPass ask: argon2id is slow on purpose, slower yet under -race.
func (w *world) withLoginPass() {
	w.t.Helper()
	w.v1("POST", "/v1/users/"+buyer+"/password", `{"kind":"login","new_password":"`+loginPass+`"}`)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// answer is a response from the server.
type answer struct {
	status int
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, a.body)
	}
	return m
}

// post sends a seed call as the seed's apps do: a urlencoded form, the
// token in the accessToken parameter when the caller gives one.
func (w *world) post(endpoint, token string, form url.Values) answer {
	w.t.Helper()
	if token != "" {
		form = cloneValues(form)
		form.Set("accessToken", token)
	}
	return w.send(endpoint, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
}

// postJSON sends a JSON object body with the token in the Authorization
// header.
func (w *world) postJSON(endpoint, token, body string) answer {
	w.t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return w.send(endpoint, "application/json", strings.NewReader(body), h)
}

// postMultipart sends a multipart form with the token in the header.
func (w *world) postMultipart(endpoint, token string, form url.Values) answer {
	w.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range form {
		for _, v := range vs {
			must(w.t, mw.WriteField(k, v))
		}
	}
	must(w.t, mw.Close())
	return w.send(endpoint, mw.FormDataContentType(), &buf, http.Header{"Authorization": {"Bearer " + token}})
}

func (w *world) send(endpoint, contentType string, body io.Reader, h http.Header) answer {
	w.t.Helper()
	req, err := http.NewRequest("POST", w.srv.URL+seed1.Prefix+endpoint, body)
	must(w.t, err)
	for k, vs := range h {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", contentType)
	return w.do(req)
}

func (w *world) do(req *http.Request) answer {
	w.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	must(w.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(w.t, err)
	return answer{status: resp.StatusCode, body: b}
}

// ok sends a call and fails unless it succeeded.
func (w *world) ok(endpoint, token string, form url.Values) map[string]any {
	w.t.Helper()
	a := w.post(endpoint, token, form)
	m := a.json(w.t)
	if a.status != http.StatusOK || m["success"] != true {
		w.t.Fatalf("%s %v: %d %s", endpoint, form, a.status, a.body)
	}
	return m
}

// v1 calls Bursar's own API with the platform key.
func (w *world) v1(method, path, body string) map[string]any {
	w.t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
	must(w.t, err)
	req.Header.Set("Authorization", "Bearer "+w.key)
	req.Header.Set("Content-Type", "application/json")
	a := w.do(req)
	if a.status >= 300 {
		w.t.Fatalf("%s %s: %d %s", method, path, a.status, a.body)
	}
	return a.json(w.t)
}

// fund credits a user's cash and earnings by adjustments.
func (w *world) fund(user string, cash, earnings int) {
	w.t.Helper()
	if cash > 0 {
		w.v1("POST", "/v1/users/"+user+"/wallet/adjustments", `{"account":"user_cash","amount":`+strconv.Itoa(cash)+`,"reason":"test"}`)
	}
	if earnings > 0 {
		w.v1("POST", "/v1/users/"+user+"/wallet/adjustments", `{"account":"user_earnings","amount":`+strconv.Itoa(earnings)+`,"reason":"test"}`)
	}
}

// runJobs runs the jobs due now, as the scheduler of `bursar serve` does.
func (w *world) runJobs() {
	w.t.Helper()
	_, err := w.jobs.RunDue(context.Background())
	must(w.t, err)
}

// eventually polls cond, running due jobs, until it holds or ten seconds
// pass: channel notifications arrive on their own.
func (w *world) eventually(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
		w.runJobs()
	}
}

// control calls a sandbox's control or cashier endpoint.
func (w *world) control(path string, form url.Values) {
	w.t.Helper()
	resp, err := http.PostForm(w.srv.URL+path, form)
	must(w.t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		w.t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
}

// detail returns an order as getOrderDetail shows it to the platform.
func (w *world) detail(oid string) map[string]any {
	w.t.Helper()
	return w.ok("getOrderDetail", w.key, url.Values{"oid": {oid}})["order"].(map[string]any)
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// volatile values of answers, replaced by placeholders before comparing
// with a golden file. Each pattern also checks the value's format: an id,
// a time or an order number of another shape is left as it is and shows
// up in the diff.
var volatile = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`\b(ord|top|wdr)_[a-z0-9]{26}\b`), `${1}_X`},
	{regexp.MustCompile(`"ch_\d{24}"`), `"ch_ORDERNO"`},
	{regexp.MustCompile(`"(orderNo|order_no)":"\d{24}"`), `"${1}":"ORDERNO"`},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`), `TIME`},
	{regexp.MustCompile(`"(created|time_expire)":\d{10}`), `"${1}":1`},
	{regexp.MustCompile(`"\$2a\$04\$[./A-Za-z0-9]{53}"`), `"BCRYPT"`},
	{regexp.MustCompile(`"orderInfo":"[^"]+"`), `"orderInfo":"ORDER_INFO"`},
	{regexp.MustCompile(`"(nonceStr|prepayId|sign)":"[^"]+"`), `"${1}":"X"`},
	{regexp.MustCompile(`"timeStamp":\d{10}`), `"timeStamp":1`},
}

// golden compares an answer, its volatile values replaced, with
// testdata/name.golden; -update rewrites the file.
func golden(t *testing.T, name string, a answer) {
	t.Helper()
	var v any
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, a.body)
	}
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false)
	must(t, enc.Encode(v))
	b := bytes.TrimSpace(compact.Bytes())
	for _, r := range volatile {
		b = r.re.ReplaceAll(b, []byte(r.repl))
	}
	var pretty bytes.Buffer
	must(t, json.Indent(&pretty, b, "", "  "))
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		must(t, os.WriteFile(path, pretty.Bytes(), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, pretty.Bytes()) {
		t.Errorf("%s differs from %s:\ngot:\n%s\nwant:\n%s", name, path, pretty.String(), want)
	}
}
