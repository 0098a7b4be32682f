package alipay_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/alipay"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

// paidNotification pays a QR trade for the app and returns the body of the
// notification the merchant received.
func paidNotification(t testing.TB, b *bundle, ch *alipay.Channel, appID, orderNo string) []byte {
	t.Helper()
	r := newReceiver(t, ch)
	p, err := ch.Pay(t.Context(), channel.PayRequest{OrderNo: orderNo, Amount: cny(1990),
		Subject: "Go + SQL / 第1课 a=b", Method: channel.AlipayQR, NotifyURL: r.url})
	if err != nil {
		t.Fatal(err)
	}
	b.open(t, p)
	b.payControl(t, appID, orderNo)
	d := r.next(t)
	if d.err != nil {
		t.Fatalf("the first notification did not parse: %v", d.err)
	}
	return d.body
}

func TestNotificationRetriesUntilSuccess(t *testing.T) {
	b := setup(t)
	r := newReceiver(t, b.cert)
	r.failFirst.Store(2)
	p, err := b.cert.Pay(t.Context(), channel.PayRequest{OrderNo: "RETRY", Amount: cny(1990), Subject: "retry",
		Method: channel.AlipayQR, NotifyURL: r.url})
	if err != nil {
		t.Fatal(err)
	}
	b.open(t, p)
	b.payControl(t, alipaysandbox.CertAppID, "RETRY")
	var ids []string
	for i, want := range []string{"fail", "fail", "success"} {
		d := r.next(t)
		if d.err != nil || d.answer != want {
			t.Fatalf("delivery %d: parse error %v, answered %q; want %q", i+1, d.err, d.answer, want)
		}
		vals, _ := url.ParseQuery(string(d.body))
		for k, v := range vals {
			if v[0] == "" {
				t.Errorf("delivery %d has the empty field %s", i+1, k)
			}
		}
		ids = append(ids, d.n.ID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("notify_id changed across retries: %v", ids)
	}
	r.none(t, 300*time.Millisecond) // acknowledged: no more attempts
}

func TestNotificationGivesUpAfterTheSchedule(t *testing.T) {
	b := setup(t, func(c *alipaysandbox.Config) {
		c.RetrySchedule = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
	})
	r := newReceiver(t, b.cert)
	r.failFirst.Store(100)
	p, err := b.cert.Pay(t.Context(), channel.PayRequest{OrderNo: "GIVEUP", Amount: cny(1), Subject: "x",
		Method: channel.AlipayQR, NotifyURL: r.url})
	if err != nil {
		t.Fatal(err)
	}
	b.open(t, p)
	b.payControl(t, alipaysandbox.CertAppID, "GIVEUP")
	for range 3 { // the first attempt and one per wait in the schedule
		if d := r.next(t); d.answer != "fail" {
			t.Fatalf("answered %q", d.answer)
		}
	}
	r.none(t, 200*time.Millisecond)
}

// resign replaces the signature with one by key over the values as Alipay
// would sign them.
func resign(vals url.Values, key *rsa.PrivateKey) url.Values {
	var keys []string
	for k := range vals {
		if k != "sign" && k != "sign_type" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+vals.Get(k))
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "&")))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	out := url.Values{}
	for k, v := range vals {
		out[k] = append([]string(nil), v...)
	}
	out.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return out
}

