package alipay_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

// files is the key material, generated once for the test binary.
var files alipaysandbox.MerchantFiles

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "alipay-sandbox-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if files, err = alipaysandbox.Setup(dir, "http://127.0.0.1:1"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// merchant is what the merchant's configuration file says.
type merchant struct {
	AppID           string `json:"app_id"`
	PrivateKeyFile  string `json:"private_key_file"`
	AlipayPublicKey string `json:"alipay_public_key_file"`
	AppCertFile     string `json:"app_cert_file"`
	AlipayCertFile  string `json:"alipay_cert_file"`
	RootCertFile    string `json:"root_cert_file"`
	SellerID        string `json:"seller_id"`
	Gateway         string `json:"gateway"`
}

func readMerchant(t testing.TB, path string) merchant {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m merchant
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func read(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(files.Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// client is the smartwalle SDK configured from a merchant file, talking to
// gateway: the interop the sandbox exists for.
func client(t testing.TB, path, gateway string, opts ...sdk.OptionFunc) *sdk.Client {
	t.Helper()
	m := readMerchant(t, path)
	opts = append([]sdk.OptionFunc{sdk.WithProductionGateway(gateway), sdk.WithTimeLocation(time.FixedZone("CST", 8*3600))}, opts...)
	c, err := sdk.New(m.AppID, read(t, m.PrivateKeyFile), true, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if m.AlipayPublicKey != "" {
		err = c.LoadAliPayPublicKey(read(t, m.AlipayPublicKey))
	} else {
		err = c.LoadAppCertPublicKey(read(t, m.AppCertFile))
		if err == nil {
			err = c.LoadAlipayCertPublicKey(read(t, m.AlipayCertFile))
		}
		if err == nil {
			err = c.LoadAliPayRootCert(read(t, m.RootCertFile))
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

type bundle struct {
	gw    *alipaysandbox.Gateway
	srv   *httptest.Server
	clock *clock
	cert  *sdk.Client
	pk    *sdk.Client
}

func setup(t testing.TB, change ...func(*alipaysandbox.Config)) *bundle {
	t.Helper()
	b := &bundle{clock: &clock{}}
	cfg := alipaysandbox.Config{Dir: files.Dir, Now: b.clock.Now,
		RetrySchedule: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}}
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
	b.cert = client(t, files.CertConfig, b.srv.URL+"/gateway.do")
	b.pk = client(t, files.PublicKeyConfig, b.srv.URL+"/gateway.do")
	return b
}

// post sends a control call and returns the status and decoded answer.
func (b *bundle) post(t testing.TB, path string, in any) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	ct := "application/json"
	switch in := in.(type) {
	case string:
		body = strings.NewReader(in)
	case url.Values:
		body, ct = strings.NewReader(in.Encode()), "application/x-www-form-urlencoded"
	default:
		j, _ := json.Marshal(in)
		body = bytes.NewReader(j)
	}
	resp, err := http.Post(b.srv.URL+path, ct, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: the answer is not JSON: %v", path, err)
	}
	return resp.StatusCode, out
}

// precreateAndPay makes a QR trade, scans it and pays it.
func (b *bundle) precreateAndPay(t testing.TB, c *sdk.Client, appID, orderNo, amount, notifyURL string) {
	t.Helper()
	rsp, err := c.TradePreCreate(t.Context(), sdk.TradePreCreate{Trade: sdk.Trade{NotifyURL: notifyURL,
		Subject: "测试 a+b / c=d", OutTradeNo: orderNo, TotalAmount: amount}})
	if err != nil || rsp.IsFailure() {
		t.Fatalf("precreate: %v %+v", err, rsp)
	}
	resp, err := http.Get(rsp.QRCode)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scanning the QR code: %s", resp.Status)
	}
	if status, out := b.post(t, "/alipay/sandbox/pay", map[string]string{"app_id": appID, "out_trade_no": orderNo}); status != http.StatusOK {
		t.Fatalf("pay: %d %v", status, out)
	}
}

// receiver is a merchant endpoint that verifies with the SDK and answers
// success once told to.
type receiver struct {
	url    string
	accept atomic.Bool
	got    chan delivery
}

type delivery struct {
	url.Values        // the verified fields
	answer     string // what the receiver answered
}

func newReceiver(t testing.TB, c *sdk.Client) *receiver {
	t.Helper()
	r := &receiver{got: make(chan delivery, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		vals, err := url.ParseQuery(string(body))
		if err == nil {
			err = c.VerifySign(req.Context(), vals)
		}
		if err != nil {
			vals = url.Values{"error": {err.Error()}}
		}
		answer := "fail"
		if err == nil && r.accept.Load() {
			answer = "success"
		}
		_, _ = w.Write([]byte(answer))
		r.got <- delivery{vals, answer}
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/notify"
	return r
}

func (r *receiver) next(t testing.TB) delivery {
	t.Helper()
	select {
	case d := <-r.got:
		if d.Get("error") != "" {
			t.Fatalf("a notification did not verify: %s", d.Get("error"))
		}
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10 s")
	}
	return delivery{}
}
