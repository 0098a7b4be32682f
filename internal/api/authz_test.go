package api_test

import (
	"fmt"
	"strings"
	"testing"

	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestAnotherUsersObjects walks every route with another user's token. Routes
// that name an object answer 404, exactly as for an object that does not
// exist; the others refuse without showing the victim's data. None answers
// with a 500. A route added without a line here fails the test.
func TestAnotherUsersObjects(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		c := newClient(t, db)
		victim := c.user("victim")
		c.user("seller")
		mallory := c.user("mallory")
		c.must(201, "POST", "/v1/users/victim/wallet/adjustments", c.key, `{"amount":10000,"reason":"funds"}`)
		item := c.must(201, "POST", "/v1/items", c.key, `{"seller_id":"seller","kind":"course","title":"Go","price":100}`)
		order := c.must(201, "POST", "/v1/orders", victim, fmt.Sprintf(`{"buyer_id":"victim","item_id":%q}`, item["id"]))
		oid := order["id"].(string)
		// A paid order of the victim's with a refund request waiting.
		paid := c.must(201, "POST", "/v1/orders", victim, fmt.Sprintf(`{"buyer_id":"victim","item_id":%q}`,
			c.must(201, "POST", "/v1/items", c.key, `{"seller_id":"seller","kind":"session","title":"Chat","price":100,"duration_seconds":60}`)["id"]))
		c.must(200, "POST", "/v1/orders/"+paid["id"].(string)+"/pay", victim, `{"method":"wallet","payment_password":"246810"}`)
		rid := c.must(201, "POST", "/v1/orders/"+paid["id"].(string)+"/refunds", victim, `{"reason":"changed my mind"}`)["id"].(string)

		type call struct{ method, path, body string }
		walk := map[string]call{
			"GET /v1/users/{id}":                     {"GET", "/v1/users/victim", ""},
			"POST /v1/users/{id}":                    {"POST", "/v1/users/victim", `{"display_name":"pwned"}`},
			"POST /v1/users/{id}/password":           {"POST", "/v1/users/victim/password", `{"kind":"payment","old_password":"246810","new_password":"111111"}`},
			"POST /v1/users/{id}/password/verify":    {"POST", "/v1/users/victim/password/verify", `{"kind":"payment","password":"246810"}`},
			"POST /v1/users/{id}/tokens":             {"POST", "/v1/users/victim/tokens", `{}`},
			"GET /v1/users/{id}/wallet":              {"GET", "/v1/users/victim/wallet", ""},
			"GET /v1/users/{id}/wallet/statement":    {"GET", "/v1/users/victim/wallet/statement", ""},
			"POST /v1/users/{id}/wallet/adjustments": {"POST", "/v1/users/victim/wallet/adjustments", `{"amount":-100,"reason":"x"}`},
			"GET /v1/orders/{id}":                    {"GET", "/v1/orders/" + oid, ""},
			"POST /v1/orders/{id}/pay":               {"POST", "/v1/orders/" + oid + "/pay", `{"method":"wallet","payment_password":"246810"}`},
			"POST /v1/orders/{id}/confirm":           {"POST", "/v1/orders/" + oid + "/confirm", ""},
			"POST /v1/tokens/revoke":                 {"POST", "/v1/tokens/revoke", `{"token":"` + victim + `"}`},
			"POST /v1/orders/{id}/refunds":           {"POST", "/v1/orders/" + oid + "/refunds", `{"reason":"x"}`},
			"GET /v1/orders/{id}/refunds":            {"GET", "/v1/orders/" + oid + "/refunds", ""},
			"POST /v1/orders/{id}/review":            {"POST", "/v1/orders/" + oid + "/review", `{"score":1,"comment":"x"}`},
			"GET /v1/refunds/{id}":                   {"GET", "/v1/refunds/" + rid, ""},
			"POST /v1/refunds/{id}/approve":          {"POST", "/v1/refunds/" + rid + "/approve", `{}`},
			"POST /v1/refunds/{id}/reject":           {"POST", "/v1/refunds/" + rid + "/reject", `{"reason":"no"}`},
			"GET /v1/entitlements":                   {"GET", "/v1/entitlements?user_id=victim&item_id=" + item["id"].(string), ""},
			"GET /v1/users/{id}/reviews":             {}, // reviews are public
			"GET /v1/users/{id}/rating":              {}, // ratings are public
			"GET /openapi.json":                      {}, // public
			"GET /docs":                              {}, // public
			"GET /v1/items/{id}":                     {}, // the catalogue is public to every credential
			"POST /v1/items":                         {"POST", "/v1/items", `{"seller_id":"victim","kind":"course","title":"x"}`},
			"POST /v1/orders":                        {"POST", "/v1/orders", fmt.Sprintf(`{"buyer_id":"victim","item_id":%q}`, item["id"])},
			"GET /v1/orders":                         {"GET", "/v1/orders?role=buyer&user_id=victim", ""},
			"POST /v1/users":                         {"POST", "/v1/users", `{"id":"mallory2"}`},
			"GET /v1/orders/{id}/payments":           {"GET", "/v1/orders/" + oid + "/payments", ""},
			"POST /v1/orders/{id}/sync":              {"POST", "/v1/orders/" + oid + "/sync", ""},
			"POST /v1/topups":                        {"POST", "/v1/topups", `{"user_id":"victim","amount":100,"method":"alipay_qr"}`},
			"POST /v1/withdrawals":                   {"POST", "/v1/withdrawals", `{"user_id":"victim","amount":100,"account":"v@example.com","name":"V","payment_password":"246810"}`},
			"POST /v1/withdrawals/{id}/approve":      {"POST", "/v1/withdrawals/" + oid + "/approve", `{}`},
			"POST /v1/withdrawals/{id}/reject":       {"POST", "/v1/withdrawals/" + oid + "/reject", `{"reason":"no"}`},
			"POST /v1/notify/{channel}":              {}, // public: verified by the channel's signature
			"POST /v1/login":                         {}, // public
			"GET /healthz":                           {}, // public
			"GET /readyz":                            {}, // public
			// The platform's alone: TestWebhookRoutesPlatformOnly checks a
			// user token gets 403 on each.
			"POST /v1/webhook_endpoints":                    {},
			"GET /v1/webhook_endpoints":                     {},
			"GET /v1/webhook_endpoints/{id}":                {},
			"POST /v1/webhook_endpoints/{id}":               {},
			"POST /v1/webhook_endpoints/{id}/rotate_secret": {},
			"GET /v1/events":                                {},
			"GET /v1/events/{id}":                           {},
			"POST /v1/events/{id}/resend":                   {},
			"GET /v1/webhook_deliveries":                    {},
			"GET /v1/webhook_deliveries/{id}":               {},

			// Reconciliation is the platform's alone.
			"GET /v1/reconciliations":                         {"GET", "/v1/reconciliations", ""},
			"POST /v1/reconciliations":                        {"POST", "/v1/reconciliations", `{"channel":"alipay","date":"2026-11-21"}`},
			"GET /v1/reconciliations/{id}":                    {"GET", "/v1/reconciliations/rcn_x", ""},
			"GET /v1/reconciliation_exceptions":               {"GET", "/v1/reconciliation_exceptions?status=open", ""},
			"POST /v1/reconciliation_exceptions/{id}/resolve": {"POST", "/v1/reconciliation_exceptions/rex_x/resolve", `{"action":"accept","note":"x"}`},
			// So is the ledger: its report names every account.
			"GET /v1/ledger/verification": {"GET", "/v1/ledger/verification", ""},
		}
		for _, route := range c.server.Routes() {
			if _, ok := walk[route]; !ok {
				t.Errorf("route %s is not in the authorization walk", route)
			}
		}
		for route, call := range walk {
			if call.method == "" {
				continue
			}
			r := c.do(call.method, call.path, mallory, call.body)
			switch {
			case r.status >= 500:
				t.Errorf("%s: %d %s", route, r.status, r.body)
			case strings.Contains(route, "{id}") && r.status != 404:
				t.Errorf("%s with another user's token: %d %s, want 404", route, r.status, r.body)
			case r.status < 300 && strings.Contains(string(r.body), `"victim"`) && route != "GET /v1/orders":
				t.Errorf("%s showed the victim's data: %s", route, r.body)
			case route == "GET /v1/orders" && strings.Contains(string(r.body), oid):
				t.Errorf("the order list showed the victim's order: %s", r.body)
			}
		}
		// Nothing changed for the victim.
		w := c.must(200, "GET", "/v1/users/victim/wallet", victim, "")
		if w["cash"].(float64) != 10000-100 {
			t.Errorf("the victim's cash = %v, want 9900", w["cash"])
		}
		if r := c.must(200, "GET", "/v1/refunds/"+rid, victim, ""); r["status"] != "requested" {
			t.Errorf("the victim's refund is %v, want requested", r["status"])
		}
		o := c.must(200, "GET", "/v1/orders/"+oid, victim, "")
		if o["status"] != "pending" {
			t.Errorf("the victim's order is %v, want pending", o["status"])
		}
		u := c.must(200, "GET", "/v1/users/victim", victim, "")
		if u["display_name"] != "victim" {
			t.Errorf("the victim's name is %v", u["display_name"])
		}
	})
}
