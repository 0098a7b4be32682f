package storetest

import (
	"context"
	"testing"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// testErrorSites checks that a write's refusal reaches the call that made
// it, inside the transaction, so that code which handles it there can go
// on: an engine may send writes late (PostgreSQL pipelines them), but not
// at the price of an error surfacing somewhere else, or of what the
// transaction did before the refusal being committed with the refused
// write.
func testErrorSites(t *testing.T, h Harness) {
	ctx := context.Background()
	// handled: the caller handles the refusal and commits what else it
	// does; otherwise it abandons the transaction, as the contract says of
	// EntryPost.
	tests := []struct {
		name    string
		write   func(tx store.Tx) error
		code    bursar.Code
		handled bool
	}{
		{"an order no longer in the status it was read in", func(tx store.Tx) error {
			o := pendingOrder("o1")
			o.Status = bursar.OrderPaid
			return tx.OrderUpdate(ctx, o, bursar.OrderClosed) // it is pending
		}, bursar.WrongState, true},
		{"a debit the balance does not cover", func(tx store.Tx) error {
			_, err := tx.EntryPost(ctx, transfer("overdraw", alice, bob, 1_000_000))
			return err
		}, bursar.InsufficientFunds, false},
		{"a credit in another currency", func(tx store.Tx) error {
			_, err := tx.EntryPost(ctx, bursar.Entry{Key: "usd", Kind: "test", PostedAt: t0,
				Postings: bursar.Transfer(bursar.PlatformAdjustments, bob, bursar.Money{Amount: 5, Currency: "USD"})})
			return err
		}, bursar.Invalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			mustOrders(t, db, pendingOrder("o1"))
			fund(t, db, alice, 100)
			fund(t, db, bob, 100)
			var last error
			err := db.InTx(ctx, func(tx store.Tx) error {
				if err := tx.JobSchedule(ctx, bursar.JobRelease, "before", t0); err != nil {
					return err
				}
				last = tt.write(tx)
				switch {
				case last != nil && tt.handled:
					return tx.JobSchedule(ctx, bursar.JobRelease, "handled", t0)
				case last != nil:
					return last
				}
				return tx.JobSchedule(ctx, bursar.JobRelease, "unhandled", t0)
			})
			if bursar.ErrorCode(last) != tt.code {
				t.Fatalf("the write answered %v, want code %s", last, tt.code)
			}
			want := int64(0)
			if tt.handled {
				want = 2
				if err != nil {
					t.Fatalf("InTx: %v", err)
				}
			} else if bursar.ErrorCode(err) != tt.code {
				t.Fatalf("InTx: %v, want code %s", err, tt.code)
			}
			if got := h.Count(t, db, `SELECT count(*) FROM jobs WHERE ref IN ('before', 'handled')`); got != want {
				t.Errorf("%d of the jobs scheduled before and after the refusal were committed, want %d", got, want)
			}
			if got := h.Count(t, db, `SELECT count(*) FROM jobs WHERE ref = 'unhandled'`); got != 0 {
				t.Errorf("the job of the path that did not see the refusal was committed")
			}
			if o := getOrder(t, db, "o1"); o.Status != bursar.OrderPending {
				t.Errorf("order o1 is %s, want it still pending", o.Status)
			}
			mustVerify(t, db)
		})
	}
}
