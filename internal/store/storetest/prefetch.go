package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// testPrefetch checks that Prefetch changes no answer: the reads that
// follow it see what they would have seen without it, rows that do not
// exist are still not found, and a write between the prefetch and a read
// is seen by the read.
func testPrefetch(t *testing.T, h Harness) {
	ctx := context.Background()
	type seen struct {
		Order    bursar.Order
		Secret   bursar.Secret
		Accounts []bursar.Account
		Missing  []bursar.Code // of an unknown order, secret and account, in that order
	}
	read := func(tx store.Tx) (seen, error) {
		var s seen
		var err error
		if s.Order, err = tx.OrderGetForUpdate(ctx, "o1"); err != nil {
			return s, err
		}
		if s.Secret, err = tx.SecretGetForUpdate(ctx, "u_1", bursar.SecretPayment); err != nil {
			return s, err
		}
		for _, a := range []bursar.AccountID{alice, bob} {
			acct, err := tx.AccountGetForUpdate(ctx, a)
			if err != nil {
				return s, err
			}
			s.Accounts = append(s.Accounts, acct)
		}
		_, err1 := tx.OrderGetForUpdate(ctx, "nope")
		_, err2 := tx.SecretGetForUpdate(ctx, "u_1", bursar.SecretLogin)
		_, err3 := tx.AccountGetForUpdate(ctx, bursar.UserCashAccount("nobody"))
		s.Missing = []bursar.Code{bursar.ErrorCode(err1), bursar.ErrorCode(err2), bursar.ErrorCode(err3)}
		return s, nil
	}
	prefetch := store.Prefetch{Order: "o1",
		Secrets:  []store.SecretRef{{User: "u_1", Kind: bursar.SecretPayment}, {User: "u_1", Kind: bursar.SecretLogin}},
		Accounts: []bursar.AccountID{alice, bob, bursar.UserCashAccount("nobody")}}
	setup := func(t *testing.T) store.DB {
		db := h.Open(t)
		mustUsers(t, db, "u_1")
		mustOrders(t, db, pendingOrder("o1"))
		mustWrite(t, db, func(tx store.Tx) error {
			return tx.SecretPut(ctx, bursar.Secret{User: "u_1", Kind: bursar.SecretPayment, Hash: "h", WrongTries: 2,
				LockedUntil: t0.Add(time.Hour), UpdatedAt: t0})
		})
		fund(t, db, alice, 100)
		fund(t, db, bob, 250)
		return db
	}

	t.Run("the reads after it answer as without it", func(t *testing.T) {
		db := setup(t)
		var plain, ahead seen
		mustWrite(t, db, func(tx store.Tx) error {
			var err error
			plain, err = read(tx)
			return err
		})
		mustWrite(t, db, func(tx store.Tx) error {
			if err := tx.Prefetch(ctx, prefetch); err != nil {
				return err
			}
			var err error
			ahead, err = read(tx)
			return err
		})
		if diff := cmp.Diff(plain, ahead); diff != "" {
			t.Errorf("reads after Prefetch differ (-without +with):\n%s", diff)
		}
		want := []bursar.Code{bursar.NotFound, bursar.NotFound, bursar.NotFound}
		if diff := cmp.Diff(want, ahead.Missing); diff != "" {
			t.Errorf("missing rows (-want +got):\n%s", diff)
		}
	})

	t.Run("a write after it is seen by the reads", func(t *testing.T) {
		db := setup(t)
		var got seen
		mustWrite(t, db, func(tx store.Tx) error {
			if err := tx.Prefetch(ctx, prefetch); err != nil {
				return err
			}
			o := pendingOrder("o1")
			o.Status = bursar.OrderClosed
			if err := tx.OrderUpdate(ctx, o, bursar.OrderPending); err != nil {
				return err
			}
			if _, err := tx.EntryPost(ctx, transfer("move", bob, alice, 50)); err != nil {
				return err
			}
			var err error
			got, err = read(tx)
			return err
		})
		if got.Order.Status != bursar.OrderClosed {
			t.Errorf("the order read after its update is %s, want closed", got.Order.Status)
		}
		if got.Accounts[0].Balance != 150 || got.Accounts[1].Balance != 200 {
			t.Errorf("balances read after the transfer: %d and %d, want 150 and 200",
				got.Accounts[0].Balance, got.Accounts[1].Balance)
		}
	})
}
