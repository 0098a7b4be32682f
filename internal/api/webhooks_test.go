package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
	"bursar.dev/bursar/internal/webhook"
)

// webhookVolatile holds what golden's own list does not know: endpoint and
// event IDs, and endpoint secrets.
var webhookVolatile = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`\b(we|evt)_[a-z0-9]{26}\b`), `${1}_X`}, // also inside paths
	{regexp.MustCompile(`"whsec_[A-Z0-9]{26}"`), `"whsec_X"`},
}

// webhookGolden is golden for bodies that hold webhook objects.
func webhookGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	for _, r := range webhookVolatile {
		body = r.re.ReplaceAll(body, []byte(r.repl))
	}
	golden(t, name, body)
}

// wantError fails t unless r is the error object with this status, code
// and (when not empty) param.
func wantError(t *testing.T, r response, status int, code, param string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	e, ok := r.json(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object: %s", r.body)
	}
	if e["code"] != code || (param != "" && e["param"] != param) {
		t.Errorf("code %v param %v, want %s %s: %s", e["code"], e["param"], code, param, r.body)
	}
	if msg, _ := e["message"].(string); len(msg) < 10 {
		t.Errorf("message %q is not one a person understands", msg)
	}
	if e["request_id"] == "" || e["request_id"] != r.header.Get("Request-Id") {
		t.Errorf("request_id %v, header %q", e["request_id"], r.header.Get("Request-Id"))
	}
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func list(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	data, ok := m["data"].([]any)
	if !ok {
		t.Fatalf("not a list: %v", m)
	}
	out := make([]map[string]any, len(data))
	for i, d := range data {
		out[i] = d.(map[string]any)
	}
	return out
}

// TestWebhookEndpoints creates, reads, changes and rotates an endpoint. Its
// secret is shown when it is created and rotated, and nowhere else.
func TestWebhookEndpoints(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		c := newClient(t, db)
		created := c.do("POST", "/v1/webhook_endpoints", c.key,
			`{"url":"https://platform.example.com/hooks","events":["order.paid","order.completed","order.paid"],"description":"fulfilment"}`)
		if created.status != 201 {
			t.Fatalf("create = %d %s", created.status, created.body)
		}
		webhookGolden(t, "webhook_endpoint_created", created.body)
		ep := created.json(t)
		id, secret := ep["id"].(string), ep["secret"].(string)
		if !strings.HasPrefix(id, "we_") || !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("id %q secret %q", id, secret)
		}
		if got, want := strs(ep["events"]), []string{"order.completed", "order.paid"}; !cmp.Equal(got, want) {
			t.Errorf("events = %v, want them sorted without repeats %v", got, want)
		}

		noSecret := func(what string, r response) {
			t.Helper()
			if strings.Contains(string(r.body), `"secret"`) || strings.Contains(string(r.body), "whsec_") {
				t.Errorf("%s shows a secret: %s", what, r.body)
			}
		}
		all := c.do("GET", "/v1/webhook_endpoints", c.key, "")
		if all.status != 200 {
			t.Fatalf("list = %d %s", all.status, all.body)
		}
		noSecret("the list", all)
		if l := all.json(t); len(list(t, l)) != 1 || l["url"] != "/v1/webhook_endpoints" || l["has_more"] != false {
			t.Errorf("list = %s", all.body)
		}
		got := c.do("GET", "/v1/webhook_endpoints/"+id, c.key, "")
		if got.status != 200 {
			t.Fatalf("get = %d %s", got.status, got.body)
		}
		noSecret("GET", got)
		delete(ep, "secret")
		if diff := cmp.Diff(ep, got.json(t)); diff != "" {
			t.Errorf("GET differs from the created endpoint (-created +got):\n%s", diff)
		}

		// Fields left out stay as they are.
		upd := c.do("POST", "/v1/webhook_endpoints/"+id, c.key, `{"events":["*"],"disabled":true}`)
		if upd.status != 200 {
			t.Fatalf("update = %d %s", upd.status, upd.body)
		}
		noSecret("the update", upd)
		u := upd.json(t)
		if !cmp.Equal(strs(u["events"]), []string{"*"}) || u["disabled"] != true || u["url"] != "https://platform.example.com/hooks" ||
			u["description"] != "fulfilment" {
			t.Errorf("after the update: %s", upd.body)
		}
		u = c.must(200, "POST", "/v1/webhook_endpoints/"+id, c.key, `{"description":"","disabled":false}`)
		if !cmp.Equal(strs(u["events"]), []string{"*"}) || u["disabled"] != false || u["description"] != "" {
			t.Errorf("after the second update: %v", u)
		}
		if diff := cmp.Diff(u, c.must(200, "GET", "/v1/webhook_endpoints/"+id, c.key, "")); diff != "" {
			t.Errorf("GET differs from the update's answer (-update +get):\n%s", diff)
		}

		rot := c.do("POST", "/v1/webhook_endpoints/"+id+"/rotate_secret", c.key, "")
		if rot.status != 200 {
			t.Fatalf("rotate = %d %s", rot.status, rot.body)
		}
		newSecret, _ := rot.json(t)["secret"].(string)
		if !strings.HasPrefix(newSecret, "whsec_") || newSecret == secret {
			t.Errorf("rotated secret %q, the old one was %q", newSecret, secret)
		}
		noSecret("GET after rotating", c.do("GET", "/v1/webhook_endpoints/"+id, c.key, ""))

		// A retried creation under its Idempotency-Key creates nothing new.
		body := `{"url":"https://audit.example.com/hooks","events":["*"]}`
		first := c.do("POST", "/v1/webhook_endpoints", c.key, body, "Idempotency-Key", "ep-1")
		again := c.do("POST", "/v1/webhook_endpoints", c.key, body, "Idempotency-Key", "ep-1")
		if first.status != 201 || again.status != 201 || string(first.body) != string(again.body) {
			t.Errorf("replay: %d %s, then %d %s", first.status, first.body, again.status, again.body)
		}
		if n := len(list(t, c.must(200, "GET", "/v1/webhook_endpoints", c.key, ""))); n != 2 {
			t.Errorf("%d endpoints, want 2", n)
		}
	})
}

