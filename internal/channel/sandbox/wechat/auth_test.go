package wechat_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func readKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	return k.(*rsa.PrivateKey), nil
}

func TestRequestSignature(t *testing.T) {
	_, srv := start(t, testConfig())
	path := "/v3/pay/transactions/out-trade-no/NO-SUCH-ORDER?mchid=" + files.Gateway.MchID
	tests := []struct {
		name   string
		change func(*signer)
		want   int
	}{
		{"a good signature", func(*signer) {}, http.StatusNotFound}, // through to the handler: no such order
		{"keys in another order", func(s *signer) {
			s.order = []string{"signature", "timestamp", "serial_no", "nonce_str", "mchid"}
		}, http.StatusNotFound},
		{"the wrong key", func(s *signer) { s.key = files.Gateway.PlatformKey }, http.StatusUnauthorized},
		{"another certificate serial", func(s *signer) { s.serial = strings.Repeat("A", 40) }, http.StatusUnauthorized},
		{"the serial in lower case", func(s *signer) { s.serial = strings.ToLower(s.serial) }, http.StatusUnauthorized},
		{"another merchant", func(s *signer) { s.mchid = "1900000999" }, http.StatusUnauthorized},
		{"six minutes old", func(s *signer) { s.now = func() time.Time { return time.Now().Add(-6 * time.Minute) } }, http.StatusUnauthorized},
		{"six minutes ahead", func(s *signer) { s.now = func() time.Time { return time.Now().Add(6 * time.Minute) } }, http.StatusUnauthorized},
		{"four minutes old", func(s *signer) { s.now = func() time.Time { return time.Now().Add(-4 * time.Minute) } }, http.StatusNotFound},
		{"a missing nonce", func(s *signer) { s.order = []string{"mchid", "timestamp", "serial_no", "signature"} }, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSigner(t)
			tt.change(s)
			a := do(t, s.request(t, http.MethodGet, srv.URL+path, nil))
			if a.status != tt.want {
				t.Fatalf("status = %d %s, want %d", a.status, a.body, tt.want)
			}
			code := a.json(t)["code"]
			if tt.want == http.StatusUnauthorized && code != "SIGN_ERROR" {
				t.Errorf("code = %v, want SIGN_ERROR", code)
			}
			if tt.want == http.StatusNotFound && code != "ORDER_NOT_EXIST" {
				t.Errorf("code = %v, want ORDER_NOT_EXIST", code)
			}
		})
	}

	t.Run("a body changed after signing", func(t *testing.T) {
		req := newSigner(t).request(t, http.MethodPost, srv.URL+"/v3/pay/transactions/native", []byte(`{"a":1}`))
		req.Body = http.NoBody
		req.ContentLength = 0
		if a := do(t, req); a.status != http.StatusUnauthorized {
			t.Errorf("status = %d %s, want 401", a.status, a.body)
		}
	})
	t.Run("no Authorization", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		if a := do(t, req); a.status != http.StatusUnauthorized || a.json(t)["code"] != "SIGN_ERROR" {
			t.Errorf("answer = %d %s, want 401 SIGN_ERROR", a.status, a.body)
		}
	})
}

func TestAnswersAreSigned(t *testing.T) {
	_, srv := start(t, testConfig())
	no := placeNative(t, srv, 100, "https://merchant.example/notify")
	q := call(t, srv, http.MethodGet, "/v3/pay/transactions/out-trade-no/"+no+"?mchid="+files.Gateway.MchID, nil)
	if q.status != http.StatusOK || q.json(t)["trade_state"] != "NOTPAY" {
		t.Fatalf("query = %d %s", q.status, q.body)
	}
	verifyAnswer(t, q)
	c := call(t, srv, http.MethodPost, "/v3/pay/transactions/out-trade-no/"+no+"/close", map[string]string{"mchid": files.Gateway.MchID})
	if c.status != http.StatusNoContent || len(c.body) != 0 {
		t.Fatalf("close = %d %q, want an empty 204", c.status, c.body)
	}
	verifyAnswer(t, c) // the signature of an empty body
}
