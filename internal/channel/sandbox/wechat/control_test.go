package wechat_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
)

func TestControlsValidateInput(t *testing.T) {
	_, srv := start(t, testConfig())
	tests := []struct {
		path   string
		form   url.Values
		status int
		code   string
	}{
		{"/wechat/sandbox/pay", url.Values{}, 400, "invalid"},
		{"/wechat/sandbox/pay", url.Values{"out_trade_no": {"NO-SUCH"}}, 404, "not_found"},
		{"/wechat/sandbox/next-refund", url.Values{"status": {"DONE"}}, 400, "invalid"},
		{"/wechat/sandbox/next-refund", url.Values{"status": {"CLOSED"}}, 200, ""},
		{"/wechat/sandbox/next-error", url.Values{"status": {"200"}}, 400, "invalid"},
		{"/wechat/sandbox/next-error", url.Values{"status": {"x"}}, 400, "invalid"},
		{"/wechat/sandbox/notifications", url.Values{"mode": {"later"}}, 400, "invalid"},
		{"/wechat/sandbox/notifications", url.Values{"delay": {"-1s"}}, 400, "invalid"},
		{"/wechat/sandbox/notifications", url.Values{"delay": {"soon"}}, 400, "invalid"},
		{"/wechat/sandbox/probe", url.Values{"notify_url": {"ftp://x"}}, 400, "invalid"},
		{"/wechat/sandbox/nothing", url.Values{}, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.path+"?"+tt.form.Encode(), func(t *testing.T) {
			a := control(t, srv, tt.path, tt.form)
			if a.status != tt.status {
				t.Fatalf("status = %d %s, want %d", a.status, a.body, tt.status)
			}
			if tt.code == "" {
				return
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(a.body, &e); err != nil || e.Error.Code != tt.code || e.Error.Message == "" {
				t.Errorf("body = %s, want error %s with a message", a.body, tt.code)
			}
		})
	}

	t.Run("JSON bodies", func(t *testing.T) {
		h := newHook(t, always(204))
		no := placeNative(t, srv, 100, h.url())
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/wechat/sandbox/pay",
			strings.NewReader(`{"out_trade_no":"`+no+`","openid":"oJSON"}`))
		req.Header.Set("Content-Type", "application/json")
		if a := do(t, req); a.status != 200 || a.json(t)["trade_state"] != "SUCCESS" {
			t.Errorf("pay = %d %s", a.status, a.body)
		}
		req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/wechat/sandbox/pay", strings.NewReader(`[1]`))
		req.Header.Set("Content-Type", "application/json")
		if a := do(t, req); a.status != 400 {
			t.Errorf("a JSON array = %d %s, want 400", a.status, a.body)
		}
		h.next(t)
	})
}

func TestCashier(t *testing.T) {
	_, srv := start(t, testConfig())
	h := newHook(t, always(204))
	no := newNo("CASH")
	a := call(t, srv, http.MethodPost, "/v3/pay/transactions/native", map[string]any{
		"appid": files.Gateway.AppID, "mchid": files.Gateway.MchID, "description": "围棋入门 <课程>", "out_trade_no": no,
		"notify_url": h.url(), "amount": map[string]any{"total": 1990}})
	codeURL, _ := a.json(t)["code_url"].(string)
	if !strings.HasPrefix(codeURL, srv.URL+"/wechat/cashier?prepay_id=") {
		t.Fatalf("code_url = %q, want the cashier", codeURL)
	}
	page := get(t, codeURL)
	for _, want := range []string{"围棋入门 &lt;课程&gt;", "¥19.90", no, `action="/wechat/sandbox/pay"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the cashier page lacks %q:\n%s", want, page)
		}
	}
	prepayID, _ := url.Parse(codeURL)
	// The page's button: the redirect lands back on the page, now paid.
	resp, err := http.PostForm(srv.URL+"/wechat/sandbox/pay", url.Values{"out_trade_no": {no}, "from": {"cashier"},
		"prepay_id": {prepayID.Query().Get("prepay_id")}, "openid": {""}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "支付成功") {
		t.Errorf("after paying: %d %s", resp.StatusCode, body)
	}
	h.next(t)
	if page := get(t, srv.URL+"/wechat/cashier?prepay_id=nope"); !strings.Contains(page, "no trade") {
		t.Errorf("an unknown prepay_id: %s", page)
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	return string(do(t, req).body)
}

func TestSetupReusesKeys(t *testing.T) {
	dir := t.TempDir()
	first, err := wechatsandbox.Setup(dir, "http://127.0.0.1:8081/")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(dir + "/apiclient_key.pem")
	second, err := wechatsandbox.Setup(dir, "http://127.0.0.1:9090")
	if err != nil {
		t.Fatal(err)
	}
	key2, _ := os.ReadFile(dir + "/apiclient_key.pem")
	g1, g2 := first.Gateway, second.Gateway
	if !bytes.Equal(key, key2) || g1.MerchantSerial != g2.MerchantSerial || g1.PublicKeyID != g2.PublicKeyID || g1.APIv3Key != g2.APIv3Key {
		t.Error("the second Setup made new keys")
	}
	if len(g1.MerchantSerial) != 40 || strings.ToUpper(g1.MerchantSerial) != g1.MerchantSerial ||
		!strings.HasPrefix(g1.PublicKeyID, "PUB_KEY_ID_") || len(g1.APIv3Key) != 32 {
		t.Errorf("serial %q, public key id %q, APIv3 key of %d bytes", g1.MerchantSerial, g1.PublicKeyID, len(g1.APIv3Key))
	}
	if g1.PublicKey.PublicKey.Equal(g1.MerchantKey) || g1.PlatformKey.PublicKey.Equal(g1.MerchantKey) ||
		g1.PlatformKey.PublicKey.Equal(&g1.PublicKey.PublicKey) {
		t.Error("the merchant's, the public-key mode's and the platform's keys must be distinct pairs")
	}
	cfg, _ := os.ReadFile(second.ConfigFile)
	var ac map[string]string
	if err := json.Unmarshal(cfg, &ac); err != nil || ac["base_url"] != "http://127.0.0.1:9090" ||
		ac["private_key_file"] != "apiclient_key.pem" || ac["public_key_id"] != g1.PublicKeyID {
		t.Errorf("config = %s", cfg)
	}
	if info, err := os.Stat(dir + "/apiv3_key.txt"); err != nil {
		t.Error(err)
	} else if info.Mode().Perm() != 0o600 {
		t.Errorf("the APIv3 key file has mode %v, want 0600", info.Mode())
	}
	// New can take the directory instead of the keys.
	gw, err := wechatsandbox.New(wechatsandbox.Config{Dir: dir})
	if err != nil {
		t.Fatalf("New(Dir) error = %v", err)
	}
	gw.Close()
}
