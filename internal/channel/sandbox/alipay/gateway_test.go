package alipay_test

import (
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

// signed returns the form the SDK would post for param, to be altered.
func signed(t *testing.T, c *sdk.Client, param sdk.Param) url.Values {
	t.Helper()
	v, err := c.URLValues(param)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// raw posts a form to gateway.do and returns the body.
func raw(t *testing.T, b *bundle, query string, form url.Values) string {
	t.Helper()
	u := b.srv.URL + "/gateway.do"
	if query != "" {
		u += "?" + query
	}
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

var responseShape = regexp.MustCompile(`^\{"(\w+)":(\{.*\})(?:,"alipay_cert_sn":"([0-9a-f]{32})")?,"sign":"([A-Za-z0-9+/=]+)"\}$`)

// node checks a response's shape and signature and returns the node's name,
// its fields and the alipay_cert_sn.
func node(t *testing.T, body string) (string, map[string]any, string) {
	t.Helper()
	m := responseShape.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("response is not {\"<name>\":{...}[,\"alipay_cert_sn\"],\"sign\"}: %s", body)
	}
	blk, _ := pem.Decode([]byte(read(t, "alipayPublicKey_RSA2.pem")))
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(m[4])
	sum := sha256.Sum256([]byte(m[2]))
	if err := rsa.VerifyPKCS1v15(k.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("the sign does not verify over the node's exact bytes: %v", err)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(m[2]), &fields); err != nil {
		t.Fatal(err)
	}
	return m[1], fields, m[3]
}

func TestGatewayRefusesBadRequests(t *testing.T) {
	b := setup(t)
	query := sdk.TradeQuery{OutTradeNo: "NOPE"}
	utc := client(t, files.CertConfig, b.srv.URL+"/gateway.do", sdk.WithTimeLocation(time.UTC))
	tests := []struct {
		name    string
		form    url.Values
		subCode string
	}{
		{"a changed parameter", func() url.Values {
			v := signed(t, b.cert, query)
			v.Set("biz_content", `{"out_trade_no":"OTHER"}`)
			return v
		}(), "isv.invalid-signature"},
		{"a signature by the app's other key", func() url.Values {
			v := signed(t, b.pk, query)
			v.Set("app_id", alipaysandbox.CertAppID)
			v.Set("app_cert_sn", signed(t, b.cert, query).Get("app_cert_sn"))
			v.Set("alipay_root_cert_sn", signed(t, b.cert, query).Get("alipay_root_cert_sn"))
			return v
		}(), "isv.invalid-signature"},
		{"an unknown app", func() url.Values { v := signed(t, b.pk, query); v.Set("app_id", "2021999999999999"); return v }(), "isv.invalid-app-id"},
		{"a timestamp in UTC, not Beijing time", signed(t, utc, query), "isv.invalid-timestamp"},
		{"another app certificate", func() url.Values {
			v := signed(t, b.cert, query)
			v.Set("app_cert_sn", strings.Repeat("0", 32))
			return v
		}(), "isv.app-cert-not-exist"},
		{"another root certificate", func() url.Values {
			v := signed(t, b.cert, query)
			v.Set("alipay_root_cert_sn", strings.Repeat("0", 32))
			return v
		}(), "isv.invalid-alipay-root-cert-sn"},
		{"certificates from a public-key app", func() url.Values {
			v := signed(t, b.pk, query)
			v.Set("app_cert_sn", signed(t, b.cert, query).Get("app_cert_sn"))
			return v
		}(), "isv.app-cert-not-exist"},
		{"no signature", func() url.Values { v := signed(t, b.pk, query); v.Del("sign"); return v }(), "isv.missing-signature"},
		{"RSA instead of RSA2", func() url.Values { v := signed(t, b.pk, query); v.Set("sign_type", "RSA"); return v }(), "isv.invalid-signature-type"},
		{"a notify_url with a query string", signed(t, b.pk, sdk.TradePreCreate{Trade: sdk.Trade{NotifyURL: "https://shop.example/n?order=1",
			Subject: "x", OutTradeNo: "Q1", TotalAmount: "1.00"}}), "isv.invalid-parameter"},
		{"an amount with three decimals", signed(t, b.pk, sdk.TradePreCreate{Trade: sdk.Trade{Subject: "x", OutTradeNo: "Q2",
			TotalAmount: "19.999"}}), "isv.invalid-parameter"},
		{"a method the sandbox lacks", signed(t, b.pk, sdk.NewPayload("alipay.trade.nope")), "isv.invalid-method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fields, _ := node(t, raw(t, b, "", tt.form))
			if fields["sub_code"] != tt.subCode || fields["code"] == "10000" {
				t.Fatalf("answer = %v, want sub_code %s", fields, tt.subCode)
			}
		})
	}
}

func TestGatewayResponses(t *testing.T) {
	b := setup(t)
	// The root bundle's two RSA roots are named, the ECDSA one skipped.
	if sn := signed(t, b.cert, sdk.TradeQuery{OutTradeNo: "X"}).Get("alipay_root_cert_sn"); !regexp.MustCompile(`^[0-9a-f]{32}_[0-9a-f]{32}$`).MatchString(sn) {
		t.Fatalf("alipay_root_cert_sn = %q, want two SNs", sn)
	}
	// Certificate mode: alipay_cert_sn between the node and the sign.
	name, fields, sn := node(t, raw(t, b, "", signed(t, b.cert, sdk.TradeQuery{OutTradeNo: "NOPE"})))
	if name != "alipay_trade_query_response" || fields["code"] != "40004" || fields["sub_code"] != "ACQ.TRADE_NOT_EXIST" ||
		fields["out_trade_no"] != "NOPE" || sn == "" {
		t.Fatalf("certificate-mode answer %s %v sn=%q", name, fields, sn)
	}
	// Public-key mode: no alipay_cert_sn.
	if _, _, sn := node(t, raw(t, b, "", signed(t, b.pk, sdk.TradeQuery{OutTradeNo: "NOPE"}))); sn != "" {
		t.Fatalf("a public-key mode answer carries alipay_cert_sn %s", sn)
	}
	// An unknown method answers in error_response.
	if name, _, _ := node(t, raw(t, b, "", signed(t, b.pk, sdk.NewPayload("alipay.trade.nope")))); name != "error_response" {
		t.Fatalf("node %s, want error_response", name)
	}
	// The Java SDK puts the system parameters in the query and biz_content in
	// the body: the gateway takes the union.
	v := signed(t, b.pk, sdk.TradePreCreate{Trade: sdk.Trade{Subject: "Java", OutTradeNo: "JAVA", TotalAmount: "9.80"}})
	body := url.Values{"biz_content": {v.Get("biz_content")}}
	v.Del("biz_content")
	name, fields, _ = node(t, raw(t, b, v.Encode(), body))
	if name != "alipay_trade_precreate_response" || fields["code"] != "10000" || fields["qr_code"] == nil {
		t.Fatalf("query+body request answered %s %v", name, fields)
	}
	// A JSON number as the amount is read exactly.
	p := sdk.NewPayload("alipay.trade.precreate")
	p.AddBizField("out_trade_no", "NUMBER").AddBizField("subject", "n").AddBizField("total_amount", json.Number("19.9"))
	if _, fields, _ := node(t, raw(t, b, "", signed(t, b.pk, p))); fields["code"] != "10000" {
		t.Fatalf("a numeric amount answered %v", fields)
	}
	q, err := b.pk.TradeQuery(t.Context(), sdk.TradeQuery{OutTradeNo: "NUMBER"})
	if err != nil || q.IsSuccess() {
		t.Fatalf("a precreated trade nobody scanned is visible: %+v, %v", q, err)
	}
}

func TestCertDownload(t *testing.T) {
	b := setup(t)
	want := read(t, "alipayCertPublicKey_RSA2.crt")
	blk, _ := pem.Decode([]byte(want))
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sn := sdkCertSN(c)
	rsp, err := b.cert.CertDownload(t.Context(), sdk.CertDownload{AliPayCertSN: sn})
	if err != nil || rsp.IsFailure() {
		t.Fatalf("CertDownload = %+v, %v", rsp, err)
	}
	got, err := base64.StdEncoding.DecodeString(rsp.AliPayCertContent)
	if err != nil || string(got) != want {
		t.Fatalf("alipay_cert_content is not the certificate: %q", got)
	}
	rsp, err = b.cert.CertDownload(t.Context(), sdk.CertDownload{AliPayCertSN: strings.Repeat("1", 32)})
	if err != nil || rsp.SubCode != "CERT_NOT_EXIST" {
		t.Fatalf("CertDownload of an unknown SN = %+v, %v", rsp, err)
	}
}

func TestSetupReusesItsKeys(t *testing.T) {
	before := map[string]string{}
	entries, err := os.ReadDir(files.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pem") || strings.HasSuffix(e.Name(), ".crt") {
			before[e.Name()] = read(t, e.Name())
		}
	}
	if len(before) != 8 {
		t.Fatalf("Setup wrote %d keys and certificates, want 8: %v", len(before), entries)
	}
	again, err := alipaysandbox.Setup(files.Dir, "http://127.0.0.1:2/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = alipaysandbox.Setup(files.Dir, "http://127.0.0.1:1") })
	for name, content := range before {
		if read(t, name) != content {
			t.Errorf("Setup rewrote %s", name)
		}
	}
	if m := readMerchant(t, again.CertConfig); m.Gateway != "http://127.0.0.1:2/gateway.do" {
		t.Errorf("the gateway in %s is %s", again.CertConfig, m.Gateway)
	}
	if filepath.Dir(again.PublicKeyConfig) != files.Dir {
		t.Errorf("PublicKeyConfig %s", again.PublicKeyConfig)
	}
}

// sdkCertSN is how smartwalle names a certificate.
func sdkCertSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.String() + c.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}
