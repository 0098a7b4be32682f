package bursar_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func cny(a bursar.Amount) bursar.Money { return bursar.Money{Amount: a, Currency: bursar.CNY} }

func TestAccountKinds(t *testing.T) {
	tests := []struct {
		id          bursar.AccountID
		kind        bursar.AccountKind
		mayNegative bool
		shards      int
	}{
		{bursar.UserCashAccount("u42"), bursar.AccountUserCash, false, 1},
		{bursar.UserEarningsAccount("usr_01J-x"), bursar.AccountUserEarnings, false, 1},
		{bursar.EscrowAccount("ord_1"), bursar.AccountEscrow, false, 1},
		{bursar.ChannelAccount(bursar.ChannelAlipay), bursar.AccountChannel, true, bursar.HotAccountShards},
		{bursar.ChannelAccount(bursar.ChannelWeChat), bursar.AccountChannel, true, bursar.HotAccountShards},
		{bursar.PayoutPending, bursar.AccountPayoutPending, false, 1},
		{bursar.PlatformFees, bursar.AccountPlatformFees, false, bursar.HotAccountShards},
		{bursar.PlatformAdjustments, bursar.AccountPlatformAdjustments, true, 1},
		{"channel:paypal", "", false, 1},
		{bursar.ChannelAccount(bursar.ChannelWallet), "", false, 1},
		{"user:42", "", false, 1},
		{"user:42:savings", "", false, 1},
		{"user:4 2:cash", "", false, 1},
		{"user::cash", "", false, 1},
		{"user:a:b:cash", "", false, 1},
		{"escrow:", "", false, 1},
		{"escrow:ord/1", "", false, 1},
		{"platform:other", "", false, 1},
		{"", "", false, 1},
	}
	for _, tt := range tests {
		if got := tt.id.Kind(); got != tt.kind {
			t.Errorf("%q.Kind() = %q, want %q", tt.id, got, tt.kind)
		}
		if got := tt.id.MayGoNegative(); got != tt.mayNegative {
			t.Errorf("%q.MayGoNegative() = %v, want %v", tt.id, got, tt.mayNegative)
		}
		if got := tt.id.Shards(); got != tt.shards {
			t.Errorf("%q.Shards() = %d, want %d", tt.id, got, tt.shards)
		}
		_, err := bursar.ParseAccountID(string(tt.id))
		if (err == nil) != (tt.kind != "") {
			t.Errorf("ParseAccountID(%q) error = %v", tt.id, err)
		}
	}
}

func validEntry() bursar.Entry {
	return bursar.Entry{
		Key:      "pay:ord_1",
		Kind:     "wallet_pay",
		Ref:      "ord_1",
		Postings: bursar.Transfer(bursar.UserCashAccount("b"), bursar.EscrowAccount("ord_1"), cny(1990)),
		PostedAt: t0,
	}
}

func TestEntryValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*bursar.Entry)
		param string // "" when the entry is valid
	}{
		{"a plain transfer is valid", func(*bursar.Entry) {}, ""},
		{"two transfers through one account are valid", func(e *bursar.Entry) {
			e.Postings = append(e.Postings, bursar.Transfer(bursar.EscrowAccount("ord_1"), bursar.PlatformFees, cny(10))...)
		}, ""},
		{"two currencies each balanced are valid", func(e *bursar.Entry) {
			e.Postings = append(e.Postings, bursar.Transfer(bursar.PlatformAdjustments, bursar.UserCashAccount("x"), bursar.Money{Amount: 5, Currency: "USD"})...)
		}, ""},
		{"an empty key is refused", func(e *bursar.Entry) { e.Key = "" }, "key"},
		{"a key with a space is refused", func(e *bursar.Entry) { e.Key = "pay ord" }, "key"},
		{"a missing kind is refused", func(e *bursar.Entry) { e.Kind = "" }, "kind"},
		{"a long memo is refused", func(e *bursar.Entry) { e.Memo = string(make([]byte, 501)) }, "memo"},
		{"a missing time is refused", func(e *bursar.Entry) { e.PostedAt = time.Time{} }, "posted_at"},
		{"one posting is refused", func(e *bursar.Entry) { e.Postings = e.Postings[:1] }, "postings"},
		{"an unbalanced entry is refused", func(e *bursar.Entry) { e.Postings[1].Amount = 1989 }, "postings"},
		{"balanced across currencies only is refused", func(e *bursar.Entry) { e.Postings[1].Currency = "USD" }, "postings"},
		{"a zero posting is refused", func(e *bursar.Entry) {
			e.Postings = append(e.Postings, bursar.Posting{Account: bursar.PlatformFees, Currency: bursar.CNY})
		}, "postings[2]"},
		{"an unknown account is refused", func(e *bursar.Entry) { e.Postings[0].Account = "bank:x" }, "postings[0]"},
		{"an unknown currency is refused", func(e *bursar.Entry) { e.Postings[0].Currency = "XXX" }, "postings[0]"},
		{"one account in two currencies is refused", func(e *bursar.Entry) {
			e.Postings = append(e.Postings, bursar.Transfer(bursar.EscrowAccount("ord_1"), bursar.PlatformAdjustments, bursar.Money{Amount: 1, Currency: "USD"})...)
		}, "postings[2]"},
		{"the unnegatable minimum is refused", func(e *bursar.Entry) {
			e.Postings[0].Amount, e.Postings[1].Amount = math.MinInt64, math.MinInt64
		}, "postings[0]"},
		{"postings whose sum overflows are refused", func(e *bursar.Entry) {
			e.Postings = []bursar.Posting{
				{Account: bursar.PlatformAdjustments, Amount: math.MaxInt64, Currency: bursar.CNY},
				{Account: bursar.PlatformAdjustments, Amount: 1, Currency: bursar.CNY},
				{Account: bursar.PlatformFees, Amount: math.MinInt64 + 1, Currency: bursar.CNY},
				{Account: bursar.PlatformFees, Amount: -1, Currency: bursar.CNY},
			}
		}, "postings[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEntry()
			tt.edit(&e)
			err := e.Validate()
			if tt.param == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			be, ok := errors.AsType[*bursar.Error](err)
			if !ok || be.Code != bursar.Invalid {
				t.Fatalf("Validate() = %v, want an Invalid error", err)
			}
			if be.Param != tt.param {
				t.Errorf("Validate() param = %q, want %q (%v)", be.Param, tt.param, err)
			}
		})
	}
}

func TestEntryDeltas(t *testing.T) {
	e := validEntry()
	e.Postings = append(e.Postings, bursar.Transfer(bursar.EscrowAccount("ord_1"), bursar.PlatformFees, cny(1990))...)
	got := e.Deltas()
	want := []bursar.Delta{
		{Account: bursar.EscrowAccount("ord_1"), Currency: bursar.CNY, Amount: 0},
		{Account: bursar.PlatformFees, Currency: bursar.CNY, Amount: 1990},
		{Account: bursar.UserCashAccount("b"), Currency: bursar.CNY, Amount: -1990},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Deltas() mismatch (-want +got):\n%s", diff)
	}
}

func TestEntryFingerprint(t *testing.T) {
	a := validEntry()
	b := validEntry()
	b.Postings[0], b.Postings[1] = b.Postings[1], b.Postings[0]
	b.Memo = "memos do not count"
	b.PostedAt = t0.Add(time.Hour)
	if a.Fingerprint() != b.Fingerprint() {
		t.Errorf("reordered postings changed the fingerprint")
	}
	for name, edit := range map[string]func(*bursar.Entry){
		"amount":   func(e *bursar.Entry) { e.Postings[0].Amount, e.Postings[1].Amount = -1, 1 },
		"account":  func(e *bursar.Entry) { e.Postings[1].Account = bursar.EscrowAccount("ord_2") },
		"currency": func(e *bursar.Entry) { e.Postings[0].Currency, e.Postings[1].Currency = "USD", "USD" },
		"kind":     func(e *bursar.Entry) { e.Kind = "topup" },
		"ref":      func(e *bursar.Entry) { e.Ref = "ord_2" },
	} {
		c := validEntry()
		edit(&c)
		if c.Fingerprint() == a.Fingerprint() {
			t.Errorf("changing the %s kept the fingerprint", name)
		}
	}
}
