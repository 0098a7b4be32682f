package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// testStatements covers reading the ledger back: an order's entries, an
// account's postings page by page, and an account read under lock.
func testStatements(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("an order's entries are listed oldest first with their postings", func(t *testing.T) {
		db := h.Open(t)
		pay := bursar.Entry{Key: "pay:o1", Kind: "pay", Ref: "o1", Memo: "paid", PostedAt: t0.In(cst),
			Postings: bursar.Transfer(alipay, escrow1, cny(1000))}
		other := bursar.Entry{Key: "pay:o2", Kind: "pay", Ref: "o2", PostedAt: t0,
			Postings: bursar.Transfer(alipay, bursar.EscrowAccount("o2"), cny(5))}
		release := bursar.Entry{Key: "release:o1", Kind: "release", Ref: "o1", PostedAt: t0.Add(time.Hour),
			Postings: append(bursar.Transfer(escrow1, bob, cny(950)), bursar.Transfer(escrow1, bursar.PlatformFees, cny(50))...)}
		var want []bursar.PostedEntry
		for _, e := range []bursar.Entry{pay, other, release} {
			res := mustPost(t, db, e)
			if e.Ref == "o1" {
				e.PostedAt = e.PostedAt.UTC()
				want = append(want, bursar.PostedEntry{ID: res.ID, Entry: e})
			}
		}
		mustPost(t, db, transfer("no-ref", alipay, alice, 1)) // Ref ""
		tests := []struct {
			ref  string
			want []bursar.PostedEntry
		}{
			{"o1", want},
			{"nope", nil},
			{"", nil}, // entries without a reference belong to no list
		}
		for _, tt := range tests {
			got, err := readTx(db, func(tx store.Tx) ([]bursar.PostedEntry, error) { return tx.EntryList(ctx, tt.ref) })
			if err != nil {
				t.Fatalf("EntryList(%q): %v", tt.ref, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EntryList(%q) mismatch (-want +got):\n%s", tt.ref, diff)
			}
			for _, pe := range got {
				checkUTC(t, "EntryList", pe.PostedAt)
			}
		}
	})

	t.Run("an account's postings page newest first", func(t *testing.T) {
		db := h.Open(t)
		var want []store.StatementLine
		for i := range 5 {
			e := bursar.Entry{Key: fmt.Sprintf("topup:%d", i), Kind: "topup", Ref: fmt.Sprintf("o%d", i), Memo: "m",
				PostedAt: t0.Add(time.Duration(i) * time.Minute).In(cst), Postings: bursar.Transfer(alipay, alice, cny(bursar.Amount(100+i)))}
			res := mustPost(t, db, e)
			mustPost(t, db, transfer(fmt.Sprintf("noise:%d", i), alipay, bob, 7)) // another account's
			want = append([]store.StatementLine{{Entry: res.ID, Key: e.Key, Kind: e.Kind, Ref: e.Ref, Memo: e.Memo,
				Amount: bursar.Amount(100 + i), Currency: bursar.CNY, PostedAt: e.PostedAt}}, want...)
		}
		var got []store.StatementLine
		var before bursar.EntryID
		for pages := 0; ; pages++ {
			page, err := readTx(db, func(tx store.Tx) ([]store.StatementLine, error) { return tx.PostingList(ctx, alice, before, 2) })
			if err != nil || pages > 5 {
				t.Fatalf("PostingList page %d: %v", pages, err)
			}
			if len(page) > 2 {
				t.Fatalf("PostingList page %d has %d lines, want at most 2", pages, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			before = page[len(page)-1].Entry
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("PostingList pages mismatch (-want +got):\n%s", diff)
		}
		for _, l := range got {
			checkUTC(t, "PostingList", l.PostedAt)
		}
		debits, err := readTx(db, func(tx store.Tx) ([]store.StatementLine, error) { return tx.PostingList(ctx, alipay, 0, 1) })
		if err != nil || len(debits) != 1 || debits[0].Amount != -7 {
			t.Errorf("PostingList(channel:alipay) = %+v, %v; want the last debit of 7", debits, err)
		}
		none, err := readTx(db, func(tx store.Tx) ([]store.StatementLine, error) {
			return tx.PostingList(ctx, bursar.UserCashAccount("nobody"), 0, 10)
		})
		if err != nil || len(none) != 0 {
			t.Errorf("PostingList of an account never used = %+v, %v; want nothing", none, err)
		}
		_, err = readTx(db, func(tx store.Tx) ([]store.StatementLine, error) { return tx.PostingList(ctx, alice, 0, 0) })
		wantCode(t, "PostingList with limit 0", err, bursar.Invalid)
	})

	t.Run("an account read under lock is the account", func(t *testing.T) {
		db := h.Open(t)
		for i := range 5 {
			mustPost(t, db, transfer(fmt.Sprintf("fee:%d", i), bursar.PlatformAdjustments, bursar.PlatformFees, 10))
		}
		for _, id := range []bursar.AccountID{bursar.PlatformFees, bursar.PlatformAdjustments} {
			plain, err := readTx(db, func(tx store.Tx) (bursar.Account, error) { return tx.AccountGet(ctx, id) })
			if err != nil {
				t.Fatal(err)
			}
			locked, err := writeTx(db, func(tx store.Tx) (bursar.Account, error) { return tx.AccountGetForUpdate(ctx, id) })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(plain, locked); diff != "" {
				t.Errorf("AccountGetForUpdate(%s) differs from AccountGet (-get +locked):\n%s", id, diff)
			}
		}
		_, err := writeTx(db, func(tx store.Tx) (bursar.Account, error) { return tx.AccountGetForUpdate(ctx, bob) })
		wantCode(t, "AccountGetForUpdate of a missing account", err, bursar.NotFound)
	})

	t.Run("reading a balance under lock serialises spending it", func(t *testing.T) {
		db := h.Open(t)
		fund(t, db, alice, 1000)
		// Each spender reads the balance, spends half of it and writes down
		// what it saw; with the lock no two see the same balance.
		const n = 8
		seen := make(chan bursar.Amount, n)
		errs := make(chan error, n)
		for i := range n {
			go func() {
				errs <- db.InTx(ctx, func(tx store.Tx) error {
					a, err := tx.AccountGetForUpdate(ctx, alice)
					if err != nil {
						return err
					}
					_, err = tx.EntryPost(ctx, transfer(fmt.Sprintf("spend:%d", i), alice, bob, a.Balance/2))
					if err == nil {
						seen <- a.Balance
					}
					return err
				})
			}()
		}
		balances := map[bursar.Amount]bool{}
		for range n {
			if err := <-errs; err != nil {
				t.Errorf("spend: %v", err)
			}
		}
		close(seen)
		for b := range seen {
			if balances[b] {
				t.Errorf("two spenders saw the balance %d", b)
			}
			balances[b] = true
		}
		mustVerify(t, db)
	})
}
