package api_test

import (
	"fmt"
	"strings"
	"testing"

	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestErrors checks that bad requests get the one error object with a
// stable code, the right status and a message a person understands.
func TestErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		c := newClient(t, db)
		buyer := c.user("buyer")
		c.user("seller")
		item := c.must(201, "POST", "/v1/items", c.key, `{"seller_id":"seller","kind":"course","title":"Go","price":100}`)
		order := c.must(201, "POST", "/v1/orders", buyer, fmt.Sprintf(`{"buyer_id":"buyer","item_id":%q}`, item["id"]))
		pay := "/v1/orders/" + order["id"].(string) + "/pay"

		tests := []struct {
			name, method, path, token, body string
			status                          int
			code, param                     string
		}{
			{"no credential", "GET", "/v1/users/buyer", "", "", 401, "unauthenticated", ""},
			{"a made-up token", "GET", "/v1/users/buyer", "ut_NOPE", "", 401, "unauthenticated", ""},
			{"not JSON", "POST", "/v1/orders", buyer, `{"buyer_id":`, 400, "invalid", ""},
			{"an unknown field", "POST", "/v1/orders", buyer, `{"buyer":"buyer"}`, 400, "invalid", "buyer"},
			{"a float amount", "POST", "/v1/orders", c.key, `{"buyer_id":"buyer","seller_id":"seller","amount":19.9}`, 400, "invalid", ""},
			{"a string amount", "POST", "/v1/items", c.key, `{"seller_id":"seller","kind":"course","title":"x","price":"1"}`, 400, "invalid", ""},
			{"a negative price", "POST", "/v1/items", c.key, `{"seller_id":"seller","kind":"course","title":"x","price":-1}`, 400, "invalid", "price"},
			{"a huge hold", "POST", "/v1/items", c.key, `{"seller_id":"seller","kind":"course","title":"x","hold_seconds":9223372036854775807}`, 400, "invalid", "hold_seconds"},
			{"two JSON values", "POST", "/v1/orders", buyer, `{} {}`, 400, "invalid", ""},
			{"an empty body", "POST", pay, buyer, ``, 400, "invalid", ""},
			{"a missing order", "GET", "/v1/orders/ord_nope", buyer, "", 404, "not_found", ""},
			{"a wrong payment password", "POST", pay, buyer, `{"method":"wallet","payment_password":"000000"}`, 403, "forbidden", "payment_password"},
			{"too little money", "POST", pay, buyer, `{"method":"wallet","payment_password":"246810"}`, 402, "insufficient_funds", ""},
			{"an unknown method", "POST", pay, buyer, `{"method":"cash"}`, 400, "invalid", "method"},
			{"a user creating users", "POST", "/v1/users", buyer, `{"id":"x"}`, 403, "forbidden", ""},
			{"a bad list limit", "GET", "/v1/orders?limit=500", buyer, "", 400, "invalid", ""},
			{"a bad time filter", "GET", "/v1/orders?created_gte=yesterday", buyer, "", 400, "invalid", "created_gte"},
			{"an oversized body", "POST", "/v1/orders", buyer, `{"subject":"` + strings.Repeat("x", 2<<20) + `"}`, 400, "invalid", ""},
			{"a path the API does not have", "GET", "/v1/nope", buyer, "", 404, "not_found", ""},
			{"an empty ID", "GET", "/v1/users/", c.key, "", 404, "not_found", ""},
			{"a method the path does not take", "DELETE", "/v1/users/buyer", c.key, "", 404, "not_found", ""},
			{"a GET of a POST route", "GET", pay, buyer, "", 404, "not_found", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.do(tt.method, tt.path, tt.token, tt.body)
				if r.status != tt.status {
					t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
				}
				e, ok := r.json(t)["error"].(map[string]any)
				if !ok {
					t.Fatalf("no error object: %s", r.body)
				}
				if e["code"] != tt.code || (tt.param != "" && e["param"] != tt.param) {
					t.Errorf("code %v param %v, want %s %s: %s", e["code"], e["param"], tt.code, tt.param, r.body)
				}
				msg, _ := e["message"].(string)
				if len(msg) < 10 || strings.Contains(strings.ToLower(msg), "sql") {
					t.Errorf("message %q is not one a person understands", msg)
				}
				if e["request_id"] == "" || e["request_id"] != r.header.Get("Request-Id") {
					t.Errorf("request_id %v, header %q", e["request_id"], r.header.Get("Request-Id"))
				}
			})
		}
		golden(t, "error_insufficient_funds", c.do("POST", pay, buyer, `{"method":"wallet","payment_password":"246810"}`).body)
		r := c.do("GET", "/v1/users/buyer", buyer, "", "X-Request-Id", "trace-42")
		if r.header.Get("Request-Id") != "trace-42" {
			t.Errorf("Request-Id = %q, want the client's trace-42", r.header.Get("Request-Id"))
		}
	})
}

func TestIdempotencyKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		c := newClient(t, db)
		c.user("buyer")
		body := `{"account":"user_cash","amount":500,"reason":"bonus"}`
		first := c.do("POST", "/v1/users/buyer/wallet/adjustments", c.key, body, "Idempotency-Key", "k1")
		again := c.do("POST", "/v1/users/buyer/wallet/adjustments", c.key, body, "Idempotency-Key", "k1")
		if first.status != 201 || again.status != 201 || string(first.body) != string(again.body) {
			t.Fatalf("replay: %d %s, then %d %s", first.status, first.body, again.status, again.body)
		}
		if again.header.Get("Idempotent-Replayed") != "true" {
			t.Error("the replay is not marked Idempotent-Replayed")
		}
		w := c.must(200, "GET", "/v1/users/buyer/wallet", c.key, "")
		if w["cash"].(float64) != 500 {
			t.Errorf("cash = %v after one adjustment sent twice, want 500", w["cash"])
		}
		other := c.do("POST", "/v1/users/buyer/wallet/adjustments", c.key, `{"account":"user_cash","amount":600,"reason":"bonus"}`, "Idempotency-Key", "k1")
		if e := other.json(t)["error"].(map[string]any); other.status != 409 || e["type"] != "idempotency_error" {
			t.Errorf("the key with another body: %d %s, want 409 idempotency_error", other.status, other.body)
		}
		// A refused request leaves no trace: fixed, it goes through under the same key.
		bad := c.do("POST", "/v1/users/buyer/wallet/adjustments", c.key, `{"account":"user_cash","amount":500}`, "Idempotency-Key", "k2")
		if bad.status != 400 {
			t.Fatalf("no reason: %d %s", bad.status, bad.body)
		}
		good := c.do("POST", "/v1/users/buyer/wallet/adjustments", c.key, `{"account":"user_cash","amount":500,"reason":"fixed"}`, "Idempotency-Key", "k2")
		if good.status != 201 {
			t.Errorf("fixed request under the same key: %d %s", good.status, good.body)
		}
	})
}