// TestWebhookBadInput checks that bad bodies and query parameters are each
// a 400 naming the input at fault, and that a refused creation creates
// nothing.
func TestWebhookBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		c := newClient(t, db)
		id := c.must(201, "POST", "/v1/webhook_endpoints", c.key, `{"url":"https://platform.example.com/hooks","events":["*"]}`)["id"].(string)
		ep := "/v1/webhook_endpoints/" + id
		const url = `"url":"https://platform.example.com/hooks"`
		tests := []struct {
			name, method, path, body, param string
		}{
			{"an ftp url", "POST", "/v1/webhook_endpoints", `{"url":"ftp://example.com/hooks","events":["*"]}`, "url"},
			{"a relative url", "POST", "/v1/webhook_endpoints", `{"url":"/hooks","events":["*"]}`, "url"},
			{"a url with a user", "POST", "/v1/webhook_endpoints", `{"url":"https://me:pw@example.com/hooks","events":["*"]}`, "url"},
			{"a url with a fragment", "POST", "/v1/webhook_endpoints", `{"url":"https://example.com/hooks#x","events":["*"]}`, "url"},
			{"no url", "POST", "/v1/webhook_endpoints", `{"events":["*"]}`, "url"},
			{"no events", "POST", "/v1/webhook_endpoints", `{` + url + `}`, "events"},
			{"an unknown event type", "POST", "/v1/webhook_endpoints", `{` + url + `,"events":["order.shipped"]}`, "events"},
			{"a star among types", "POST", "/v1/webhook_endpoints", `{` + url + `,"events":["*","order.paid"]}`, "events"},
			{"empty events", "POST", "/v1/webhook_endpoints", `{` + url + `,"events":[]}`, "events"},
			{"a long description", "POST", "/v1/webhook_endpoints", `{` + url + `,"events":["*"],"description":"` + strings.Repeat("x", 501) + `"}`, "description"},
			{"an unknown field", "POST", "/v1/webhook_endpoints", `{` + url + `,"events":["*"],"secret":"mine"}`, "secret"},
			{"a number for url", "POST", "/v1/webhook_endpoints", `{"url":5,"events":["*"]}`, "url"},
			{"a string for events", "POST", "/v1/webhook_endpoints", `{` + url + `,"events":"order.paid"}`, "events"},
			{"a string for disabled", "POST", "/v1/webhook_endpoints", `{` + url + `,"events":["*"],"disabled":"yes"}`, "disabled"},
			{"an update to empty events", "POST", ep, `{"events":[]}`, "events"},
			{"an update to an unknown type", "POST", ep, `{"events":["order.paid","nope"]}`, "events"},
			{"an update to a bad url", "POST", ep, `{"url":"not a url"}`, "url"},
			{"an update with a string for disabled", "POST", ep, `{"disabled":"true"}`, "disabled"},
			{"an update with an unknown field", "POST", ep, `{"enabled":true}`, "enabled"},
			{"an update without a body", "POST", ep, ``, ""},
			{"an unknown event type filter", "GET", "/v1/events?type=order.shipped", "", "type"},
			{"an event limit of 0", "GET", "/v1/events?limit=0", "", "limit"},
			{"an event limit that is not a number", "GET", "/v1/events?limit=ten", "", "limit"},
			{"an unknown delivery status", "GET", "/v1/webhook_deliveries?status=done", "", "status"},
			{"a delivery cursor that is not a number", "GET", "/v1/webhook_deliveries?starting_after=abc", "", "starting_after"},
			{"a delivery cursor of 0", "GET", "/v1/webhook_deliveries?starting_after=0", "", "starting_after"},
			{"a delivery limit of 101", "GET", "/v1/webhook_deliveries?limit=101", "", "limit"},
			{"a resend with an unknown field", "POST", "/v1/events/evt_nope/resend", `{"endpoint":"` + id + `"}`, "endpoint"},
			{"a resend with a number for endpoint_id", "POST", "/v1/events/evt_nope/resend", `{"endpoint_id":5}`, "endpoint_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantError(t, c.do(tt.method, tt.path, c.key, tt.body), 400, "invalid", tt.param)
			})
		}
		if n := len(list(t, c.must(200, "GET", "/v1/webhook_endpoints", c.key, ""))); n != 1 {
			t.Errorf("%d endpoints after refused creations, want 1", n)
		}
		got := c.must(200, "GET", ep, c.key, "")
		if !cmp.Equal(strs(got["events"]), []string{"*"}) || got["url"] != "https://platform.example.com/hooks" || got["disabled"] != false {
			t.Errorf("refused updates changed the endpoint: %v", got)
		}
	})
}

