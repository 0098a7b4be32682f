package seed2_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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
	"bursar.dev/bursar/internal/compat/seed2"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// clock is a movable clock for service.Deps.Now.
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

// logs keeps what the layer and the services log, for tests that check a
// refusal was logged.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// The users of every test: a teacher who sells albums, a student who buys
// them, and mallory, another student.
const (
	teacher = "1"
	student = "8"
	mallory = "9"
)

// The albums of every test. Albums 1 and 2 are free, as in the seed's
// examples; album 6 is a session, not a course.
var albums = []bursar.Item{
	{ID: "1", Kind: bursar.ItemCourse, Title: "我的直播课"},
	{ID: "2", Kind: bursar.ItemCourse, Title: "我的直播课"},
	{ID: "3", Kind: bursar.ItemCourse, Title: "Go 语言入门", Price: bursar.Money{Amount: 8888}, Hold: 2 * time.Hour},
	{ID: "4", Kind: bursar.ItemCourse, Title: "Python 数据分析", Price: bursar.Money{Amount: 1990}, Hold: 2 * time.Hour},
	{ID: "5", Kind: bursar.ItemCourse, Title: "Rust 实战", Price: bursar.Money{Amount: 6600}, Hold: 2 * time.Hour},
	{ID: "6", Kind: bursar.ItemSession, Title: "一对一答疑", Price: bursar.Money{Amount: 500}, Duration: 24 * time.Hour},
}

// world is a course platform on Bursar: the seed 2 layer under /orders/,
// the v1 API for the channels' notifications under /v1/, and both channel
// sandboxes, each reached by its real adapter, on one test server.
type world struct {
	t        *testing.T
	db       store.DB
	clock    *clock
	logs     *logs
	url      string
	server   *seed2.Server
	orders   *service.Orders
	wallets  *service.Wallets
	jobs     *service.Jobs
	key      string // a platform secret key
	platform bursar.Actor
	tokens   map[string]string // user tokens by user ID
	chans    map[bursar.Channel]channel.Channel
}

// keysDir is where sandboxKeys put the keys, removed when the tests end.
var keysDir string

// sandboxKeys generates the sandboxes' keys once per test binary; each
// test copies them.
var sandboxKeys = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "bursar-seed2-keys-")
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

func TestMain(m *testing.M) {
	code := m.Run()
	if keysDir != "" {
		_ = os.RemoveAll(keysDir)
	}
	os.Exit(code)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newWorld builds a world whose Bursar clock starts at start. The
// sandboxes keep the real clock, so payments they are asked to create
// expire in real time.
func newWorld(t *testing.T, db store.DB, start time.Time) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, db: db, clock: &clock{now: start}, logs: &logs{}, tokens: map[string]string{}}
	log := slog.New(slog.NewTextHandler(w.logs, nil))
	quiet := slog.New(slog.DiscardHandler)

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	w.url = srv.URL

	keys, err := sandboxKeys()
	must(t, err)
	dir := t.TempDir()
	must(t, os.CopyFS(dir, os.DirFS(keys)))
	aDir, wDir := filepath.Join(dir, "alipay"), filepath.Join(dir, "wechat")
	af, err := alipaysandbox.Setup(aDir, srv.URL)
	must(t, err)
	wf, err := wechatsandbox.Setup(wDir, srv.URL)
	must(t, err)
	ag, err := alipaysandbox.New(alipaysandbox.Config{Dir: aDir, BaseURL: srv.URL, RetryScale: 0.0001,
		AppGatewayURL: srv.URL + "/v1/notify/alipay", Log: quiet})
	must(t, err)
	t.Cleanup(ag.Close)
	wcfg := wf.Gateway
	wcfg.BaseURL, wcfg.RetryScale, wcfg.Log = srv.URL, 0.0001, quiet
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
	w.chans = map[bursar.Channel]channel.Channel{bursar.ChannelAlipay: ach, bursar.ChannelWeChat: wch}

	d := service.Deps{DB: db, Now: w.clock.Now, Log: log, Pepper: []byte("a test pepper of at least 32 bytes!"),
		CommissionBPS: 1000, Channels: w.chans, PublicURL: srv.URL}
	auth := service.NewAuth(d)
	items := service.NewItems(d)
	users := service.NewUsers(d)
	w.orders, w.wallets, w.jobs = service.NewOrders(d), service.NewWallets(d), service.NewJobs(d)
	w.server = seed2.New(seed2.Deps{Auth: auth, Items: items, Orders: w.orders, Log: log, Now: w.clock.Now})
	mux.Handle(seed2.Prefix, w.server)
	mux.Handle("/v1/", api.New(api.Deps{Log: quiet, Auth: auth, Users: users, Items: items, Orders: w.orders,
		Wallets: w.wallets, Idempotency: service.NewIdempotency(d), Refunds: service.NewRefunds(d),
		Reviews: service.NewReviews(d), Entitlements: service.NewEntitlements(d), Withdrawals: service.NewWithdrawals(d),
		Notifications: service.NewNotifications(d)}))

	var key bursar.Credential
	w.key, key, err = auth.CreatePlatformKey(ctx, "test")
	must(t, err)
	w.platform = bursar.Actor{Credential: key.ID, Kind: bursar.CredentialPlatform}
	for _, u := range []string{teacher, student, mallory} {
		_, err := users.Create(ctx, w.platform, service.UserInput{ID: bursar.UserID(u)})
		must(t, err)
		w.tokens[u], _, err = auth.MintToken(ctx, w.platform, bursar.UserID(u), "app", 0)
		must(t, err)
	}
	for _, it := range albums {
		it.Seller, it.Price.Currency = teacher, bursar.CNY
		_, err := items.Create(ctx, w.platform, it)
		must(t, err)
	}
	t.Cleanup(func() { dbtest.Verify(t, db) })
	return w
}

