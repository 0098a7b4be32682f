package bursar

import (
	"hash/fnv"
	"strings"
	"time"
)

// AccountID names a ledger account. The name says what the account is, and the
// kind decides the rules it lives by (see AccountKind):
//
//	user:{user}:cash       spendable wallet money that cannot be withdrawn (top-ups)
//	user:{user}:earnings   withdrawable money (released sales)
//	escrow:{order}         money held for one paid purchase; zero once settled
//	channel:{alipay,wechat} money at the channel, the outside world; goes negative
//	payout:pending         withdrawals in flight
//	platform:fees          commission taken at release
//	platform:adjustments   admin credits and debits; goes negative
type AccountID string

// AccountKind is the family an account belongs to.
type AccountKind string

// The account kinds.
const (
	AccountUserCash            AccountKind = "user_cash"
	AccountUserEarnings        AccountKind = "user_earnings"
	AccountEscrow              AccountKind = "escrow"
	AccountChannel             AccountKind = "channel"
	AccountPayoutPending       AccountKind = "payout_pending"
	AccountPlatformFees        AccountKind = "platform_fees"
	AccountPlatformAdjustments AccountKind = "platform_adjustments"
)

// The platform's own accounts.
const (
	PayoutPending       AccountID = "payout:pending"
	PlatformFees        AccountID = "platform:fees"
	PlatformAdjustments AccountID = "platform:adjustments"
)

// HotAccountShards is how many balance rows a hot account spreads over. Every
// channel payment touches its channel account and every release touches
// platform:fees; with one row each, all payments would queue on one row lock.
// With n rows a posting updates one of them, chosen from its entry key, and the
// account's balance is their sum.
const HotAccountShards = 16

// UserCashAccount is the user's spendable, non-withdrawable wallet money.
func UserCashAccount(u UserID) AccountID { return AccountID("user:" + string(u) + ":cash") }

// UserEarningsAccount is the user's withdrawable money.
func UserEarningsAccount(u UserID) AccountID { return AccountID("user:" + string(u) + ":earnings") }

// EscrowAccount holds the money of one paid purchase until it is released or refunded.
func EscrowAccount(o OrderID) AccountID { return AccountID("escrow:" + string(o)) }

// DuplicateEscrowAccount holds a channel payment that arrived for an order
// already paid another way, until the channel has returned it to the payer.
func DuplicateEscrowAccount(o OrderID, c Channel) AccountID {
	return AccountID("escrow:" + string(o) + "-" + string(c))
}

// ChannelAccount is the money at an outside channel (alipay or wechat).
func ChannelAccount(c Channel) AccountID { return AccountID("channel:" + string(c)) }

// Kind returns the account's kind, or "" when id is not a valid account name.
func (id AccountID) Kind() AccountKind {
	switch s := string(id); {
	case s == string(PayoutPending):
		return AccountPayoutPending
	case s == string(PlatformFees):
		return AccountPlatformFees
	case s == string(PlatformAdjustments):
		return AccountPlatformAdjustments
	case s == "channel:alipay" || s == "channel:wechat":
		return AccountChannel
	case strings.HasPrefix(s, "escrow:"):
		if validID(s[len("escrow:"):]) {
			return AccountEscrow
		}
	case strings.HasPrefix(s, "user:"):
		u, what, ok := strings.Cut(s[len("user:"):], ":")
		switch {
		case !ok || !validID(u):
		case what == "cash":
			return AccountUserCash
		case what == "earnings":
			return AccountUserEarnings
		}
	}
	return ""
}

// ParseAccountID checks that s names a ledger account.
func ParseAccountID(s string) (AccountID, error) {
	id := AccountID(s)
	if id.Kind() == "" {
		return "", InvalidParam("account", "%q is not a ledger account; accounts look like \"user:42:cash\" or \"channel:alipay\".", s)
	}
	return id, nil
}

// MayGoNegative reports whether the account's balance may fall below zero.
// Only accounts that mirror the outside world or the platform's own
// adjustments may; a user's wallet, an escrow or fees never can.
func (id AccountID) MayGoNegative() bool {
	k := id.Kind()
	return k == AccountChannel || k == AccountPlatformAdjustments
}

// Shards returns how many balance rows the account keeps: HotAccountShards for
// the accounts that nearly every payment touches, 1 for the rest.
func (id AccountID) Shards() int {
	switch id.Kind() {
	case AccountChannel, AccountPlatformFees:
		return HotAccountShards
	}
	return 1
}

// Account is a ledger account as stored.
type Account struct {
	ID            AccountID
	Currency      Currency
	Balance       Amount // the sum of all its postings
	MayGoNegative bool
	CreatedAt     time.Time
}

// ShardFor returns which of the account's balance rows an entry with the given
// key changes. The choice depends only on the key, so a replayed entry would
// touch the same row, and different entries spread evenly over the rows.
func (id AccountID) ShardFor(entryKey string) int {
	n := id.Shards()
	if n == 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(entryKey)) // a hash never fails to write
	return int(h.Sum32() % uint32(n))
}