// webhookRoutes are every webhook route, called with real IDs.
func webhookRoutes(endpoint, event, delivery string) map[string][3]string {
	return map[string][3]string{
		"POST /v1/webhook_endpoints":                    {"POST", "/v1/webhook_endpoints", `{"url":"https://evil.example.com/","events":["*"]}`},
		"GET /v1/webhook_endpoints":                     {"GET", "/v1/webhook_endpoints", ""},
		"GET /v1/webhook_endpoints/{id}":                {"GET", "/v1/webhook_endpoints/" + endpoint, ""},
		"POST /v1/webhook_endpoints/{id}":               {"POST", "/v1/webhook_endpoints/" + endpoint, `{"url":"https://evil.example.com/"}`},
		"POST /v1/webhook_endpoints/{id}/rotate_secret": {"POST", "/v1/webhook_endpoints/" + endpoint + "/rotate_secret", ""},
		"GET /v1/events":                                {"GET", "/v1/events", ""},
		"GET /v1/events/{id}":                           {"GET", "/v1/events/" + event, ""},
		"POST /v1/events/{id}/resend":                   {"POST", "/v1/events/" + event + "/resend", `{"endpoint_id":"` + endpoint + `"}`},
		"GET /v1/webhook_deliveries":                    {"GET", "/v1/webhook_deliveries", ""},
		"GET /v1/webhook_deliveries/{id}":               {"GET", "/v1/webhook_deliveries/" + delivery, ""},
	}
}