// answer is an HTTP answer from the layer.
type answer struct {
	status int
	ctype  string
	body   []byte
}

// json decodes the answer's body, keeping numbers as json.Number so that
// the tests see whether a field is a number or a string.
func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("the answer is not a JSON object: %v\n%s", err, a.body)
	}
	return m
}

// do sends a request with a bearer token (none when "") and, when body is
// not empty, a body of the given content type.
func (w *world) do(method, path, token, ctype, body string) answer {
	w.t.Helper()
	req, err := http.NewRequest(method, w.url+path, strings.NewReader(body))
	must(w.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	must(w.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(w.t, err)
	return answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: b}
}

// get sends a GET with query parameters as a user and returns the answer,
// which must be a success.
func (w *world) get(path, token string) map[string]any {
	w.t.Helper()
	m := w.do("GET", path, token, "", "").json(w.t)
	if m["code"] != json.Number("0") {
		w.t.Fatalf("GET %s: %v", path, m)
	}
	return m
}

// item returns the only item of a success answer.
func item(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	d, _ := m["data"].(map[string]any)
	items, _ := d["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("want one item: %v", m)
	}
	return items[0].(map[string]any)
}

// create buys an album as a user and returns the created item.
func (w *world) create(album, token string) map[string]any {
	w.t.Helper()
	return item(w.t, w.get("/orders/create?album_id="+album, token))
}

// appPays is the app paying an order through its own Alipay or WeChat Pay
// integration, on the merchant account Bursar uses, with the order's
// trade_no as out_trade_no, as seed 2's apps do: the app gets the payment
// from the channel, and the buyer pays it at the sandbox. Its notification
// goes to the app's old server, not to Bursar. It returns the channel's
// trade number and the buyer at the channel.
func (w *world) appPays(name bursar.Channel, tradeNo string, amount bursar.Amount) (string, string) {
	w.t.Helper()
	m := channel.AlipayApp
	if name == bursar.ChannelWeChat {
		m = channel.WeChatApp
	}
	pay, err := w.chans[name].Pay(context.Background(), channel.PayRequest{OrderNo: tradeNo,
		Amount: bursar.Money{Amount: amount, Currency: bursar.CNY}, Subject: "课程", Method: m,
		ExpiresAt: time.Now().Add(30 * time.Minute), NotifyURL: w.url + "/app-server/notify"})
	must(w.t, err)
	if name == bursar.ChannelAlipay {
		res := w.control("/alipay/sandbox/pay", url.Values{"order_string": {pay.OrderString}})
		return res["trade_no"].(string), res["buyer_id"].(string)
	}
	res := w.control("/wechat/sandbox/pay", url.Values{"out_trade_no": {tradeNo}, "openid": {"oSeed2StudentOpenID"}})
	return res["transaction_id"].(string), "oSeed2StudentOpenID"
}

// control calls a sandbox's control endpoint, which must answer 200.
func (w *world) control(path string, form url.Values) map[string]any {
	w.t.Helper()
	resp, err := http.PostForm(w.url+path, form)
	must(w.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || resp.StatusCode != http.StatusOK {
		w.t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return m
}

func (w *world) runJobs() {
	w.t.Helper()
	_, err := w.jobs.RunDue(context.Background())
	must(w.t, err)
}

// eventually runs due jobs and polls cond until it holds or ten seconds
// pass: the sandboxes deliver notifications in their own goroutines.
func (w *world) eventually(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.runJobs()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The values that differ from run to run, each replaced only where it has
// its expected format, so that a wrong format still fails the comparison.
var volatile = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`"id":"ord_[a-z0-9]{26}"`), `"id":"ord_X"`},
	{regexp.MustCompile(`"trade_no":"\d{24}"`), `"trade_no":"ORDER_NO"`},
	{regexp.MustCompile(`"third_trade_no":"\d{16,64}"`), `"third_trade_no":"THIRD_TRADE_NO"`},
}

// golden compares an answer's body, normalised, to testdata/name.golden;
// -update rewrites the file. Field order is kept: it is what clients see.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, body)
	}
	b := compact.Bytes()
	for _, v := range volatile {
		b = v.re.ReplaceAll(b, []byte(v.repl))
	}
	var pretty bytes.Buffer
	must(t, json.Indent(&pretty, b, "", "  "))
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		must(t, os.MkdirAll("testdata", 0o755))
		must(t, os.WriteFile(path, pretty.Bytes(), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, pretty.Bytes()) {
		t.Errorf("%s differs from %s:\n%s", name, path, pretty.String())
	}
}
