package service

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Wallets reads wallet balances and statements and makes adjustments.
type Wallets struct{ deps Deps }

// NewWallets returns the wallet use cases.
func NewWallets(d Deps) *Wallets { return &Wallets{deps: d} }

// Wallet is a user's wallet: cash (spendable, from top-ups) and earnings
// (spendable and withdrawable, from sales).
type Wallet struct {
	User     bursar.UserID
	Cash     bursar.Money
	Earnings bursar.Money
	Total    bursar.Money
}

// Get returns a user's wallet.
func (ws *Wallets) Get(ctx context.Context, actor bursar.Actor, user bursar.UserID) (Wallet, error) {
	if !actor.MaySee(user) {
		return Wallet{}, notFound("user", user)
	}
	w := Wallet{User: user}
	err := ws.deps.read(ctx, func(tx store.Tx) error {
		if _, err := tx.UserGet(ctx, user); err != nil {
			return err
		}
		var err error
		if w.Cash, err = balance(ctx, tx, bursar.UserCashAccount(user)); err != nil {
			return err
		}
		w.Earnings, err = balance(ctx, tx, bursar.UserEarningsAccount(user))
		return err
	})
	w.Total = bursar.Money{Amount: w.Cash.Amount + w.Earnings.Amount, Currency: bursar.CNY}
	return w, err
}

func balance(ctx context.Context, tx store.Tx, id bursar.AccountID) (bursar.Money, error) {
	a, err := tx.AccountGet(ctx, id)
	if bursar.ErrorCode(err) == bursar.NotFound {
		return bursar.Money{Currency: bursar.CNY}, nil
	}
	return bursar.Money{Amount: a.Balance, Currency: a.Currency}, err
}

// StatementLine is one movement of a wallet account.
type StatementLine struct {
	Account bursar.AccountID
	store.StatementLine
}

// Statement returns the postings to a user's cash and earnings, newest
// first: at most limit, older than entry before when it is not zero, and
// whether there are more.
func (ws *Wallets) Statement(ctx context.Context, actor bursar.Actor, user bursar.UserID, before bursar.EntryID, limit int) ([]StatementLine, bool, error) {
	if !actor.MaySee(user) {
		return nil, false, notFound("user", user)
	}
	if limit < 1 || limit > 100 {
		return nil, false, bursar.InvalidParam("limit", "A limit is between 1 and 100.")
	}
	var lines []StatementLine
	err := ws.deps.read(ctx, func(tx store.Tx) error {
		if _, err := tx.UserGet(ctx, user); err != nil {
			return err
		}
		for _, acct := range []bursar.AccountID{bursar.UserCashAccount(user), bursar.UserEarningsAccount(user)} {
			ls, err := tx.PostingList(ctx, acct, before, limit+1)
			if err != nil {
				return err
			}
			for _, l := range ls {
				lines = append(lines, StatementLine{Account: acct, StatementLine: l})
			}
		}
		return nil
	})
	// Merge the two accounts' lines, newest first; an entry touching both
	// lists cash before earnings.
	slices.SortStableFunc(lines, func(a, b StatementLine) int { return cmp.Compare(b.Entry, a.Entry) })
	more := len(lines) > limit
	if more {
		// End the page at an entry boundary: the next page starts before
		// the last entry shown, so an entry split across pages would lose
		// its other line.
		n := limit
		for n < len(lines) && lines[n].Entry == lines[n-1].Entry {
			n++
		}
		more = n < len(lines)
		lines = lines[:n]
	}
	return lines, more, err
}

// Adjustment is an admin's credit (positive) or debit (negative) of a
// wallet account, against platform:adjustments.
type Adjustment struct {
	User     bursar.UserID
	Account  bursar.AccountKind // user_cash or user_earnings
	Amount   bursar.Amount
	Reason   string
	Operator string // the person who did it, for the audit log
}

// Adjust posts an adjustment and records it in the audit log, in one
// transaction; platform only. A debit below zero is
// bursar.InsufficientFunds.
func (ws *Wallets) Adjust(ctx context.Context, actor bursar.Actor, a Adjustment) (bursar.PostResult, error) {
	if !actor.MaySee(a.User) {
		return bursar.PostResult{}, notFound("user", a.User)
	}
	if err := platformOnly(actor); err != nil {
		return bursar.PostResult{}, err
	}
	var acct bursar.AccountID
	switch a.Account {
	case bursar.AccountUserCash, "":
		acct = bursar.UserCashAccount(a.User)
	case bursar.AccountUserEarnings:
		acct = bursar.UserEarningsAccount(a.User)
	default:
		return bursar.PostResult{}, bursar.InvalidParam("account", "An adjustment changes \"user_cash\" or \"user_earnings\".")
	}
	switch {
	case a.Amount == 0 || a.Amount > 1_000_000_000 || a.Amount < -1_000_000_000:
		return bursar.PostResult{}, bursar.InvalidParam("amount", "An adjustment is a non-zero amount of at most 1000000000 fen either way.")
	case a.Reason == "" || len(a.Reason) > 500:
		return bursar.PostResult{}, bursar.InvalidParam("reason", "An adjustment needs a reason of at most 500 bytes.")
	case len(a.Operator) > 100:
		return bursar.PostResult{}, bursar.InvalidParam("operator", "An operator name is at most 100 bytes.")
	}
	var res bursar.PostResult
	err := ws.deps.DB.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.UserGet(ctx, a.User); err != nil {
			return err
		}
		now := ws.deps.now()
		id := newID("adj_")
		m := bursar.Money{Amount: a.Amount, Currency: bursar.CNY}
		from, to := bursar.PlatformAdjustments, acct
		if a.Amount < 0 {
			from, to, m.Amount = acct, bursar.PlatformAdjustments, -a.Amount
		}
		var err error
		res, err = tx.EntryPost(ctx, bursar.Entry{Key: "adjust:" + id, Kind: "adjustment", Ref: id, Memo: a.Reason,
			Postings: bursar.Transfer(from, to, m), PostedAt: now})
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("%s %s by %s (operator %q): %s", acct, a.Amount.Yuan(), actor.Credential, a.Operator, a.Reason)
		return audit(ctx, tx, actor, "wallet.adjust", string(acct), detail, now)
	})
	return res, err
}
