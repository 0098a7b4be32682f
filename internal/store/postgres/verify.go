package postgres

import (
	"context"
	"fmt"

	"bursar.dev/bursar/internal/bursar"
)

// LedgerVerify implements store.Tx. Each check is one query that returns the
// rows breaking an invariant as (subject, detail).
func (t *tx) LedgerVerify(ctx context.Context) (bursar.LedgerReport, error) {
	var r bursar.LedgerReport
	const counts = `SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM entries), (SELECT count(*) FROM postings)`
	if err := t.tx.QueryRow(ctx, counts).Scan(&r.Accounts, &r.Entries, &r.Postings); err != nil {
		return r, translate(fmt.Errorf("count ledger rows: %w", err))
	}
	checks := []struct {
		check bursar.LedgerCheck
		query string
	}{
		{bursar.CheckUnbalancedEntry, `
			SELECT e.key, p.currency || ' postings sum to ' || sum(p.amount)
			FROM entries e JOIN postings p ON p.entry_id = e.id
			GROUP BY e.id, e.key, p.currency HAVING sum(p.amount) <> 0 ORDER BY e.id`},
		{bursar.CheckShortEntry, `
			SELECT e.key, count(p.seq) || ' postings'
			FROM entries e LEFT JOIN postings p ON p.entry_id = e.id
			GROUP BY e.id, e.key HAVING count(p.seq) < 2 ORDER BY e.id`},
		{bursar.CheckBalanceMismatch, `
			SELECT a.id, 'stored balance ' || coalesce(b.total, 0) || ' but postings sum to ' || coalesce(p.total, 0)
			FROM accounts a
			LEFT JOIN (SELECT account_id, sum(balance) AS total FROM account_balances GROUP BY account_id) b ON b.account_id = a.id
			LEFT JOIN (SELECT account_id, sum(amount) AS total FROM postings GROUP BY account_id) p ON p.account_id = a.id
			WHERE coalesce(b.total, 0) <> coalesce(p.total, 0) ORDER BY a.id`},
		{bursar.CheckNegativeBalance, `
			SELECT b.account_id, 'balance row ' || b.shard || ' is ' || b.balance
			FROM account_balances b JOIN accounts a ON a.id = b.account_id
			WHERE b.balance < 0 AND NOT (a.may_go_negative AND b.may_go_negative) ORDER BY b.account_id, b.shard`},
		{bursar.CheckCurrencyMismatch, `
			SELECT e.key, 'posting ' || p.seq || ' to ' || a.id || ' is in ' || p.currency || ', the account in ' || a.currency
			FROM postings p JOIN accounts a ON a.id = p.account_id JOIN entries e ON e.id = p.entry_id
			WHERE p.currency <> a.currency
			UNION ALL
			SELECT b.account_id, 'balance row ' || b.shard || ' is in ' || b.currency || ', the account in ' || a.currency
			FROM account_balances b JOIN accounts a ON a.id = b.account_id
			WHERE b.currency <> a.currency`},
		{bursar.CheckNonzeroTotal, `
			SELECT currency, 'all balances sum to ' || sum(balance)
			FROM account_balances GROUP BY currency HAVING sum(balance) <> 0 ORDER BY currency`},
	}
	for _, c := range checks {
		problems, err := t.problems(ctx, c.check, c.query)
		if err != nil {
			return r, err
		}
		r.Problems = append(r.Problems, problems...)
	}
	return r, t.verifyPolicies(ctx, &r)
}

// problems runs one check's query and returns its rows as problems.
func (t *tx) problems(ctx context.Context, check bursar.LedgerCheck, query string) ([]bursar.LedgerProblem, error) {
	rows, err := t.tx.Query(ctx, query)
	if err != nil {
		return nil, translate(fmt.Errorf("check %s: %w", check, err))
	}
	defer rows.Close()
	var ps []bursar.LedgerProblem
	for rows.Next() {
		p := bursar.LedgerProblem{Check: check}
		if err := rows.Scan(&p.Subject, &p.Detail); err != nil {
			return nil, fmt.Errorf("check %s: %w", check, err)
		}
		ps = append(ps, p)
	}
	return ps, translate(rows.Err())
}

// verifyPolicies checks each account's stored rules against the rules its
// name gives it, in Go, so the rules are written only once (in bursar).
func (t *tx) verifyPolicies(ctx context.Context, r *bursar.LedgerReport) error {
	const q = `SELECT a.id, a.may_go_negative, a.shards, (SELECT count(*) FROM account_balances b WHERE b.account_id = a.id)
		FROM accounts a ORDER BY a.id`
	rows, err := t.tx.Query(ctx, q)
	if err != nil {
		return translate(fmt.Errorf("check %s: %w", bursar.CheckPolicyMismatch, err))
	}
	defer rows.Close()
	for rows.Next() {
		var id bursar.AccountID
		var mayGoNegative bool
		var shards, balanceRows int
		if err := rows.Scan(&id, &mayGoNegative, &shards, &balanceRows); err != nil {
			return fmt.Errorf("check %s: %w", bursar.CheckPolicyMismatch, err)
		}
		if p, bad := bursar.CheckAccountPolicy(id, mayGoNegative, shards, balanceRows); bad {
			r.Problems = append(r.Problems, p)
		}
	}
	return translate(rows.Err())
}