// otherKey is a key that is not Alipay's: the public-key app's own.
func otherKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	cfg, err := alipay.LoadConfig(files.PublicKeyConfig)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func TestParseNotificationRefuses(t *testing.T) {
	b := setup(t)
	body := paidNotification(t, b, b.cert, alipaysandbox.CertAppID, "GOOD")
	pkBody := paidNotification(t, b, b.pk, alipaysandbox.PublicKeyAppID, "OTHERAPP")
	valid, _ := url.ParseQuery(string(body))
	edit := func(f func(url.Values)) []byte {
		v := url.Values{}
		for k, vs := range valid {
			v[k] = append([]string(nil), vs...)
		}
		if f != nil {
			f(v)
		}
		return []byte(v.Encode())
	}
	cfg, err := alipay.LoadConfig(files.CertConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Gateway, cfg.SellerID = b.srv.URL+"/gateway.do", "2088999999999999"
	otherSeller, err := alipay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ch   *alipay.Channel
		body []byte
		why  string // in the error message
	}{
		{"a tampered amount", b.cert, edit(func(v url.Values) { v.Set("total_amount", "0.01") }), "signature"},
		{"a tampered status", b.cert, edit(func(v url.Values) { v.Set("trade_status", "TRADE_CLOSED") }), "signature"},
		{"a signature by another key", b.cert, []byte(resign(valid, otherKey(t)).Encode()), "signature"},
		{"a genuine notification for another app", b.cert, pkBody, "app"},
		{"a genuine notification for another seller", otherSeller, body, "seller"},
		{"an empty extra field", b.cert, append(append([]byte(nil), body...), "&extra="...), "empty"},
		{"a repeated field", b.cert, append(append([]byte(nil), body...), "&trade_status=TRADE_SUCCESS"...), "repeated"},
		{"no signature", b.cert, edit(func(v url.Values) { v.Del("sign") }), "not signed"},
		{"a subject decoded twice (+ as space)", b.cert, edit(func(v url.Values) {
			v.Set("subject", strings.ReplaceAll(v.Get("subject"), "+", " "))
		}), "signature"},
		{"an unknown certificate SN", b.cert, edit(func(v url.Values) { v.Set("alipay_cert_sn", "0123456789abcdef0123456789abcdef") }), "alipay_cert_sn"},
		{"the certificate app's notification at the public-key app", b.pk, body, "app"},
		{"a body that is not a form", b.cert, []byte("%zz"), "form"},
		{"nothing", b.cert, nil, "not signed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := tt.ch.ParseNotification(t.Context(), channel.Inbound{Body: tt.body})
			wantCode(t, "ParseNotification", err, bursar.Invalid)
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("ParseNotification error = %v, want it to say %q", err, tt.why)
			}
			if !reflect.DeepEqual(n, channel.Notification{}) {
				t.Errorf("a refused notification was decoded: %+v", n)
			}
			if a := tt.ch.Answer(err); a.Status != http.StatusOK || string(a.Body) != "fail" {
				t.Errorf("Answer(err) = %d %q, want 200 fail", a.Status, a.Body)
			}
		})
	}
	// The untouched bodies parse, each with its own channel.
	for _, c := range []struct {
		ch   *alipay.Channel
		body []byte
	}{{b.cert, body}, {b.pk, pkBody}} {
		if _, err := c.ch.ParseNotification(t.Context(), channel.Inbound{Body: c.body}); err != nil {
			t.Errorf("the genuine notification was refused: %v", err)
		}
	}
	if a := b.cert.Answer(nil); a.Status != http.StatusOK || string(a.Body) != "success" || !strings.HasPrefix(a.ContentType, "text/plain") {
		t.Errorf("Answer(nil) = %+v", a)
	}
}

// FuzzParseNotification checks that no input panics, that every refusal is
// bursar.Invalid, and that whatever is accepted carries exactly the fields
// and values Alipay signed.
func FuzzParseNotification(f *testing.F) {
	b := setup(f)
	seed := paidNotification(f, b, b.cert, alipaysandbox.CertAppID, "FUZZ")
	signed, err := url.ParseQuery(string(seed))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(strings.Replace(string(seed), "TRADE_SUCCESS", "TRADE_CLOSED", 1)))
	f.Add([]byte(string(seed) + "&extra="))
	f.Add([]byte("sign=&app_id=" + alipaysandbox.CertAppID))
	f.Add([]byte("msg_method=alipay.fund.trans.order.changed&biz_content=%7B%7D&sign=AAAA"))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := b.cert.ParseNotification(t.Context(), channel.Inbound{Body: body})
		if err != nil {
			if code := bursar.ErrorCode(err); code != bursar.Invalid {
				t.Fatalf("ParseNotification(%q) error code = %q, want invalid: %v", body, code, err)
			}
			return
		}
		got, perr := url.ParseQuery(string(body))
		if perr != nil || !reflect.DeepEqual(got, signed) {
			t.Fatalf("ParseNotification accepted %q, which is not the signed notification", body)
		}
	})
}
