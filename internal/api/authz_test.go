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
			"GET /v1/items/{id}":                     {}, // the catalogue is public to every credential
			"POST /v1/items":                         {"POST", "/v1/items", `{"seller_id":"victim","kind":"course","title":"x"}`},
			"POST /v1/orders":                        {"POST", "/v1/orders", fmt.Sprintf(`{"buyer_id":"victim","item_id":%q}`, item["id"])},
			"GET /v1/orders":                         {"GET", "/v1/orders?role=buyer&user_id=victim", ""},
			"POST /v1/users":                         {"POST", "/v1/users", `{"id":"mallory2"}`},
			"POST /v1/login":                         {}, // public
			"GET /healthz":                           {}, // public
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
		if w["cash"].(float64) != 10000 {
			t.Errorf("the victim's cash = %v, want 10000", w["cash"])
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
