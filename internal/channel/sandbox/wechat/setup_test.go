package wechat_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
)

// files holds keys generated once for the test binary.
var files wechatsandbox.MerchantFiles

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wechat-sandbox-keys-")
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

// merchantKey reads the merchant's private key Setup wrote.
func merchantKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := readKey(files.Dir + "/apiclient_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// start runs a gateway with cfg on a test server.
func start(t testing.TB, cfg wechatsandbox.Config) (*wechatsandbox.Gateway, *httptest.Server) {
	t.Helper()
	gw, err := wechatsandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(func() {
		srv.Close()
		gw.Close()
	})
	return gw, srv
}

// testConfig is the shared keys with a fast schedule.
func testConfig() wechatsandbox.Config {
	cfg := files.Gateway
	cfg.BaseURL = ""
	cfg.RetryScale = 0.001
	cfg.RefundDelay = 10 * time.Millisecond
	cfg.DeliveryTimeout = 2 * time.Second
	return cfg
}

// signer makes raw merchant requests, signed as the SDKs sign them; its
// fields are changed to make bad ones.
type signer struct {
	key    *rsa.PrivateKey
	mchid  string
	serial string
	now    func() time.Time
	// order lists the Authorization keys in the order written.
	order []string
}

func newSigner(t testing.TB) *signer {
	return &signer{key: merchantKey(t), mchid: files.Gateway.MchID, serial: files.Gateway.MerchantSerial, now: time.Now,
		order: []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"}}
}

func (s *signer) request(t testing.TB, method, rawURL string, body []byte) *http.Request {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := fmt.Sprintf("%032X", time.Now().UnixNano())
	msg := method + "\n" + u.RequestURI() + "\n" + ts + "\n" + nonce + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{"mchid": s.mchid, "nonce_str": nonce, "timestamp": ts, "serial_no": s.serial,
		"signature": base64.StdEncoding.EncodeToString(sig)}
	auth := "WECHATPAY2-SHA256-RSA2048 "
	for i, k := range s.order {
		if i > 0 {
			auth += ", "
		}
		auth += k + `="` + vals[k] + `"`
	}
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Wechatpay-Serial", files.Gateway.PublicKeyID)
	return req
}

// answer is an HTTP answer, read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", a.status, a.body, err)
	}
	return m
}

func do(t testing.TB, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, body}
}

// call makes a good signed request.
func call(t testing.TB, srv *httptest.Server, method, path string, body any) answer {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	return do(t, newSigner(t).request(t, method, srv.URL+path, b))
}

// control posts a form to a control call.
func control(t testing.TB, srv *httptest.Server, path string, form url.Values) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+path, bytes.NewBufferString(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

// placeNative places a Native order and returns its number.
func placeNative(t testing.TB, srv *httptest.Server, total int64, notifyURL string) string {
	t.Helper()
	no := newNo("ORDER")
	a := call(t, srv, http.MethodPost, "/v3/pay/transactions/native", map[string]any{
		"appid": files.Gateway.AppID, "mchid": files.Gateway.MchID, "description": "测试商品", "out_trade_no": no,
		"notify_url": notifyURL, "amount": map[string]any{"total": total, "currency": "CNY"},
	})
	if a.status != http.StatusOK {
		t.Fatalf("native prepay = %d %s", a.status, a.body)
	}
	return no
}

var seq struct {
	sync.Mutex
	n int
}

func newNo(prefix string) string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("%s%08d", prefix, seq.n)
}

// verifyAnswer checks the Wechatpay-* signature of a 2xx answer with the
// WeChat Pay public key.
func verifyAnswer(t testing.TB, a answer) {
	t.Helper()
	h := a.header
	if h.Get("Wechatpay-Serial") != files.Gateway.PublicKeyID || h.Get("Wechatpay-Signature-Type") != "WECHATPAY2-SHA256-RSA2048" ||
		h.Get("Request-Id") == "" {
		t.Fatalf("answer headers = %v", h)
	}
	msg := h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(a.body) + "\n"
	sig, err := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(&files.Gateway.PublicKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("the answer's signature does not verify: %v", err)
	}
}

// hook is a notify endpoint that records deliveries and answers with
// status(n) for the n-th (from 1).
type hook struct {
	srv    *httptest.Server
	got    chan hookDelivery
	mu     sync.Mutex
	n      int
	status func(n int) int
	delay  func(n int) time.Duration
}

type hookDelivery struct {
	header http.Header
	body   []byte
	status int
}

func newHook(t testing.TB, status func(n int) int) *hook {
	h := &hook{got: make(chan hookDelivery, 100), status: status}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.n++
		n, delay := h.n, h.delay
		h.mu.Unlock()
		if delay != nil {
			time.Sleep(delay(n))
		}
		st := h.status(n)
		w.WriteHeader(st)
		_, _ = w.Write([]byte(`{"code":"FAIL","message":"失败"}`))
		h.got <- hookDelivery{r.Header.Clone(), body, st}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) url() string { return h.srv.URL + "/notify" }

func (h *hook) next(t testing.TB) hookDelivery {
	t.Helper()
	select {
	case d := <-h.got:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no notification arrived")
		return hookDelivery{}
	}
}

func (h *hook) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case got := <-h.got:
		t.Fatalf("unexpected delivery %s", got.body)
	case <-time.After(d):
	}
}

func always(status int) func(int) int { return func(int) int { return status } }

func eventID(t testing.TB, body []byte) string {
	t.Helper()
	var env struct{ ID string }
	if err := json.Unmarshal(body, &env); err != nil || env.ID == "" {
		t.Fatalf("notification body %s: %v", body, err)
	}
	return env.ID
}
