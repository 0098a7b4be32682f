package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// EntryPost implements store.Tx. The entry row goes first so that a replay is
// found before any balance changes.
func (t *tx) EntryPost(ctx context.Context, e bursar.Entry) (bursar.PostResult, error) {
	if err := e.Validate(); err != nil {
		return bursar.PostResult{}, err
	}
	fp := e.Fingerprint()
	const insert = `INSERT INTO entries (key, kind, ref, memo, fingerprint, posted_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING RETURNING id`
	var id int64
	err := t.tx.QueryRow(ctx, insert, e.Key, e.Kind, e.Ref, e.Memo, fp, e.PostedAt).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return t.entryReplay(ctx, e.Key, fp)
	}
	if err != nil {
		return bursar.PostResult{}, translate(fmt.Errorf("insert entry %s: %w", e.Key, err))
	}
	for _, d := range e.Deltas() {
		if err := t.balanceApply(ctx, d, e); err != nil {
			return bursar.PostResult{}, err
		}
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO postings (entry_id, seq, account_id, currency, amount) VALUES `)
	args := make([]any, 0, 5*len(e.Postings))
	for i, p := range e.Postings {
		if i > 0 {
			b.WriteString(", ")
		}
		n := 5 * i
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, id, i, p.Account, p.Currency, p.Amount)
	}
	if _, _, err := t.tx.later(ctx, nil, b.String(), args...); err != nil {
		return bursar.PostResult{}, translate(fmt.Errorf("insert postings of %s: %w", e.Key, err))
	}
	return bursar.PostResult{ID: bursar.EntryID(id)}, nil
}

func (t *tx) entryReplay(ctx context.Context, key, fp string) (bursar.PostResult, error) {
	var id int64
	var stored string
	const q = `SELECT id, fingerprint FROM entries WHERE key = $1`
	if err := t.tx.QueryRow(ctx, q, key).Scan(&id, &stored); err != nil {
		return bursar.PostResult{}, translate(fmt.Errorf("read entry %s: %w", key, err))
	}
	if stored != fp {
		return bursar.PostResult{}, bursar.Errorf(bursar.Conflict,
			"The ledger entry %q was already posted with different postings.", key)
	}
	return bursar.PostResult{ID: bursar.EntryID(id), Replayed: true}, nil
}

// balanceApply adds d to one balance row of its account, creating the account
// the first time it is named.
func (t *tx) balanceApply(ctx context.Context, d bursar.Delta, e bursar.Entry) error {
	if d.Amount < 0 && d.Account.Shards() > 1 && !d.Account.MayGoNegative() {
		return t.balanceTake(ctx, d)
	}
	const q = `UPDATE account_balances SET balance = balance + $1, version = version + 1
		WHERE account_id = $2 AND shard = $3 AND currency = $4 AND (may_go_negative OR balance + $1 >= 0)`
	shard := d.Account.ShardFor(e.Key)
	if t.tx.pipelined {
		return t.balanceQueue(ctx, q, d, e, shard)
	}
	for retried := false; ; retried = true {
		res, err := t.tx.Exec(ctx, q, d.Amount, d.Account, shard, d.Currency)
		if err != nil {
			return translate(fmt.Errorf("update balance of %s: %w", d.Account, err))
		}
		if res.RowsAffected() == 1 {
			return nil
		}
		if !retried && (d.Amount >= 0 || d.Account.MayGoNegative()) {
			// An account named for the first time – every order's escrow
			// is – is created holding the amount. When another transaction
			// created it after the update above looked, the update is
			// retried on its rows.
			if created, err := t.accountCreate(ctx, d.Account, d.Currency, e, shard, d.Amount); err != nil || created {
				return err
			}
			continue
		}
		currency, found, err := t.accountCurrency(ctx, d.Account)
		switch {
		case err != nil:
			return err
		case found && currency != d.Currency:
			return bursar.Errorf(bursar.Invalid, "The account %s holds %s, not %s.", d.Account, currency, d.Currency)
		case retried:
			return insufficient(d.Account)
		case !found:
			if _, err := t.accountCreate(ctx, d.Account, d.Currency, e, shard, 0); err != nil {
				return err
			}
		}
		// Retry once: either this transaction just created the account, or
		// another one committed it after the update above looked, which under
		// READ COMMITTED the next statement sees.
	}
}

// balanceQueue queues the change of one balance row (see pipeline.go): the
// update, or for a credit to an account of one row, which may be new (every
// order's escrow is), an insert of the account that does nothing when it
// exists and an upsert of its row. The update expects to change its row and
// the upsert to insert or change it; when the account is missing, holds too
// little or holds another currency, the transaction runs again unpipelined
// and balanceApply says which.
func (t *tx) balanceQueue(ctx context.Context, update string, d bursar.Delta, e bursar.Entry, shard int) error {
	if d.Amount < 0 || d.Account.Shards() > 1 {
		_, _, err := t.tx.later(ctx, oneRow, update, d.Amount, d.Account, shard, d.Currency)
		return err
	}
	const account = `INSERT INTO accounts (id, currency, may_go_negative, shards, created_at) VALUES ($1, $2, $3, 1, $4)
		ON CONFLICT (id) DO NOTHING`
	if _, _, err := t.tx.later(ctx, nil, account, d.Account, d.Currency, d.Account.MayGoNegative(), e.PostedAt); err != nil {
		return err
	}
	const upsert = `INSERT INTO account_balances (account_id, shard, currency, may_go_negative, balance, version)
		VALUES ($1, 0, $2, $3, $4, 1)
		ON CONFLICT (account_id, shard) DO UPDATE SET balance = account_balances.balance + excluded.balance,
			version = account_balances.version + 1
		WHERE account_balances.currency = excluded.currency`
	_, _, err := t.tx.later(ctx, oneRow, upsert, d.Account, d.Currency, d.Account.MayGoNegative(), d.Amount)
	return err
}

// balanceTake debits a sharded account that may not go negative, taking from
// its rows in order. Each row stays non-negative, so the account does.
func (t *tx) balanceTake(ctx context.Context, d bursar.Delta) error {
	rows, err := t.tx.Query(ctx,
		`SELECT shard, balance FROM account_balances WHERE account_id = $1 AND currency = $2 ORDER BY shard FOR UPDATE`,
		d.Account, d.Currency)
	if err != nil {
		return translate(fmt.Errorf("read balances of %s: %w", d.Account, err))
	}
	takes, err := planTake(rows, -d.Amount)
	if err != nil {
		return translate(fmt.Errorf("read balances of %s: %w", d.Account, err))
	}
	if takes == nil {
		return insufficient(d.Account)
	}
	for shard, amount := range takes {
		const q = `UPDATE account_balances SET balance = balance - $1, version = version + 1 WHERE account_id = $2 AND shard = $3`
		if _, err := t.tx.Exec(ctx, q, amount, d.Account, shard); err != nil {
			return translate(fmt.Errorf("update balance of %s: %w", d.Account, err))
		}
	}
	return nil
}

// planTake reads (shard, balance) rows and returns how much to take from each
// to make up want, or nil when together they hold less.
func planTake(rows pgx.Rows, want bursar.Amount) (map[int]bursar.Amount, error) {
	defer rows.Close()
	takes := map[int]bursar.Amount{}
	for rows.Next() && want > 0 {
		var shard int
		var balance bursar.Amount
		if err := rows.Scan(&shard, &balance); err != nil {
			return nil, err
		}
		if take := min(balance, want); take > 0 {
			takes[shard] = take
			want -= take
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if want > 0 {
		return nil, nil
	}
	return takes, nil
}

func insufficient(a bursar.AccountID) error {
	return bursar.Errorf(bursar.InsufficientFunds, "The account %s has too little money for this.", a)
}

func (t *tx) accountCurrency(ctx context.Context, a bursar.AccountID) (bursar.Currency, bool, error) {
	var c bursar.Currency
	err := t.tx.QueryRow(ctx, `SELECT currency FROM accounts WHERE id = $1`, a).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, translate(fmt.Errorf("read account %s: %w", a, err))
	}
	return c, true, nil
}

// accountCreate creates an account, unless it exists, with its balance rows
// empty but for the given shard, which holds amount. It reports whether it
// created the account. Another transaction may create the same account at
// the same moment: the insert then waits for it and does nothing, and the
// caller's retried update uses its rows.
func (t *tx) accountCreate(ctx context.Context, a bursar.AccountID, c bursar.Currency, e bursar.Entry,
	shard int, amount bursar.Amount) (bool, error) {
	const q = `INSERT INTO accounts (id, currency, may_go_negative, shards, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO NOTHING`
	res, err := t.tx.Exec(ctx, q, a, c, a.MayGoNegative(), a.Shards(), e.PostedAt)
	if err != nil {
		return false, translate(fmt.Errorf("create account %s: %w", a, err))
	}
	if res.RowsAffected() == 0 {
		return false, nil
	}
	const qb = `INSERT INTO account_balances (account_id, shard, currency, may_go_negative, balance, version)
		SELECT $1, s, $2, $3, CASE WHEN s = $4 THEN $5::bigint ELSE 0 END, CASE WHEN s = $4 THEN 1 ELSE 0 END
		FROM generate_series(0, $6::int - 1) AS s`
	if _, err := t.tx.Exec(ctx, qb, a, c, a.MayGoNegative(), shard, amount, a.Shards()); err != nil {
		return false, translate(fmt.Errorf("create balance of %s: %w", a, err))
	}
	return true, nil
}

// EntryGet implements store.Tx.
func (t *tx) EntryGet(ctx context.Context, key string) (bursar.PostedEntry, error) {
	var pe bursar.PostedEntry
	var posted time.Time
	const q = `SELECT id, key, kind, ref, memo, posted_at FROM entries WHERE key = $1`
	err := t.tx.QueryRow(ctx, q, key).Scan(&pe.ID, &pe.Key, &pe.Kind, &pe.Ref, &pe.Memo, &posted)
	if errors.Is(err, pgx.ErrNoRows) {
		return pe, bursar.Errorf(bursar.NotFound, "There is no ledger entry %q.", key)
	}
	if err != nil {
		return pe, translate(fmt.Errorf("read entry %s: %w", key, err))
	}
	pe.PostedAt = posted.UTC()
	rows, err := t.tx.Query(ctx,
		`SELECT account_id, currency, amount FROM postings WHERE entry_id = $1 ORDER BY seq`, pe.ID)
	if err != nil {
		return pe, translate(fmt.Errorf("read postings of %s: %w", key, err))
	}
	defer rows.Close()
	for rows.Next() {
		var p bursar.Posting
		if err := rows.Scan(&p.Account, &p.Currency, &p.Amount); err != nil {
			return pe, fmt.Errorf("read postings of %s: %w", key, err)
		}
		pe.Postings = append(pe.Postings, p)
	}
	return pe, translate(rows.Err())
}

// AccountGet implements store.Tx.
func (t *tx) AccountGet(ctx context.Context, id bursar.AccountID) (bursar.Account, error) {
	var a bursar.Account
	var created time.Time
	const q = `SELECT a.id, a.currency, a.may_go_negative, a.created_at,
		(SELECT sum(balance)::bigint FROM account_balances b WHERE b.account_id = a.id)
		FROM accounts a WHERE a.id = $1`
	err := t.tx.QueryRow(ctx, q, id).Scan(&a.ID, &a.Currency, &a.MayGoNegative, &created, &a.Balance)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, bursar.Errorf(bursar.NotFound, "There is no ledger account %s.", id)
	}
	if err != nil {
		return a, translate(fmt.Errorf("read account %s: %w", id, err))
	}
	a.CreatedAt = created.UTC()
	return a, nil
}

const accountForUpdate = `WITH locked AS (
		SELECT balance FROM account_balances WHERE account_id = $1 ORDER BY shard FOR UPDATE
	)
	SELECT a.id, a.currency, a.may_go_negative, a.created_at, (SELECT sum(balance)::bigint FROM locked)
	FROM accounts a WHERE a.id = $1`

// Prefetch implements store.Tx with the queries of OrderGetForUpdate,
// SecretGetForUpdate and AccountGetForUpdate, sent together.
func (t *tx) Prefetch(ctx context.Context, p store.Prefetch) error {
	var qs []query
	if p.Order != "" {
		qs = append(qs, query{orderForUpdate, []any{p.Order}})
	}
	for _, s := range p.Secrets {
		qs = append(qs, query{secretForUpdate, []any{s.User, s.Kind}})
	}
	for _, a := range p.Accounts {
		qs = append(qs, query{accountForUpdate, []any{a}})
	}
	if err := t.tx.prefetch(ctx, qs); err != nil {
		return translate(fmt.Errorf("prefetch: %w", err))
	}
	return nil
}

// AccountGetForUpdate implements store.Tx. The CTE locks every balance row
// of the account in shard order, the order the writers lock them in, and
// the sum reads them as locked: after waiting for another writer it sums
// the rows that writer left.
func (t *tx) AccountGetForUpdate(ctx context.Context, id bursar.AccountID) (bursar.Account, error) {
	var a bursar.Account
	var created time.Time
	err := t.tx.QueryRow(ctx, accountForUpdate, id).Scan(&a.ID, &a.Currency, &a.MayGoNegative, &created, &a.Balance)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, bursar.Errorf(bursar.NotFound, "There is no ledger account %s.", id)
	}
	if err != nil {
		return a, translate(fmt.Errorf("lock account %s: %w", id, err))
	}
	a.CreatedAt = created.UTC()
	return a, nil
}

// EntryList implements store.Tx. The condition ref <> ” lets PostgreSQL
// use the partial index on ref in a generic plan, where it cannot see the
// bound value; no entry is listed under the empty reference.
func (t *tx) EntryList(ctx context.Context, ref string) ([]bursar.PostedEntry, error) {
	const q = `SELECT id, key, kind, ref, memo, posted_at FROM entries WHERE ref = $1 AND ref <> '' ORDER BY id`
	rows, err := t.tx.Query(ctx, q, ref)
	if err != nil {
		return nil, translate(fmt.Errorf("list entries of %s: %w", ref, err))
	}
	defer rows.Close() // already closed once Next runs out, so before the postings query below
	var list []bursar.PostedEntry
	index := map[bursar.EntryID]int{}
	for rows.Next() {
		var pe bursar.PostedEntry
		if err := rows.Scan(&pe.ID, &pe.Key, &pe.Kind, &pe.Ref, &pe.Memo, &pe.PostedAt); err != nil {
			return nil, fmt.Errorf("list entries of %s: %w", ref, err)
		}
		pe.PostedAt = pe.PostedAt.UTC()
		index[pe.ID] = len(list)
		list = append(list, pe)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(fmt.Errorf("list entries of %s: %w", ref, err))
	}
	if len(list) == 0 {
		return nil, nil
	}
	const pq = `SELECT p.entry_id, p.account_id, p.currency, p.amount
		FROM postings p JOIN entries e ON e.id = p.entry_id
		WHERE e.ref = $1 AND e.ref <> '' ORDER BY p.entry_id, p.seq`
	prows, err := t.tx.Query(ctx, pq, ref)
	if err != nil {
		return nil, translate(fmt.Errorf("list postings of %s: %w", ref, err))
	}
	defer prows.Close()
	for prows.Next() {
		var id bursar.EntryID
		var p bursar.Posting
		if err := prows.Scan(&id, &p.Account, &p.Currency, &p.Amount); err != nil {
			return nil, fmt.Errorf("list postings of %s: %w", ref, err)
		}
		if i, ok := index[id]; ok {
			list[i].Postings = append(list[i].Postings, p)
		}
	}
	return list, translate(prows.Err())
}

// PostingList implements store.Tx. No beforeEntry becomes the largest ID,
// so one statement, and one plan, serves the first page and the next.
func (t *tx) PostingList(ctx context.Context, account bursar.AccountID, beforeEntry bursar.EntryID, limit int) ([]store.StatementLine, error) {
	if limit < 1 {
		return nil, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	if beforeEntry <= 0 {
		beforeEntry = math.MaxInt64
	}
	const q = `SELECT e.id, e.key, e.kind, e.ref, e.memo, p.amount, p.currency, e.posted_at
		FROM postings p JOIN entries e ON e.id = p.entry_id
		WHERE p.account_id = $1 AND p.entry_id < $2
		ORDER BY p.entry_id DESC, p.seq LIMIT $3`
	rows, err := t.tx.Query(ctx, q, account, beforeEntry, limit)
	if err != nil {
		return nil, translate(fmt.Errorf("list postings of %s: %w", account, err))
	}
	defer rows.Close()
	var lines []store.StatementLine
	for rows.Next() {
		var l store.StatementLine
		if err := rows.Scan(&l.Entry, &l.Key, &l.Kind, &l.Ref, &l.Memo, &l.Amount, &l.Currency, &l.PostedAt); err != nil {
			return nil, fmt.Errorf("list postings of %s: %w", account, err)
		}
		l.PostedAt = l.PostedAt.UTC()
		lines = append(lines, l)
	}
	return lines, translate(rows.Err())
}
