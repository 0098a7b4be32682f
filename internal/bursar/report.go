package bursar

import "fmt"

// LedgerCheck names one invariant that `bursar ledger verify` checks.
type LedgerCheck string

// The ledger invariants.
const (
	CheckUnbalancedEntry  LedgerCheck = "unbalanced_entry"  // an entry's postings do not sum to zero in a currency
	CheckShortEntry       LedgerCheck = "short_entry"       // an entry has fewer than two postings
	CheckBalanceMismatch  LedgerCheck = "balance_mismatch"  // a stored balance differs from the sum of its postings
	CheckNegativeBalance  LedgerCheck = "negative_balance"  // an account that may not go negative is below zero
	CheckPolicyMismatch   LedgerCheck = "policy_mismatch"   // an account is stored with rules its name does not allow
	CheckCurrencyMismatch LedgerCheck = "currency_mismatch" // a posting's currency differs from its account's
	CheckNonzeroTotal     LedgerCheck = "nonzero_total"     // all balances of a currency do not sum to zero
)

// LedgerProblem is one broken invariant found by a ledger verification.
type LedgerProblem struct {
	Check   LedgerCheck `json:"check"`
	Subject string      `json:"subject"` // the account, entry key or currency at fault
	Detail  string      `json:"detail"`
}

func (p LedgerProblem) String() string {
	return fmt.Sprintf("%s %s: %s", p.Check, p.Subject, p.Detail)
}

// LedgerReport is the result of verifying every ledger invariant on a database.
type LedgerReport struct {
	Accounts int64           `json:"accounts"`
	Entries  int64           `json:"entries"`
	Postings int64           `json:"postings"`
	Problems []LedgerProblem `json:"problems"`
}

// OK reports whether every invariant holds.
func (r LedgerReport) OK() bool { return len(r.Problems) == 0 }

// CheckAccountPolicy compares how an account is stored with the rules its
// name gives it, and describes the first difference.
func CheckAccountPolicy(id AccountID, mayGoNegative bool, shards, balanceRows int) (LedgerProblem, bool) {
	p := LedgerProblem{Check: CheckPolicyMismatch, Subject: string(id)}
	switch {
	case id.Kind() == "":
		p.Detail = "the name is not a ledger account"
	case mayGoNegative != id.MayGoNegative():
		p.Detail = fmt.Sprintf("stored with may_go_negative=%v, its kind %s says %v", mayGoNegative, id.Kind(), id.MayGoNegative())
	case shards != id.Shards():
		p.Detail = fmt.Sprintf("stored with %d shards, its kind %s has %d; a migration must add the rows", shards, id.Kind(), id.Shards())
	case shards != balanceRows:
		p.Detail = fmt.Sprintf("stored with %d shards but %d balance rows", shards, balanceRows)
	default:
		return p, false
	}
	return p, true
}
