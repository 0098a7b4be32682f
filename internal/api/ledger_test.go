package api_test

import (
	"testing"

	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestLedgerVerification verifies the ledger after a wallet payment: the
// platform sees every invariant hold; a user may not ask.
func TestLedgerVerification(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		c := newClient(t, db)
		empty := c.must(200, "GET", "/v1/ledger/verification", c.key, "")
		if empty["ok"] != true || empty["entries"] != 0.0 {
			t.Errorf("an empty ledger: %v", empty)
		}
		_, buyer := paidOrder(t, c)
		r := c.do("GET", "/v1/ledger/verification", c.key, "")
		if r.status != 200 {
			t.Fatalf("GET /v1/ledger/verification = %d %s", r.status, r.body)
		}
		golden(t, "ledger_verification", r.body)
		wantError(t, c.do("GET", "/v1/ledger/verification", buyer, ""), 403, "forbidden", "")
	})
}
