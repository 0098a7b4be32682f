package wechat_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
	"bursar.dev/bursar/internal/channel/wechat"
)

// files are the sandbox merchant's keys and configuration, generated once
// for the whole test binary: 2048-bit keys take a while.
var files wechatsandbox.MerchantFiles

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wechat-keys-")
	if err != nil {
		panic(err)
	}
	files, err = wechatsandbox.Setup(dir, "http://127.0.0.1:1")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// clock is the gateway's clock: real time moved by a skew, so a test can
// make the gateway sign with a stale timestamp.
type clock struct{ skew atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *clock) Set(d time.Duration) { c.skew.Store(int64(d)) }

func cny(a bursar.Amount) bursar.Money { return bursar.Money{Amount: a, Currency: bursar.CNY} }

var seq atomic.Int64

// newNo returns an order or refund number unique in the test binary.
func newNo(prefix string) string { return fmt.Sprintf("%s%08d", prefix, seq.Add(1)) }

// bundle is a sandbox gateway on a test server and an adapter configured
// against it.
type bundle struct {
	gw    *wechatsandbox.Gateway
	srv   *httptest.Server
	ch    *wechat.Channel
	cfg   wechat.Config
	gwCfg wechatsandbox.Config
	clock *clock
}

// setup starts a gateway (changed by opts) and an adapter loaded from the
// configuration file Setup wrote, pointed at the gateway.
func setup(t testing.TB, opts ...func(*wechatsandbox.Config)) *bundle {
	t.Helper()
	b := &bundle{clock: &clock{}}
	b.gwCfg = files.Gateway
	b.gwCfg.BaseURL = "" // the test server's address, from each request
	b.gwCfg.Now = b.clock.Now
	b.gwCfg.RetryScale = 0.001
	b.gwCfg.RefundDelay = 20 * time.Millisecond
	b.gwCfg.DeliveryTimeout = 2 * time.Second
	for _, o := range opts {
		o(&b.gwCfg)
	}
	var err error
	b.gw, err = wechatsandbox.New(b.gwCfg)
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(b.gw.Handler())
	t.Cleanup(func() {
		b.srv.Close()
		b.gw.Close()
	})
	b.cfg, err = wechat.LoadConfig(files.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	b.cfg.BaseURL = b.srv.URL
	b.ch = b.adapter(t, b.cfg)
	return b
}

func (b *bundle) adapter(t testing.TB, cfg wechat.Config) *wechat.Channel {
	t.Helper()
	ch, err := wechat.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// control posts a form to a sandbox control and returns the status and body.
func (b *bundle) control(t testing.TB, path string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(b.srv.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// mustControl is control that fails the test on an answer other than 200.
func (b *bundle) mustControl(t testing.TB, path string, form url.Values) string {
	t.Helper()
	status, body := b.control(t, path, form)
	if status != http.StatusOK {
		t.Fatalf("POST %s %v = %d %s", path, form, status, body)
	}
	return body
}

// payNative places a Native order of amount fen notifying rcv and returns
// its number.
func (b *bundle) payNative(t testing.TB, rcv *receiver, amount bursar.Amount) string {
	t.Helper()
	no := newNo("ORDER")
	if _, err := b.ch.Pay(t.Context(), channel.PayRequest{OrderNo: no, Amount: cny(amount), Subject: "会员 Go+ 课程",
		Method: channel.WeChatNative, NotifyURL: rcv.url()}); err != nil {
		t.Fatalf("Pay(%s) error = %v", no, err)
	}
	return no
}

// delivery is one notification as a receiver saw it.
type delivery struct {
	in     channel.Inbound
	n      channel.Notification
	err    error // from ParseNotification; nil when not parsed
	parsed bool
	status int // what the receiver answered
}

// receiver is the merchant's notify endpoint: it parses each delivery
// with its adapter and answers with Answer, unless fail says to answer 503
// without looking.
type receiver struct {
	srv *httptest.Server
	got chan delivery
	ch  *wechat.Channel

	mu    sync.Mutex
	count int
	fail  func(n int) bool // n counts deliveries from 1
}

func newReceiver(t testing.TB, ch *wechat.Channel) *receiver {
	t.Helper()
	r := &receiver{got: make(chan delivery, 100), ch: ch}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + "/v1/notify/wechat" }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	d := delivery{in: channel.Inbound{Header: req.Header.Clone(), Body: body}}
	r.mu.Lock()
	r.count++
	n, fail := r.count, r.fail
	r.mu.Unlock()
	if fail != nil && fail(n) {
		d.status = http.StatusServiceUnavailable
		w.WriteHeader(d.status)
		r.got <- d
		return
	}
	d.n, d.err = r.ch.ParseNotification(req.Context(), d.in)
	d.parsed = true
	a := r.ch.Answer(d.err)
	d.status = a.Status
	if a.ContentType != "" {
		w.Header().Set("Content-Type", a.ContentType)
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
	r.got <- d
}

// next waits for the next delivery.
func (r *receiver) next(t testing.TB) delivery {
	t.Helper()
	select {
	case d := <-r.got:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no notification arrived")
		return delivery{}
	}
}

// quiet checks that nothing more arrives for a while.
func (r *receiver) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case got := <-r.got:
		t.Fatalf("unexpected delivery %s (answered %d)", got.in.Body, got.status)
	case <-time.After(d):
	}
}

// verifySHA256RSA checks a base64 signature over msg with pub.
func verifySHA256RSA(t testing.TB, pub *rsa.PublicKey, msg, sig string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		t.Fatalf("signature %q: %v", sig, err)
	}
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], raw); err != nil {
		t.Errorf("signature over %q does not verify: %v", msg, err)
	}
}
