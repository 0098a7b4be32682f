package api_test

import (
	"fmt"
	"testing"

	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestWalletPurchaseFlow walks a purchase through the v1 API: a funded
// buyer buys a session, pays from the wallet and confirms; the seller is
// paid less the commission. Each response is checked against a golden file.
func TestWalletPurchaseFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		c := newClient(t, db)
		buyer := c.user("buyer")
		seller := c.user("seller")

		adj := c.do("POST", "/v1/users/buyer/wallet/adjustments", c.key,
			`{"account":"user_cash","amount":1500,"reason":"welcome credit","operator":"alice"}`)
		golden(t, "adjustment", adj.body)
		c.must(201, "POST", "/v1/users/buyer/wallet/adjustments", c.key, `{"account":"user_earnings","amount":1000,"reason":"refund of an old sale"}`)

		item := c.must(201, "POST", "/v1/items", seller,
			`{"seller_id":"seller","kind":"session","title":"24 h chat","price":1990,"duration_seconds":86400}`)
		order := c.do("POST", "/v1/orders", buyer, fmt.Sprintf(`{"buyer_id":"buyer","item_id":%q,"metadata":{"chat_id":"room_1"}}`, item["id"]))
		if order.status != 201 {
			t.Fatalf("create order = %d %s", order.status, order.body)
		}
		golden(t, "order_created", order.body)
		id := order.json(t)["id"].(string)

		paid := c.do("POST", "/v1/orders/"+id+"/pay", buyer, `{"method":"wallet","payment_password":"246810"}`)
		if paid.status != 200 {
			t.Fatalf("pay = %d %s", paid.status, paid.body)
		}
		golden(t, "order_paid", paid.body)
		golden(t, "wallet_after_pay", c.do("GET", "/v1/users/buyer/wallet", buyer, "").body)

		done := c.do("POST", "/v1/orders/"+id+"/confirm", buyer, "")
		if done.status != 200 {
			t.Fatalf("confirm = %d %s", done.status, done.body)
		}
		golden(t, "order_confirmed", done.body)
		golden(t, "order_with_entries", c.do("GET", "/v1/orders/"+id+"?expand=entries", seller, "").body)
		w := c.must(200, "GET", "/v1/users/seller/wallet", seller, "")
		if w["earnings"].(float64) != 1990-199 {
			t.Errorf("seller earnings = %v, want %d", w["earnings"], 1990-199)
		}
		golden(t, "buyer_statement", c.do("GET", "/v1/users/buyer/wallet/statement", buyer, "").body)
		golden(t, "seller_sold_orders", c.do("GET", "/v1/orders?role=seller", seller, "").body)
	})
}
