package wechat_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPrepayValidation(t *testing.T) {
	_, srv := start(t, testConfig())
	base := func() map[string]any {
		return map[string]any{"appid": files.Gateway.AppID, "mchid": files.Gateway.MchID, "description": "课程",
			"out_trade_no": newNo("V"), "notify_url": "https://merchant.example/notify",
			"amount": map[string]any{"total": 1990, "currency": "CNY"}}
	}
	tests := []struct {
		name   string
		path   string
		change func(map[string]any)
		status int
		code   string
	}{
		{"native", "native", nil, 200, ""},
		{"an amount in yuan", "native", func(m map[string]any) { m["amount"] = map[string]any{"total": 19.9} }, 400, "PARAM_ERROR"},
		{"an amount as a string", "native", func(m map[string]any) { m["amount"] = map[string]any{"total": "1990"} }, 400, "PARAM_ERROR"},
		{"a zero amount", "native", func(m map[string]any) { m["amount"] = map[string]any{"total": 0} }, 400, "PARAM_ERROR"},
		{"dollars", "native", func(m map[string]any) { m["amount"] = map[string]any{"total": 1, "currency": "USD"} }, 400, "PARAM_ERROR"},
		{"a 5-character order number", "native", func(m map[string]any) { m["out_trade_no"] = "12345" }, 400, "PARAM_ERROR"},
		{"a 33-character order number", "native", func(m map[string]any) { m["out_trade_no"] = strings.Repeat("1", 33) }, 400, "PARAM_ERROR"},
		{"a notify_url with a query", "native", func(m map[string]any) { m["notify_url"] = "https://m.example/n?x=1" }, 400, "PARAM_ERROR"},
		{"a relative notify_url", "native", func(m map[string]any) { m["notify_url"] = "/notify" }, 400, "PARAM_ERROR"},
		{"another app", "native", func(m map[string]any) { m["appid"] = "wx0000000000000000" }, 400, "INVALID_REQUEST"},
		{"jsapi without a payer", "jsapi", nil, 400, "PARAM_ERROR"},
		{"jsapi", "jsapi", func(m map[string]any) { m["payer"] = map[string]string{"openid": "o1"} }, 200, ""},
		{"h5 without scene_info", "h5", nil, 400, "PARAM_ERROR"},
		{"h5 without h5_info", "h5", func(m map[string]any) { m["scene_info"] = map[string]any{"payer_client_ip": "1.2.3.4"} }, 400, "PARAM_ERROR"},
		{"h5", "h5", func(m map[string]any) {
			m["scene_info"] = map[string]any{"payer_client_ip": "1.2.3.4", "h5_info": map[string]string{"type": "Wap"}}
		}, 200, ""},
		{"app", "app", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := base()
			if tt.change != nil {
				tt.change(body)
			}
			a := call(t, srv, http.MethodPost, "/v3/pay/transactions/"+tt.path, body)
			if a.status != tt.status {
				t.Fatalf("status = %d %s, want %d", a.status, a.body, tt.status)
			}
			if tt.code != "" && a.json(t)["code"] != tt.code {
				t.Errorf("code = %s, want %s", a.body, tt.code)
			}
		})
	}
}

func TestPrepayIsIdempotent(t *testing.T) {
	_, srv := start(t, testConfig())
	body := map[string]any{"appid": files.Gateway.AppID, "mchid": files.Gateway.MchID, "description": "课程",
		"out_trade_no": newNo("I"), "notify_url": "https://merchant.example/notify",
		"amount": map[string]any{"total": 1990, "currency": "CNY"}, "payer": map[string]string{"openid": "o1"}}
	first := call(t, srv, http.MethodPost, "/v3/pay/transactions/jsapi", body)
	second := call(t, srv, http.MethodPost, "/v3/pay/transactions/jsapi", body)
	if first.status != 200 || string(first.body) != string(second.body) {
		t.Fatalf("answers = %d %s, %d %s; want the same prepay_id", first.status, first.body, second.status, second.body)
	}
	body["description"] = "另一个"
	if a := call(t, srv, http.MethodPost, "/v3/pay/transactions/jsapi", body); a.status != 400 || a.json(t)["code"] != "INVALID_REQUEST" {
		t.Errorf("other parameters = %d %s, want 400 INVALID_REQUEST", a.status, a.body)
	}
	// Another trade type under the same number is another order too.
	delete(body, "payer")
	body["description"] = "课程"
	if a := call(t, srv, http.MethodPost, "/v3/pay/transactions/native", body); a.status != 400 {
		t.Errorf("native under a jsapi order's number = %d %s, want 400", a.status, a.body)
	}
}

func TestQueryByTransactionID(t *testing.T) {
	_, srv := start(t, testConfig())
	h := newHook(t, always(204))
	no := placeNative(t, srv, 100, h.url())
	mch := "?mchid=" + files.Gateway.MchID
	if a := call(t, srv, http.MethodGet, "/v3/pay/transactions/out-trade-no/"+no, nil); a.status != 400 {
		t.Errorf("query without mchid = %d %s, want 400", a.status, a.body)
	}
	a := control(t, srv, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}, "openid": {"oPayer"}})
	var tx struct {
		TransactionID string `json:"transaction_id"`
		TradeState    string `json:"trade_state"`
	}
	if err := json.Unmarshal(a.body, &tx); err != nil || a.status != 200 || len(tx.TransactionID) != 28 {
		t.Fatalf("pay = %d %s", a.status, a.body)
	}
	q := call(t, srv, http.MethodGet, "/v3/pay/transactions/id/"+tx.TransactionID+mch, nil)
	m := q.json(t)
	if q.status != 200 || m["out_trade_no"] != no || m["trade_state"] != "SUCCESS" || m["success_time"] == nil ||
		m["payer"].(map[string]any)["openid"] != "oPayer" {
		t.Errorf("query by id = %d %s", q.status, q.body)
	}
	verifyAnswer(t, q)
	if q := call(t, srv, http.MethodGet, "/v3/pay/transactions/id/4200000000000000000000000000"+mch, nil); q.status != 404 {
		t.Errorf("unknown id = %d %s, want 404", q.status, q.body)
	}
	h.next(t)
}

func TestRefundNotifiesItsOwnURL(t *testing.T) {
	_, srv := start(t, testConfig())
	payHook, refundHook := newHook(t, always(200)), newHook(t, always(200))
	no := placeNative(t, srv, 1000, payHook.url())
	control(t, srv, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
	payHook.next(t)
	a := call(t, srv, http.MethodPost, "/v3/refund/domestic/refunds", map[string]any{
		"out_trade_no": no, "out_refund_no": "RF" + no, "notify_url": refundHook.url(),
		"amount": map[string]any{"refund": 100, "total": 1000, "currency": "CNY"}})
	if a.status != 200 || a.json(t)["status"] != "PROCESSING" {
		t.Fatalf("refund = %d %s", a.status, a.body)
	}
	verifyAnswer(t, a)
	d := refundHook.next(t)
	if !strings.Contains(string(d.body), `"event_type":"REFUND.SUCCESS"`) || !strings.Contains(string(d.body), `"original_type":"refund"`) {
		t.Errorf("refund notification = %s", d.body)
	}
	payHook.quiet(t, 100*time.Millisecond)
}