// paidOrder has a buyer pay for a course from the wallet, so that an
// order.paid event exists, and returns the order's ID and the buyer's token.
func paidOrder(t *testing.T, c *client) (string, string) {
	t.Helper()
	buyer := c.user("buyer")
	c.user("seller")
	c.must(201, "POST", "/v1/users/buyer/wallet/adjustments", c.key, `{"amount":10000,"reason":"funds"}`)
	item := c.must(201, "POST", "/v1/items", c.key, `{"seller_id":"seller","kind":"course","title":"Go","price":1990}`)
	order := c.must(201, "POST", "/v1/orders", buyer, fmt.Sprintf(`{"buyer_id":"buyer","item_id":%q}`, item["id"]))
	id := order["id"].(string)
	c.must(200, "POST", "/v1/orders/"+id+"/pay", buyer, `{"method":"wallet","payment_password":"246810"}`)
	return id, buyer
}

// TestWebhookRoutesPlatformOnly walks every webhook route with a user token:
// each is the platform's alone, so each answers 403 and changes nothing.
// A webhook route added without a line here fails the test.
func TestWebhookRoutesPlatformOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		c := newClient(t, db)
		ep := c.must(201, "POST", "/v1/webhook_endpoints", c.key, `{"url":"https://platform.example.com/hooks","events":["*"]}`)
		oid, buyer := paidOrder(t, c)
		ev := list(t, c.must(200, "GET", "/v1/events?order_id="+oid, c.key, ""))[0]
		d := list(t, c.must(200, "GET", "/v1/webhook_deliveries", c.key, ""))[0]
		walk := webhookRoutes(ep["id"].(string), ev["id"].(string), strconv.Itoa(int(d["id"].(float64))))
		for _, route := range c.server.Routes() {
			if _, ok := walk[route]; !ok && (strings.Contains(route, "webhook") || strings.Contains(route, "/v1/events")) {
				t.Errorf("webhook route %s is not in the walk", route)
			}
		}
		for route, call := range walk {
			t.Run(route, func(t *testing.T) {
				wantError(t, c.do(call[0], call[1], buyer, call[2]), 403, "forbidden", "")
			})
		}
		// Nothing changed: one endpoint, as it was, and one delivery.
		eps := list(t, c.must(200, "GET", "/v1/webhook_endpoints", c.key, ""))
		if len(eps) != 1 || eps[0]["url"] != "https://platform.example.com/hooks" || eps[0]["updated_at"] != ep["updated_at"] {
			t.Errorf("endpoints after the walk: %v", eps)
		}
		if n := len(list(t, c.must(200, "GET", "/v1/webhook_deliveries", c.key, ""))); n != 1 {
			t.Errorf("%d deliveries after the walk, want 1", n)
		}
	})
}

