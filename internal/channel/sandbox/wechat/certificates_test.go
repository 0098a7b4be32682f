package wechat_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
)

// rewrite sends the SDK's requests to the test server.
type rewrite struct{ host string }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = "http", r.host, r.host
	return http.DefaultTransport.RoundTrip(req)
}

// TestPlatformCertificateMode drives the gateway with the official SDK in
// platform certificate mode: it downloads and decrypts /v3/certificates,
// then verifies answers and notifications signed with the certificate.
func TestPlatformCertificateMode(t *testing.T) {
	cfg := testConfig()
	cfg.NotifyWith = "platform"
	_, srv := start(t, cfg)
	u, _ := url.Parse(srv.URL)
	hc := &http.Client{Transport: rewrite{u.Host}, Timeout: 5 * time.Second}
	mch := files.Gateway
	key := merchantKey(t)

	bare, err := core.NewClient(t.Context(), option.WithMerchantCredential(mch.MchID, mch.MerchantSerial, key),
		option.WithoutValidator(), option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := downloader.NewCertificateDownloaderWithClient(t.Context(), bare, mch.APIv3Key)
	if err != nil {
		t.Fatalf("downloading the platform certificates: %v", err)
	}
	all := certs.GetAll(t.Context())
	serial := certs.GetNewestSerial(t.Context())
	if len(all) != 1 || len(serial) != 40 || all[serial] == nil || !mch.PlatformKey.PublicKey.Equal(all[serial].PublicKey) {
		t.Fatalf("downloaded %d certificates, newest %q; want the platform certificate", len(all), serial)
	}

	client, err := core.NewClient(t.Context(), option.WithMerchantCredential(mch.MchID, mch.MerchantSerial, key),
		option.WithVerifier(verifiers.NewSHA256WithRSAVerifier(certs)), option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	svc := native.NativeApiService{Client: client}
	h := newHook(t, always(204))
	no := placeNative(t, srv, 100, h.url())
	tx, result, err := svc.QueryOrderByOutTradeNo(t.Context(), native.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(no), Mchid: core.String(mch.MchID)})
	if err != nil {
		t.Fatalf("query verified with the platform certificate: %v", err)
	}
	if got := result.Response.Header.Get("Wechatpay-Serial"); got != serial || *tx.TradeState != "NOTPAY" {
		t.Errorf("answer serial %q, trade_state %s; want the certificate's %q, NOTPAY", got, *tx.TradeState, serial)
	}

	control(t, srv, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
	d := h.next(t)
	if d.header.Get("Wechatpay-Serial") != serial {
		t.Errorf("notification serial = %q, want the certificate's", d.header.Get("Wechatpay-Serial"))
	}
	handler, err := notify.NewRSANotifyHandler(mch.APIv3Key, verifiers.NewSHA256WithRSAVerifier(certs))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "/", bytes.NewReader(d.body))
	req.Header = d.header
	var paid payments.Transaction
	if _, err := handler.ParseNotifyRequest(t.Context(), req, &paid); err != nil {
		t.Fatalf("the SDK rejects the notification: %v", err)
	}
	if *paid.OutTradeNo != no || *paid.TradeState != "SUCCESS" || *paid.Amount.Total != 100 {
		t.Errorf("notification = %+v", paid)
	}
}

func TestBillDownload(t *testing.T) {
	_, srv := start(t, testConfig())
	h := newHook(t, always(204))
	no := placeNative(t, srv, 250, h.url())
	control(t, srv, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
	h.next(t)
	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	a := call(t, srv, http.MethodGet, "/v3/bill/tradebill?bill_date="+day+"&bill_type=ALL", nil)
	if a.status != 200 {
		t.Fatalf("tradebill = %d %s", a.status, a.body)
	}
	verifyAnswer(t, a)
	m := a.json(t)
	dl, _ := m["download_url"].(string)
	if m["hash_type"] != "SHA1" || !strings.HasPrefix(dl, "https://api.mch.weixin.qq.com/v3/billdownload/file?token=") {
		t.Fatalf("tradebill = %s", a.body)
	}
	path := strings.TrimPrefix(dl, "https://api.mch.weixin.qq.com")
	file := call(t, srv, http.MethodGet, path, nil)
	if file.status != 200 || file.header.Get("Wechatpay-Signature") != "" || !strings.Contains(string(file.body), "`"+no+",") {
		t.Errorf("download = %d %v %s; want the unsigned plain bill", file.status, file.header, file.body)
	}
	unsigned, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	if a := do(t, unsigned); a.status != http.StatusUnauthorized {
		t.Errorf("an unsigned download = %d, want 401", a.status)
	}
	if a := call(t, srv, http.MethodGet, "/v3/billdownload/file?token=nope", nil); a.status != 400 {
		t.Errorf("a bad token = %d %s, want 400", a.status, a.body)
	}
	for _, q := range []string{"bill_date=2026/01/01", "bill_date=" + day + "&bill_type=SUCCESS", "bill_date=" + day + "&tar_type=ZIP"} {
		if a := call(t, srv, http.MethodGet, "/v3/bill/tradebill?"+q, nil); a.status != 400 {
			t.Errorf("tradebill?%s = %d %s, want 400", q, a.status, a.body)
		}
	}
}
