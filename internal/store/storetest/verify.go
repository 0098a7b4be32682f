package storetest

import (
	"slices"
	"testing"

	"bursar.dev/bursar/internal/bursar"
)

// testVerify breaks each invariant by hand with raw SQL and checks that the
// verification reports exactly the checks that broke.
func testVerify(t *testing.T, h Harness) {
	tests := []struct {
		name    string
		corrupt []string
		want    []bursar.LedgerCheck
	}{
		{"a clean ledger passes", nil, nil},
		{"a balance changed without a posting", []string{
			`UPDATE account_balances SET balance = balance + 1 WHERE account_id = 'user:alice:cash'`,
		}, []bursar.LedgerCheck{bursar.CheckBalanceMismatch, bursar.CheckNonzeroTotal}},
		{"a posting changed without its balance", []string{
			`UPDATE postings SET amount = amount + 1 WHERE account_id = 'user:alice:cash'`,
		}, []bursar.LedgerCheck{bursar.CheckUnbalancedEntry, bursar.CheckBalanceMismatch}},
		{"a posting lost", []string{
			`DELETE FROM postings WHERE account_id = 'user:alice:cash'`,
		}, []bursar.LedgerCheck{bursar.CheckUnbalancedEntry, bursar.CheckShortEntry, bursar.CheckBalanceMismatch}},
		{"a wallet below zero", []string{
			`UPDATE account_balances SET may_go_negative = TRUE WHERE account_id = 'user:alice:cash'`,
			`UPDATE account_balances SET balance = -1 WHERE account_id = 'user:alice:cash'`,
			`UPDATE account_balances SET balance = balance + 101 WHERE account_id = 'platform:adjustments'`,
			`UPDATE postings SET amount = -1 WHERE account_id = 'user:alice:cash'`,
			`UPDATE postings SET amount = 1 WHERE account_id = 'platform:adjustments'`,
		}, []bursar.LedgerCheck{bursar.CheckNegativeBalance}},
		{"a wallet stored as allowed to go negative", []string{
			`UPDATE accounts SET may_go_negative = TRUE WHERE id = 'user:alice:cash'`,
		}, []bursar.LedgerCheck{bursar.CheckPolicyMismatch}},
		{"a hot account missing a balance row", []string{
			`DELETE FROM account_balances WHERE account_id = 'channel:alipay' AND shard =
				(SELECT max(shard) FROM account_balances WHERE account_id = 'channel:alipay' AND balance = 0)`,
			`UPDATE accounts SET shards = 15 WHERE id = 'channel:alipay'`,
		}, []bursar.LedgerCheck{bursar.CheckPolicyMismatch}},
		{"a posting in the wrong currency", []string{
			`UPDATE postings SET currency = 'USD' WHERE account_id = 'user:alice:cash'`,
		}, []bursar.LedgerCheck{bursar.CheckUnbalancedEntry, bursar.CheckCurrencyMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			fund(t, db, alice, 100)
			mustPost(t, db, transfer("topup", alipay, bob, 7))
			for _, q := range tt.corrupt {
				h.Exec(t, db, q)
			}
			r := verify(t, db)
			var got []bursar.LedgerCheck
			for _, p := range r.Problems {
				if !slices.Contains(got, p.Check) {
					got = append(got, p.Check)
				}
				if p.Subject == "" || p.Detail == "" {
					t.Errorf("problem %+v does not say what and where", p)
				}
			}
			slices.Sort(got)
			slices.Sort(tt.want)
			if !slices.Equal(got, tt.want) {
				t.Errorf("checks that failed = %v, want %v; problems: %v", got, tt.want, r.Problems)
			}
			if r.Accounts != 4 || r.Entries != 2 {
				t.Errorf("counted %d accounts and %d entries, want 4 and 2", r.Accounts, r.Entries)
			}
		})
	}
}