// TestWebhookNotFound asks for objects that do not exist.
func TestWebhookNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		c := newClient(t, db)
		c.must(201, "POST", "/v1/webhook_endpoints", c.key, `{"url":"https://platform.example.com/hooks","events":["*"]}`)
		oid, _ := paidOrder(t, c)
		ev := list(t, c.must(200, "GET", "/v1/events?order_id="+oid, c.key, ""))[0]["id"].(string)
		tests := []struct{ name, method, path, body string }{
			{"an endpoint", "GET", "/v1/webhook_endpoints/we_nope", ""},
			{"an endpoint to update", "POST", "/v1/webhook_endpoints/we_nope", `{"disabled":true}`},
			{"an endpoint to rotate", "POST", "/v1/webhook_endpoints/we_nope/rotate_secret", ""},
			{"an event", "GET", "/v1/events/evt_nope", ""},
			{"an event to re-send", "POST", "/v1/events/evt_nope/resend", ""},
			{"an endpoint to re-send to", "POST", "/v1/events/" + ev + "/resend", `{"endpoint_id":"we_nope"}`},
			{"a delivery", "GET", "/v1/webhook_deliveries/999999", ""},
			{"a delivery ID that is not a number", "GET", "/v1/webhook_deliveries/abc", ""},
			{"a delivery ID of 0", "GET", "/v1/webhook_deliveries/0", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantError(t, c.do(tt.method, tt.path, c.key, tt.body), 404, "not_found", "")
			})
		}
	})
}

// fakeSender answers every delivery with one status, and keeps what it was
// sent.
type fakeSender struct {
	mu     sync.Mutex
	status int
	got    []webhook.Request
}

func (s *fakeSender) Send(_ context.Context, r webhook.Request) (webhook.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, r)
	return webhook.Response{Status: s.status, Body: []byte("not now")}, nil
}

