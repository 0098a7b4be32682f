package alipay_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/alipay"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

// files is the sandbox's key material, generated once for the test binary:
// 2048-bit keys are too slow to make per test.
var files alipaysandbox.MerchantFiles

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "alipay-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	files, err = alipaysandbox.Setup(dir, "http://127.0.0.1:1")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// clock is the sandbox's clock: real time moved by an offset.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }
func (c *clock) Beijing() time.Time      { return c.Now().In(time.FixedZone("CST", 8*3600)) }
func (c *clock) Today() (time.Time, error) {
	return time.Parse(time.DateOnly, c.Beijing().Format(time.DateOnly))
}

// bundle is a sandbox gateway on a test server and the adapter for each of
// its apps.
type bundle struct {
	gw    *alipaysandbox.Gateway
	srv   *httptest.Server
	clock *clock
	cert  *alipay.Channel // CertAppID, certificate mode
	pk    *alipay.Channel // PublicKeyAppID, public-key mode
}

// fastRetries is the notification schedule in tests: real intervals would
// take a day.
var fastRetries = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond,
	160 * time.Millisecond, 320 * time.Millisecond, 640 * time.Millisecond, 1280 * time.Millisecond}

func setup(t testing.TB, change ...func(*alipaysandbox.Config)) *bundle {
	t.Helper()
	b := &bundle{clock: &clock{}}
	cfg := alipaysandbox.Config{Dir: files.Dir, Now: b.clock.Now, RetrySchedule: fastRetries,
		DeliveryTimeout: 5 * time.Second}
	for _, c := range change {
		c(&cfg)
	}
	gw, err := alipaysandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.gw = gw
	t.Cleanup(gw.Close)
	b.srv = httptest.NewServer(gw.Handler())
	t.Cleanup(b.srv.Close)
	b.cert = b.channel(t, files.CertConfig)
	b.pk = b.channel(t, files.PublicKeyConfig)
	return b
}

// channel loads an adapter configuration Setup wrote and points it at the
// test server.
func (b *bundle) channel(t testing.TB, path string, opts ...alipay.Option) *alipay.Channel {
	t.Helper()
	cfg, err := alipay.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Gateway = b.srv.URL + "/gateway.do"
	ch, err := alipay.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// modes lists the two apps, for tests that run in both signing modes.
func (b *bundle) modes() []struct {
	name  string
	appID string
	ch    *alipay.Channel
} {
	return []struct {
		name  string
		appID string
		ch    *alipay.Channel
	}{{"certificate mode", alipaysandbox.CertAppID, b.cert}, {"public-key mode", alipaysandbox.PublicKeyAppID, b.pk}}
}

func cny(fen bursar.Amount) bursar.Money { return bursar.Money{Amount: fen, Currency: bursar.CNY} }

// control posts a JSON control call and decodes the JSON answer.
func (b *bundle) control(t testing.TB, path string, in map[string]string, wantStatus int) map[string]any {
	t.Helper()
	body, _ := json.Marshal(in)
	resp, err := http.Post(b.srv.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: answer is not JSON: %v", path, err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("POST %s %v: status %d, want %d: %v", path, in, resp.StatusCode, wantStatus, out)
	}
	return out
}

// payControl is the simulated buyer paying a trade.
func (b *bundle) payControl(t testing.TB, appID, orderNo string) {
	t.Helper()
	b.control(t, "/alipay/sandbox/pay", map[string]string{"app_id": appID, "out_trade_no": orderNo}, http.StatusOK)
}

// open is the buyer opening the cashier for a payment, as a browser or the
// Alipay app would, which makes the trade exist at Alipay.
func (b *bundle) open(t testing.TB, p channel.Payment) string {
	t.Helper()
	var resp *http.Response
	var err error
	if p.Method == channel.AlipayApp {
		resp, err = http.PostForm(b.srv.URL+"/alipay/cashier/app", url.Values{"order_string": {p.OrderString}})
	} else {
		resp, err = http.Get(p.URL)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `action="/alipay/cashier/pay"`) {
		t.Fatalf("the cashier for %s answered %d:\n%s", p.Method, resp.StatusCode, page)
	}
	return string(page)
}

// sandboxTrade reads a trade from the sandbox's listing.
func (b *bundle) sandboxTrade(t testing.TB, appID, orderNo string) map[string]any {
	t.Helper()
	resp, err := http.Get(b.srv.URL + "/alipay/sandbox/trades")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Trades []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, tr := range out.Trades {
		if tr["app_id"] == appID && tr["out_trade_no"] == orderNo {
			return tr
		}
	}
	t.Fatalf("the sandbox has no trade %s/%s", appID, orderNo)
	return nil
}

// delivery is one notification as the merchant's endpoint received it.
type delivery struct {
	body   []byte
	n      channel.Notification
	err    error  // ParseNotification's
	answer string // what the endpoint answered
}

// receiver is a merchant's notification endpoint: it parses with ch and
// answers with ch.Answer, failing on purpose the first deliveries it is
// told to.
type receiver struct {
	url       string
	failFirst atomic.Int32
	got       chan delivery
}

func newReceiver(t testing.TB, ch *alipay.Channel) *receiver {
	t.Helper()
	r := &receiver{got: make(chan delivery, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		n, err := ch.ParseNotification(req.Context(), channel.Inbound{Header: req.Header, Body: body})
		answerErr := err
		if err == nil && r.failFirst.Add(-1) >= 0 {
			answerErr = errors.New("the merchant is not ready yet")
		}
		a := ch.Answer(answerErr)
		w.Header().Set("Content-Type", a.ContentType)
		w.WriteHeader(a.Status)
		_, _ = w.Write(a.Body)
		r.got <- delivery{body: body, n: n, err: err, answer: string(a.Body)}
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/v1/notify/alipay"
	return r
}

// next waits for the next delivery.
func (r *receiver) next(t testing.TB) delivery {
	t.Helper()
	select {
	case d := <-r.got:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no notification arrived within 10 s")
	}
	return delivery{}
}

// none checks that nothing more arrives for a while.
func (r *receiver) none(t testing.TB, wait time.Duration) {
	t.Helper()
	select {
	case d := <-r.got:
		t.Fatalf("an unexpected notification arrived: %s", d.body)
	case <-time.After(wait):
	}
}

// ok waits for the next delivery and requires that it parsed.
func (r *receiver) ok(t testing.TB) channel.Notification {
	t.Helper()
	d := r.next(t)
	if d.err != nil {
		t.Fatalf("ParseNotification(%s) = %v", d.body, d.err)
	}
	return d.n
}

func wantCode(t testing.TB, what string, err error, want bursar.Code) {
	t.Helper()
	if got := bursar.ErrorCode(err); got != want {
		t.Fatalf("%s error = %v (code %q), want code %q", what, err, got, want)
	}
}
