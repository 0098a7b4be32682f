package storetest

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

var (
	alice   = bursar.UserCashAccount("alice")
	bob     = bursar.UserCashAccount("bob")
	alipay  = bursar.ChannelAccount(bursar.ChannelAlipay)
	escrow1 = bursar.EscrowAccount("ord_1")
)

func testLedger(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("a posted entry reads back whole and moves both balances", func(t *testing.T) {
		db := h.Open(t)
		e := bursar.Entry{Key: "topup:1", Kind: "topup", Ref: "ord_t1", Memo: "first top-up",
			Postings: bursar.Transfer(alipay, alice, cny(1990)), PostedAt: t0}
		res := mustPost(t, db, e)
		if res.Replayed || res.ID == 0 {
			t.Errorf("EntryPost = %+v, want a new entry", res)
		}
		var got bursar.PostedEntry
		err := db.InReadTx(ctx, func(tx store.Tx) error {
			var err error
			got, err = tx.EntryGet(ctx, "topup:1")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(bursar.PostedEntry{ID: res.ID, Entry: e}, got); diff != "" {
			t.Errorf("EntryGet mismatch (-want +got):\n%s", diff)
		}
		if b := balance(t, db, alice); b != 1990 {
			t.Errorf("alice = %d, want 1990", b)
		}
		if b := balance(t, db, alipay); b != -1990 {
			t.Errorf("channel:alipay = %d, want -1990", b)
		}
		var acct bursar.Account
		err = db.InReadTx(ctx, func(tx store.Tx) error {
			var err error
			acct, err = tx.AccountGet(ctx, alice)
			return err
		})
		want := bursar.Account{ID: alice, Currency: bursar.CNY, Balance: 1990, CreatedAt: t0}
		if err != nil || acct != want {
			t.Errorf("AccountGet = %+v, %v; want %+v", acct, err, want)
		}
		mustVerify(t, db)
	})

	t.Run("missing entries and accounts are not found", func(t *testing.T) {
		db := h.Open(t)
		err := db.InReadTx(ctx, func(tx store.Tx) error {
			_, err := tx.EntryGet(ctx, "nope")
			return err
		})
		if code := bursar.ErrorCode(err); code != bursar.NotFound {
			t.Errorf("EntryGet code = %q, want not_found", code)
		}
		err = db.InReadTx(ctx, func(tx store.Tx) error {
			_, err := tx.AccountGet(ctx, bob)
			return err
		})
		if code := bursar.ErrorCode(err); code != bursar.NotFound {
			t.Errorf("AccountGet code = %q, want not_found", code)
		}
	})

	t.Run("the same key twice posts once", func(t *testing.T) {
		db := h.Open(t)
		e := transfer("k", alipay, alice, 500)
		first := mustPost(t, db, e)
		e.Postings[0], e.Postings[1] = e.Postings[1], e.Postings[0] // order does not matter
		e.Memo = "a retry"
		again := mustPost(t, db, e)
		if !again.Replayed || again.ID != first.ID {
			t.Errorf("second post = %+v, want a replay of %d", again, first.ID)
		}
		if b := balance(t, db, alice); b != 500 {
			t.Errorf("alice = %d, want 500", b)
		}
		mustVerify(t, db)
	})

	rejects := []struct {
		name string
		prep func(t *testing.T, db store.DB)
		e    bursar.Entry
		code bursar.Code
	}{
		{"the same key with other postings is a conflict",
			func(t *testing.T, db store.DB) { mustPost(t, db, transfer("k", alipay, alice, 500)) },
			transfer("k", alipay, alice, 501), bursar.Conflict},
		{"an overdraft of a wallet is refused",
			func(t *testing.T, db store.DB) { fund(t, db, alice, 100) },
			transfer("k", alice, bob, 101), bursar.InsufficientFunds},
		{"a debit of an account never credited is refused",
			func(*testing.T, store.DB) {},
			transfer("k", bob, alice, 1), bursar.InsufficientFunds},
		{"an overdraft of a hot account that may not go negative is refused",
			func(t *testing.T, db store.DB) { fund(t, db, bursar.PlatformFees, 100) },
			transfer("k", bursar.PlatformFees, alice, 101), bursar.InsufficientFunds},
		{"a posting in another currency than the account's is refused",
			func(t *testing.T, db store.DB) { fund(t, db, alice, 100) },
			bursar.Entry{Key: "k", Kind: "test", PostedAt: t0,
				Postings: bursar.Transfer(bursar.PlatformAdjustments, alice, bursar.Money{Amount: 5, Currency: "USD"})},
			bursar.Invalid},
		{"an unbalanced entry is refused",
			func(*testing.T, store.DB) {},
			bursar.Entry{Key: "k", Kind: "test", PostedAt: t0, Postings: []bursar.Posting{
				{Account: alipay, Amount: -5, Currency: bursar.CNY}, {Account: alice, Amount: 6, Currency: bursar.CNY}}},
			bursar.Invalid},
		{"a balance past the largest amount is refused",
			func(t *testing.T, db store.DB) { fund(t, db, alice, math.MaxInt64) },
			transfer("k", alipay, alice, 1), bursar.Invalid},
	}
	for _, tt := range rejects {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			tt.prep(t, db)
			before := verify(t, db)
			balances := map[bursar.AccountID]bursar.Amount{}
			for _, p := range tt.e.Postings {
				balances[p.Account] = balance(t, db, p.Account)
			}
			_, err := post(ctx, db, tt.e)
			if code := bursar.ErrorCode(err); code != tt.code {
				t.Fatalf("EntryPost error = %v (code %q), want code %q", err, code, tt.code)
			}
			for id, want := range balances {
				if got := balance(t, db, id); got != want {
					t.Errorf("after a refused entry %s = %d, want %d", id, got, want)
				}
			}
			if after := verify(t, db); after.Entries != before.Entries || after.Postings != before.Postings || !after.OK() {
				t.Errorf("a refused entry changed the ledger: before %+v, after %+v", before, after)
			}
		})
	}

	t.Run("a hot account spreads over its balance rows and sums them", func(t *testing.T) {
		db := h.Open(t)
		var total bursar.Amount
		for i := range 40 {
			amount := bursar.Amount(100 + i)
			mustPost(t, db, transfer("topup:"+string(rune('A'+i)), alipay, alice, amount))
			total += amount
		}
		if b := balance(t, db, alipay); b != -total {
			t.Errorf("channel:alipay = %d, want %d", b, -total)
		}
		mustVerify(t, db)
	})

	t.Run("a hot account that may not go negative is debited across its rows", func(t *testing.T) {
		db := h.Open(t)
		for i := range 20 {
			mustPost(t, db, transfer("fee:"+string(rune('A'+i)), bursar.PlatformAdjustments, bursar.PlatformFees, 10))
		}
		mustPost(t, db, transfer("sweep", bursar.PlatformFees, alice, 195))
		if b := balance(t, db, bursar.PlatformFees); b != 5 {
			t.Errorf("platform:fees = %d, want 5", b)
		}
		_, err := post(ctx, db, transfer("sweep2", bursar.PlatformFees, alice, 6))
		if code := bursar.ErrorCode(err); code != bursar.InsufficientFunds {
			t.Errorf("overdraft code = %q, want insufficient_funds", code)
		}
		mustPost(t, db, transfer("sweep3", bursar.PlatformFees, alice, 5))
		mustVerify(t, db)
	})

	t.Run("an entry may pass money through an account in one step", func(t *testing.T) {
		db := h.Open(t)
		e := bursar.Entry{Key: "release", Kind: "release", PostedAt: t0,
			Postings: append(bursar.Transfer(alipay, escrow1, cny(1000)), bursar.Transfer(escrow1, bob, cny(1000))...)}
		mustPost(t, db, e)
		if b := balance(t, db, escrow1); b != 0 {
			t.Errorf("escrow = %d, want 0", b)
		}
		mustVerify(t, db)
	})

	t.Run("the largest amount fits", func(t *testing.T) {
		db := h.Open(t)
		mustPost(t, db, transfer("max", bursar.PlatformAdjustments, alice, math.MaxInt64))
		if b := balance(t, db, alice); b != math.MaxInt64 {
			t.Errorf("alice = %d, want MaxInt64", b)
		}
		mustVerify(t, db)
	})
}