// TestWebhookEventsAndDeliveries pays an order, so an order.paid event is
// written with a delivery to the endpoint that wants it, then reads the
// event and the delivery, sends it once (answered 500), and re-sends it.
func TestWebhookEventsAndDeliveries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		c := newClient(t, db)
		a := c.must(201, "POST", "/v1/webhook_endpoints", c.key, `{"url":"https://platform.example.com/hooks","events":["order.paid"]}`)
		b := c.must(201, "POST", "/v1/webhook_endpoints", c.key, `{"url":"https://audit.example.com/hooks","events":["refund.succeeded"]}`)
		aID, bID := a["id"].(string), b["id"].(string)
		oid, _ := paidOrder(t, c)

		// The event.
		events := c.do("GET", "/v1/events?order_id="+oid, c.key, "")
		if events.status != 200 {
			t.Fatalf("events = %d %s", events.status, events.body)
		}
		webhookGolden(t, "webhook_events", events.body)
		evs := list(t, events.json(t))
		if len(evs) != 1 {
			t.Fatalf("%d events of the order, want 1: %s", len(evs), events.body)
		}
		ev := evs[0]
		evID := ev["id"].(string)
		obj, _ := ev["data"].(map[string]any)["object"].(map[string]any)
		if ev["type"] != "order.paid" || ev["subject"] != oid || ev["order_id"] != oid || ev["seq"] != 1.0 ||
			obj["id"] != oid || obj["status"] != "paid" {
			t.Errorf("event = %s", events.body)
		}
		if diff := cmp.Diff(ev, c.must(200, "GET", "/v1/events/"+evID, c.key, "")); diff != "" {
			t.Errorf("GET /v1/events/{id} differs from the list's (-list +get):\n%s", diff)
		}
		if got := list(t, c.must(200, "GET", "/v1/events?type=order.paid", c.key, "")); len(got) != 1 || got[0]["id"] != evID {
			t.Errorf("type=order.paid: %v", got)
		}
		if got := list(t, c.must(200, "GET", "/v1/events?order_id="+oid+"&type=order.completed", c.key, "")); len(got) != 0 {
			t.Errorf("type=order.completed: %v", got)
		}

		// Its one delivery: to a, which wants order.paid; not to b.
		pending := c.do("GET", "/v1/webhook_deliveries?status=pending", c.key, "")
		if pending.status != 200 {
			t.Fatalf("deliveries = %d %s", pending.status, pending.body)
		}
		webhookGolden(t, "webhook_deliveries_pending", pending.body)
		ds := list(t, pending.json(t))
		if len(ds) != 1 || ds[0]["endpoint_id"] != aID || ds[0]["event_id"] != evID || ds[0]["attempts"] != 0.0 ||
			ds[0]["next_attempt_at"] == nil || ds[0]["delivered_at"] != nil {
			t.Fatalf("pending deliveries = %s", pending.body)
		}
		first := strconv.Itoa(int(ds[0]["id"].(float64)))
		if got := list(t, c.must(200, "GET", "/v1/webhook_deliveries?endpoint_id="+bID, c.key, "")); len(got) != 0 {
			t.Errorf("deliveries to b, which does not want order.paid: %v", got)
		}

		t.Run("a delivery not yet tried has an empty attempt_list", func(t *testing.T) {
			got := c.must(200, "GET", "/v1/webhook_deliveries/"+first, c.key, "")
			if l, ok := got["attempt_list"].([]any); !ok || len(l) != 0 {
				t.Errorf("attempt_list = %#v, want []: %v", got["attempt_list"], got)
			}
		})

		// Send it once; the endpoint answers 500.
		sender := &fakeSender{status: 500}
		wh := service.NewWebhooks(service.Deps{DB: db, Now: time.Now, Log: slog.New(slog.DiscardHandler), Webhooks: sender})
		if n, err := wh.RunDue(context.Background()); n != 1 || err != nil {
			t.Fatalf("RunDue() = %d, %v; want 1 delivery", n, err)
		}
		req := sender.got[0]
		if err := webhook.Verify(a["secret"].(string), req.Header[webhook.HeaderSignature], req.Body, time.Now(), time.Minute); err != nil {
			t.Errorf("the delivery's signature: %v", err)
		}
		if req.URL != a["url"] || req.Header[webhook.HeaderEventID] != evID || req.Header[webhook.HeaderEventType] != "order.paid" ||
			req.Header[webhook.HeaderDelivery] != first {
			t.Errorf("delivery to %s with headers %v", req.URL, req.Header)
		}
		var sent map[string]any
		if err := json.Unmarshal(req.Body, &sent); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ev, sent); diff != "" {
			t.Errorf("the delivered body differs from GET /v1/events/{id} (-api +delivered):\n%s", diff)
		}
		d := c.must(200, "GET", "/v1/webhook_deliveries/"+first, c.key, "")
		if d["status"] != "pending" || d["attempts"] != 1.0 || d["last_status"] != 500.0 ||
			d["last_error"] != "the endpoint answered HTTP 500" || d["last_body"] != "not now" || d["next_attempt_at"] == nil {
			t.Errorf("after a 500: %v", d)
		}
		if next, _ := time.Parse(time.RFC3339Nano, d["next_attempt_at"].(string)); time.Until(next) < 20*time.Second {
			t.Errorf("next_attempt_at %v is not about 30 s away", d["next_attempt_at"])
		}
		attempts, _ := d["attempt_list"].([]any)
		if len(attempts) != 1 {
			t.Fatalf("attempt_list = %v, want one attempt", d["attempt_list"])
		}
		at := attempts[0].(map[string]any)
		if at["status"] != 500.0 || at["error"] != "the endpoint answered HTTP 500" || at["body"] != "not now" || at["at"] == nil ||
			at["duration_ms"].(float64) < 0 {
			t.Errorf("attempt = %v", at)
		}
		if _, ok := list(t, c.must(200, "GET", "/v1/webhook_deliveries", c.key, ""))[0]["attempt_list"]; ok {
			t.Error("the list shows attempt_list")
		}

		// Re-send: with no body, to every endpoint that wants it (a only);
		// with endpoint_id, to that one, wanted or not.
		resent := c.do("POST", "/v1/events/"+evID+"/resend", c.key, "")
		if resent.status != 201 {
			t.Fatalf("resend = %d %s", resent.status, resent.body)
		}
		webhookGolden(t, "webhook_event_resent", resent.body)
		r := resent.json(t)
		rs := list(t, r)
		if r["url"] != "/v1/events/"+evID+"/resend" || len(rs) != 1 || rs[0]["endpoint_id"] != aID || rs[0]["event_id"] != evID ||
			rs[0]["seq"] != 1.0 || rs[0]["status"] != "pending" || rs[0]["attempts"] != 0.0 || rs[0]["id"] == ds[0]["id"] {
			t.Errorf("resend = %s", resent.body)
		}
		toB := list(t, c.must(201, "POST", "/v1/events/"+evID+"/resend", c.key, `{"endpoint_id":"`+bID+`"}`))
		if len(toB) != 1 || toB[0]["endpoint_id"] != bID {
			t.Errorf("resend to b = %v", toB)
		}

		// Every delivery of the event, newest first, and paged.
		all := list(t, c.must(200, "GET", "/v1/webhook_deliveries?event_id="+evID+"&status=pending", c.key, ""))
		var ids []float64
		for _, x := range all {
			ids = append(ids, x["id"].(float64))
		}
		if want := []float64{toB[0]["id"].(float64), rs[0]["id"].(float64), ds[0]["id"].(float64)}; !cmp.Equal(ids, want) {
			t.Errorf("deliveries of the event = %v, want %v", ids, want)
		}
		page := c.must(200, "GET", "/v1/webhook_deliveries?limit=1", c.key, "")
		if p := list(t, page); len(p) != 1 || p[0]["id"] != ids[0] || page["has_more"] != true {
			t.Errorf("first page = %v", page)
		}
		page = c.must(200, "GET", fmt.Sprintf("/v1/webhook_deliveries?limit=1&starting_after=%d", int(ids[0])), c.key, "")
		if p := list(t, page); len(p) != 1 || p[0]["id"] != ids[1] || page["has_more"] != true {
			t.Errorf("second page = %v", page)
		}
		if got := list(t, c.must(200, "GET", "/v1/webhook_deliveries?endpoint_id="+bID, c.key, "")); len(got) != 1 {
			t.Errorf("deliveries to b = %v", got)
		}

		// With a disabled, nothing wants order.paid; a disabled endpoint
		// cannot be named either.
		c.must(200, "POST", "/v1/webhook_endpoints/"+aID, c.key, `{"disabled":true}`)
		wantError(t, c.do("POST", "/v1/events/"+evID+"/resend", c.key, ""), 409, "wrong_state", "")
		wantError(t, c.do("POST", "/v1/events/"+evID+"/resend", c.key, `{}`), 409, "wrong_state", "")
		wantError(t, c.do("POST", "/v1/events/"+evID+"/resend", c.key, `{"endpoint_id":"`+aID+`"}`), 409, "wrong_state", "")
		if n := len(list(t, c.must(200, "GET", "/v1/webhook_deliveries?event_id="+evID, c.key, ""))); n != 3 {
			t.Errorf("%d deliveries after refused re-sends, want 3", n)
		}
	})
}

// TestEventListCursor pages through events, and refuses a cursor that
// names no event, as the order list does, instead of answering an empty
// last page.
func TestEventListCursor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		c := newClient(t, db)
		oid, buyer := paidOrder(t, c)
		c.must(200, "POST", "/v1/orders/"+oid+"/confirm", buyer, "")
		page := c.must(200, "GET", "/v1/events?order_id="+oid+"&limit=1", c.key, "")
		p := list(t, page)
		if len(p) != 1 || p[0]["type"] != "order.completed" || p[0]["seq"] != 2.0 || page["has_more"] != true {
			t.Fatalf("first page = %v", page)
		}
		page = c.must(200, "GET", "/v1/events?order_id="+oid+"&limit=1&starting_after="+p[0]["id"].(string), c.key, "")
		if p := list(t, page); len(p) != 1 || p[0]["type"] != "order.paid" || p[0]["seq"] != 1.0 || page["has_more"] != false {
			t.Errorf("second page = %v", page)
		}
		wantError(t, c.do("GET", "/v1/events?starting_after=evt_nope", c.key, ""), 400, "invalid", "starting_after")
	})
}
