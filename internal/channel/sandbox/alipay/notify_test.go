package alipay_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

func TestRestartKeepsTradesAndPendingNotifications(t *testing.T) {
	data := t.TempDir()
	cfg := func(c *alipaysandbox.Config) {
		c.DataDir = data
		c.RetrySchedule = []time.Duration{30 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond,
			30 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond, time.Hour}
	}
	first := setup(t, cfg)
	r := newReceiver(t, first.cert)
	first.precreateAndPay(t, first.cert, alipaysandbox.CertAppID, "KEEP", "19.90", r.url)
	n1 := r.next(t) // answered fail: still pending
	first.gw.Close()
	first.srv.Close()
	if _, err := os.Stat(filepath.Join(data, "alipay-sandbox.json")); err != nil {
		t.Fatalf("no state file: %v", err)
	}

	second := setup(t, cfg)
	q, err := second.cert.TradeQuery(t.Context(), sdk.TradeQuery{OutTradeNo: "KEEP"})
	if err != nil || q.TradeStatus != sdk.TradeStatusSuccess || q.TotalAmount != "19.90" || q.TradeNo != n1.Get("trade_no") {
		t.Fatalf("after the restart the trade is %+v, %v", q, err)
	}
	r.accept.Store(true)
	for {
		n := r.next(t)
		if n.Get("notify_id") != n1.Get("notify_id") {
			t.Fatalf("another notification came: %v", n.Values)
		}
		if n.answer == "success" {
			break
		}
	}
	// Acknowledged: no more attempts.
	select {
	case n := <-r.got:
		t.Fatalf("a notification came after success: %v", n)
	case <-time.After(150 * time.Millisecond):
	}
}

func TestNotificationFields(t *testing.T) {
	b := setup(t)
	r := newReceiver(t, b.cert)
	r.accept.Store(true)
	b.precreateAndPay(t, b.cert, alipaysandbox.CertAppID, "FIELDS", "1.67", r.url)
	n := r.next(t)
	for field, want := range map[string]string{"notify_type": "trade_status_sync", "app_id": alipaysandbox.CertAppID,
		"trade_status": "TRADE_SUCCESS", "total_amount": "1.67", "out_trade_no": "FIELDS", "subject": "测试 a+b / c=d",
		"seller_id": alipaysandbox.SellerID, "sign_type": "RSA2", "charset": "utf-8", "version": "1.0",
		"fund_bill_list": `[{"amount":"1.67","fundChannel":"ALIPAYACCOUNT"}]`} {
		if got := n.Get(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	for _, field := range []string{"notify_id", "notify_time", "trade_no", "buyer_id", "gmt_payment", "gmt_create", "sign"} {
		if n.Get(field) == "" {
			t.Errorf("%s is missing", field)
		}
	}
	for k, v := range n.Values {
		if len(v) != 1 || v[0] == "" {
			t.Errorf("field %s = %q: Alipay sends every field once and never empty", k, v)
		}
	}
	if n.Has("body") || n.Has("passback_params") || n.Has("refund_fee") {
		t.Errorf("fields the payment did not have were sent: %v", n)
	}
}

func TestNotificationControls(t *testing.T) {
	b := setup(t)
	r := newReceiver(t, b.pk)
	r.accept.Store(true)
	if status, out := b.post(t, "/alipay/sandbox/notifications/drop", map[string]string{}); status != http.StatusOK {
		t.Fatalf("drop: %d %v", status, out)
	}
	b.precreateAndPay(t, b.pk, alipaysandbox.PublicKeyAppID, "DROPPED", "0.01", r.url)
	if status, out := b.post(t, "/alipay/sandbox/notifications/delay", map[string]string{"delay": "1h"}); status != http.StatusOK {
		t.Fatalf("delay: %d %v", status, out)
	}
	b.precreateAndPay(t, b.pk, alipaysandbox.PublicKeyAppID, "DELAYED", "0.01", r.url)
	select {
	case n := <-r.got:
		t.Fatalf("a dropped or delayed notification came: %v", n)
	case <-time.After(200 * time.Millisecond):
	}
	b.clock.Advance(time.Hour)
	if n := b.gw.DeliverDue(t.Context()); n != 1 {
		t.Fatalf("DeliverDue attempted %d, want 1", n)
	}
	if n := r.next(t); n.Get("out_trade_no") != "DELAYED" {
		t.Fatalf("delivered %v", n)
	}
	resp, err := http.Get(b.srv.URL + "/alipay/sandbox/notifications")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.Status)
	}
}

func TestNotificationNeedsExactlySuccess(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer func(http.ResponseWriter)
	}{
		{"success with a newline", func(w http.ResponseWriter) { _, _ = w.Write([]byte("success\n")) }},
		{"SUCCESS", func(w http.ResponseWriter) { _, _ = w.Write([]byte("SUCCESS")) }},
		{"success with status 500", func(w http.ResponseWriter) { w.WriteHeader(500); _, _ = w.Write([]byte("success")) }},
		{"a redirect", func(w http.ResponseWriter) { w.Header().Set("Location", "/ok"); w.WriteHeader(http.StatusFound) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			got := make(chan string, 10)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				tt.answer(w)
				got <- r.PostForm.Get("notify_id")
			}))
			defer srv.Close()
			b.precreateAndPay(t, b.cert, alipaysandbox.CertAppID, "EXACT", "1.00", srv.URL+"/n")
			first := <-got
			select {
			case id := <-got:
				if id != first {
					t.Fatalf("the retry has notify_id %s, the first %s", id, first)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no retry: the answer was taken as success")
			}
		})
	}
}

func TestRetryScale(t *testing.T) {
	// Alipay's schedule scaled down: 4m is 24ms, 10m 60ms.
	b := setup(t, func(c *alipaysandbox.Config) { c.RetrySchedule, c.RetryScale = nil, 0.0001 })
	r := newReceiver(t, b.cert)
	b.precreateAndPay(t, b.cert, alipaysandbox.CertAppID, "SCALED", "9.80", r.url)
	first := r.next(t)
	start := time.Now()
	second := r.next(t)
	if wait := time.Since(start); wait < 15*time.Millisecond {
		t.Errorf("the first retry came after %s, want about 24ms", wait)
	}
	r.accept.Store(true)
	third := r.next(t)
	if first.Get("notify_id") != second.Get("notify_id") || second.Get("notify_id") != third.Get("notify_id") || third.answer != "success" {
		t.Fatalf("deliveries %v / %v / %v", first.Values, second.Values, third.Values)
	}
}
