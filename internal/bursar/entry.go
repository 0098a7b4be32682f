package bursar

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Posting is one line of a ledger entry: money arriving at an account
// (positive) or leaving it (negative). An account's balance is the sum of its
// postings.
type Posting struct {
	Account  AccountID `json:"account"`
	Amount   Amount    `json:"amount"`
	Currency Currency  `json:"currency"`
}

// Transfer returns the two postings that move m from one account to another.
func Transfer(from, to AccountID, m Money) []Posting {
	return []Posting{
		{Account: from, Amount: -m.Amount, Currency: m.Currency},
		{Account: to, Amount: m.Amount, Currency: m.Currency},
	}
}

// EntryKind says which business event an entry records ("wallet_pay", "release", …).
type EntryKind string

// Entry is one balanced business event in the ledger. It is posted whole or
// not at all, and at most once per Key.
type Entry struct {
	// Key makes posting idempotent: posting the same key twice records the
	// entry once; the same key with different content is a Conflict.
	Key      string
	Kind     EntryKind
	Ref      string // the object the entry belongs to, such as an order ID
	Memo     string // free text for people, e.g. the reason of an adjustment
	Postings []Posting
	PostedAt time.Time
}

// Limits on entries, chosen far above any real business event so that a bug
// cannot write an unbounded row set.
const (
	maxEntryKeyLen   = 255
	maxEntryMemoLen  = 500
	maxEntryPostings = 100
)

// Validate checks everything about an entry that can be checked without the
// database: names, amounts, and that its postings sum to zero per currency.
// It returns an Invalid error; the database then checks that no account
// that may not go negative does.
func (e Entry) Validate() error {
	switch {
	case e.Key == "" || len(e.Key) > maxEntryKeyLen || !printable(e.Key):
		return InvalidParam("key", "An entry key is 1 to %d printable ASCII characters without spaces.", maxEntryKeyLen)
	case e.Kind == "" || len(e.Kind) > 40 || !printable(string(e.Kind)):
		return InvalidParam("kind", "An entry kind is 1 to 40 printable ASCII characters without spaces.")
	case len(e.Ref) > 64 || (e.Ref != "" && !printable(e.Ref)):
		return InvalidParam("ref", "An entry reference is at most 64 printable ASCII characters without spaces.")
	case len(e.Memo) > maxEntryMemoLen:
		return InvalidParam("memo", "An entry memo is at most %d bytes.", maxEntryMemoLen)
	case len(e.Postings) < 2 || len(e.Postings) > maxEntryPostings:
		return InvalidParam("postings", "An entry has 2 to %d postings.", maxEntryPostings)
	case e.PostedAt.IsZero():
		return InvalidParam("posted_at", "An entry needs the time it was posted.")
	}
	sums := map[Currency]Amount{}
	nets := map[AccountID]Money{}
	for i, p := range e.Postings {
		param := fmt.Sprintf("postings[%d]", i)
		if p.Account.Kind() == "" {
			return InvalidParam(param, "%q is not a ledger account.", p.Account)
		}
		if _, ok := exponents[p.Currency]; !ok {
			return InvalidParam(param, "The currency %q is not supported.", p.Currency)
		}
		if p.Amount == 0 || p.Amount == math.MinInt64 {
			return InvalidParam(param, "A posting moves a non-zero amount.")
		}
		net, seen := nets[p.Account]
		if seen && net.Currency != p.Currency {
			return InvalidParam(param, "The account %s appears in two currencies.", p.Account)
		}
		sum, err1 := sums[p.Currency].Add(p.Amount)
		netSum, err2 := net.Amount.Add(p.Amount)
		if err1 != nil || err2 != nil {
			return InvalidParam(param, "The postings overflow.")
		}
		sums[p.Currency], nets[p.Account] = sum, Money{netSum, p.Currency}
	}
	for c, s := range sums {
		if s != 0 {
			return InvalidParam("postings", "The postings do not balance: they sum to %s, not zero.", Money{s, c})
		}
	}
	return nil
}

func printable(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// Delta is the net change an entry makes to one account.
type Delta struct {
	Account  AccountID
	Currency Currency
	Amount   Amount // may be zero when an entry moves money in and out again
}

// Deltas returns the entry's net change per account, ordered by account. Every
// writer applies balance changes in this order, so two entries never wait for
// each other's row locks in opposite orders. It assumes a valid entry.
func (e Entry) Deltas() []Delta {
	byAccount := map[AccountID]int{}
	var ds []Delta
	for _, p := range e.Postings {
		i, ok := byAccount[p.Account]
		if !ok {
			i = len(ds)
			byAccount[p.Account] = i
			ds = append(ds, Delta{Account: p.Account, Currency: p.Currency})
		}
		ds[i].Amount += p.Amount // cannot overflow: Validate checked every partial sum per account
	}
	slices.SortFunc(ds, func(a, b Delta) int { return cmp.Compare(a.Account, b.Account) })
	return ds
}

// Fingerprint identifies the entry's content: its kind, reference and
// postings regardless of their order. Two postings of one key with equal
// fingerprints are the same entry; with different ones, a conflict.
func (e Entry) Fingerprint() string {
	ps := slices.Clone(e.Postings)
	slices.SortFunc(ps, func(a, b Posting) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Currency, b.Currency), cmp.Compare(a.Amount, b.Amount))
	})
	h := sha256.New()
	fmt.Fprintf(h, "%q\n%q\n", e.Kind, e.Ref)
	for _, p := range ps {
		fmt.Fprintf(h, "%s %s %s\n", p.Account, p.Currency, strconv.FormatInt(int64(p.Amount), 10))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// EntryID is the ledger's sequence number of a posted entry.
type EntryID int64

// PostedEntry is an entry as the ledger stores it.
type PostedEntry struct {
	ID EntryID
	Entry
}

// PostResult says what posting an entry did.
type PostResult struct {
	ID EntryID
	// Replayed is true when an identical entry with the same key was already
	// posted; nothing changed this time.
	Replayed bool
}
