package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"bursar.dev/bursar/internal/webhook"
)

// hookReceiver is the platform's webhook endpoint: a real HTTP server on
// 127.0.0.1 that checks signatures the way the README tells platforms to.
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	events []map[string]any
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := webhook.Verify(r.secret, req.Header.Get("Bursar-Signature"), body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("delivery %s: %v", req.Header.Get("Bursar-Delivery"), err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var ev map[string]any
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("delivery body %s: %v", body, err)
		}
		r.events = append(r.events, ev)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) got() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// TestWebhooksEndToEnd registers an endpoint with the command line while
// `bursar serve` runs, pays an order through the Alipay sandbox, confirms it,
// and checks that the endpoint got both events, signed and in order; then
// re-sends one from the command line.
func TestWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	for name, b := range map[string]func(*testing.T) backend{"sqlite": sqliteBackend, "postgres": postgresBackend} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			webhooksEndToEnd(t, b(t))
		})
	}
}

func webhooksEndToEnd(t *testing.T, b backend) {
	key := createKey(t, b.db...)
	p := serveChannels(t, b)
	a := client{t, p.base}
	r := newHookReceiver(t)

	out, err := runCLI(t, append([]string{"webhooks", "endpoints", "create", "--json", "--url", r.srv.URL + "/bursar",
		"--events", "order.paid, order.completed"}, b.db...)...)
	if err != nil {
		t.Fatalf("webhooks endpoints create: %v\n%s", err, out)
	}
	var ep struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(out), &ep); err != nil || ep.Secret == "" {
		t.Fatalf("endpoint %s: %v", out, err)
	}
	r.mu.Lock()
	r.secret = ep.Secret
	r.mu.Unlock()

	s := a.shop(key, 4200)
	id, no, _ := a.order(s)
	a.payAt(s.buyer, id, "alipay_qr")
	control(t, p.base, "/alipay/sandbox/pay", url.Values{"out_trade_no": {no}})
	a.awaitOrder(s.buyer, id, "paid", 15*time.Second)
	a.must(200, s.buyer, "POST", "/v1/orders/"+id+"/confirm", "")

	eventually(t, 15*time.Second, "both events at the endpoint", func() (bool, any) {
		got := r.got()
		return len(got) == 2, got
	})
	got := r.got()
	for i, want := range []struct {
		typ, status string
		seq         float64
	}{{"order.paid", "paid", 1}, {"order.completed", "completed", 2}} {
		obj, _ := got[i]["data"].(map[string]any)["object"].(map[string]any)
		if got[i]["type"] != want.typ || got[i]["seq"] != want.seq || got[i]["order_id"] != id || obj["status"] != want.status {
			t.Errorf("event %d: %v, want %s seq %v with the order %s", i, got[i], want.typ, want.seq, want.status)
		}
	}

	// The API lists what was delivered; the command line re-sends one.
	// The endpoint may have both events a moment before the second answer
	// is recorded.
	eventually(t, 15*time.Second, "both deliveries recorded as succeeded", func() (bool, any) {
		list := a.must(200, key, "GET", "/v1/webhook_deliveries?status=succeeded&endpoint_id="+ep.ID, "")
		data, _ := list["data"].([]any)
		return len(data) == 2, list
	})
	first := got[0]["id"].(string)
	if out, err := runCLI(t, append([]string{"webhooks", "resend", first}, b.db...)...); err != nil {
		t.Fatalf("webhooks resend: %v\n%s", err, out)
	}
	eventually(t, 15*time.Second, "the re-sent event", func() (bool, any) {
		got := r.got()
		return len(got) == 3 && got[2]["id"] == first, got
	})
	p.stop(t)
	verifyLedger(t, b)
}
