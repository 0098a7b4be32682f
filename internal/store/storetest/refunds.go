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

// openRefund is a refund of order just requested at t0, with nothing decided.
func openRefund(id bursar.RefundID, order bursar.OrderID) bursar.Refund {
	return bursar.Refund{ID: id, Order: order, Amount: cny(19900), Reason: "Not as described.",
		Status: bursar.RefundRequested, RequestedBy: "user:b_1", CreatedAt: t0}
}

// decide returns r approved at the given time, split between earnings and cash.
func decide(r bursar.Refund, status bursar.RefundStatus, at time.Time) bursar.Refund {
	r.Status, r.DecidedBy, r.DecisionNote, r.DecidedAt = status, "platform:key_1", "Checked.", at
	if status == bursar.RefundSucceeded {
		r.ToEarnings, r.ToCash = 10000, r.Amount.Amount-10000
	}
	return r
}

// mustRefunds stores refunds in one transaction.
func mustRefunds(t testing.TB, db store.DB, rs ...bursar.Refund) {
	t.Helper()
	mustWrite(t, db, func(tx store.Tx) error {
		for _, r := range rs {
			if err := tx.RefundInsert(context.Background(), r); err != nil {
				return err
			}
		}
		return nil
	})
}

func getRefund(t testing.TB, db store.DB, id bursar.RefundID) bursar.Refund {
	t.Helper()
	r, err := readTx(db, func(tx store.Tx) (bursar.Refund, error) { return tx.RefundGet(context.Background(), id) })
	if err != nil {
		t.Fatalf("RefundGet(%s): %v", id, err)
	}
	return r
}

func refundIDs(rs []bursar.Refund) []bursar.RefundID {
	var out []bursar.RefundID
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func testRefunds(t *testing.T, h Harness) {
	ctx := context.Background()

	// full sets every field, each time in China Standard Time, at the
	// largest amount.
	full := bursar.Refund{ID: "rfd_full", Order: "ord_1", Amount: cny(bursar.MaxAmount), Reason: "课程与描述不符",
		Status: bursar.RefundSucceeded, RequestedBy: "user:b_1", DecidedBy: "platform:key_1", DecisionNote: "同意",
		ToEarnings: bursar.MaxAmount - 1, ToCash: 1, ChannelRefundNo: "RF20261121000001-2",
		ChannelRef: "50300002712026112112345678901", CreatedAt: t0.In(cst), DecidedAt: t0.Add(time.Hour).In(cst)}
	// bare leaves every optional field zero.
	bare := openRefund("rfd_bare", "ord_2")

	t.Run("refunds read back as stored, in UTC", func(t *testing.T) {
		db := h.Open(t)
		mustRefunds(t, db, full, bare)
		for _, r := range []bursar.Refund{full, bare} {
			gets := map[string]func(tx store.Tx) (bursar.Refund, error){
				"RefundGet":          func(tx store.Tx) (bursar.Refund, error) { return tx.RefundGet(ctx, r.ID) },
				"RefundGetForUpdate": func(tx store.Tx) (bursar.Refund, error) { return tx.RefundGetForUpdate(ctx, r.ID) },
			}
			for name, get := range gets {
				got, err := writeTx(db, get)
				if err != nil {
					t.Fatalf("%s(%s): %v", name, r.ID, err)
				}
				if diff := cmp.Diff(r, got); diff != "" {
					t.Errorf("%s(%s) mismatch (-want +got):\n%s", name, r.ID, diff)
				}
				checkUTC(t, name, got.CreatedAt, got.DecidedAt)
			}
		}
		const q = `SELECT count(*) FROM refunds WHERE id = 'rfd_bare' AND decided_at IS NULL
			AND channel_refund_no = '' AND channel_ref = ''`
		if n := h.Count(t, db, q); n != 1 {
			t.Errorf("the bare refund is not stored with a NULL decided_at and empty channel references")
		}
	})

	t.Run("an update stores the decision only", func(t *testing.T) {
		db := h.Open(t)
		mustRefunds(t, db, openRefund("rfd_1", "ord_1"))
		r := decide(openRefund("rfd_1", "ord_1"), bursar.RefundSucceeded, t0.Add(time.Hour).In(cst))
		r.ChannelRefundNo, r.ChannelRef = "RF1-1", "2026112122001"
		want := r
		r.Order, r.Amount, r.Reason, r.RequestedBy, r.CreatedAt = "ord_2", cny(1), "changed", "user:b_2", t0.Add(time.Hour) // not mutable: ignored
		mustWrite(t, db, func(tx store.Tx) error { return tx.RefundUpdate(ctx, r, bursar.RefundRequested) })
		got := getRefund(t, db, "rfd_1")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("RefundGet after RefundUpdate mismatch (-want +got):\n%s", diff)
		}
		checkUTC(t, "RefundGet", got.CreatedAt, got.DecidedAt)
	})

	fails := []struct {
		name string
		fn   func(tx store.Tx) error
		code bursar.Code
		msg  string // when not empty, the message both engines must give
	}{
		{"a taken ID is a conflict", func(tx store.Tx) error {
			r := openRefund("rfd_1", "ord_2")
			r.Status = bursar.RefundRejected
			return tx.RefundInsert(ctx, r)
		}, bursar.Conflict, "A refund with this ID already exists."},
		{"a second open refund of an order is a conflict", func(tx store.Tx) error {
			return tx.RefundInsert(ctx, openRefund("rfd_2", "ord_1"))
		}, bursar.Conflict, "The order already has a refund request waiting for a decision or being paid back."},
		{"a missing refund is not found", func(tx store.Tx) error {
			_, err := tx.RefundGet(ctx, "nope")
			return err
		}, bursar.NotFound, ""},
		{"locking a missing refund is not found", func(tx store.Tx) error {
			_, err := tx.RefundGetForUpdate(ctx, "nope")
			return err
		}, bursar.NotFound, ""},
		{"an update from a status the refund has left is the wrong state", func(tx store.Tx) error {
			r := decide(openRefund("rfd_1", "ord_1"), bursar.RefundRejected, t0)
			return tx.RefundUpdate(ctx, r, bursar.RefundSucceeded)
		}, bursar.WrongState, ""},
		{"an update of a missing refund is not found", func(tx store.Tx) error {
			r := decide(openRefund("nope", "ord_1"), bursar.RefundRejected, t0)
			return tx.RefundUpdate(ctx, r, bursar.RefundRequested)
		}, bursar.NotFound, ""},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			mustRefunds(t, db, openRefund("rfd_1", "ord_1"))
			err := db.InTx(ctx, tt.fn)
			wantCode(t, tt.name, err, tt.code)
			if tt.msg != "" && bursar.ErrorMessage(err) != tt.msg {
				t.Errorf("%s: message %q, want %q", tt.name, bursar.ErrorMessage(err), tt.msg)
			}
			if diff := cmp.Diff(openRefund("rfd_1", "ord_1"), getRefund(t, db, "rfd_1")); diff != "" {
				t.Errorf("after a failed call the refund changed (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("the database refuses an amount that is not positive", func(t *testing.T) {
		db := h.Open(t)
		for _, a := range []bursar.Amount{0, -1} {
			r := openRefund(bursar.RefundID(fmt.Sprint("rfd_", a)), "ord_1")
			r.Amount = cny(a)
			if err := db.InTx(ctx, func(tx store.Tx) error { return tx.RefundInsert(ctx, r) }); err == nil {
				t.Errorf("RefundInsert of amount %d succeeded", a)
			}
		}
	})

	t.Run("a refund the channel is paying back keeps the order's one open refund", func(t *testing.T) {
		processing := func(id bursar.RefundID, order bursar.OrderID) bursar.Refund {
			r := decide(openRefund(id, order), bursar.RefundProcessing, t0.Add(time.Hour))
			r.ChannelRefundNo = string(id) + "-1"
			return r
		}
		tests := []struct {
			name          string
			first, second bursar.Refund
			code          bursar.Code // "" when the second is stored
		}{
			{"a request beside a processing one", processing("rfd_1", "ord_1"), openRefund("rfd_2", "ord_1"), bursar.Conflict},
			{"a processing one beside a request", openRefund("rfd_1", "ord_1"), processing("rfd_2", "ord_1"), bursar.Conflict},
			{"two processing ones", processing("rfd_1", "ord_1"), processing("rfd_2", "ord_1"), bursar.Conflict},
			{"processing ones of different orders", processing("rfd_1", "ord_1"), processing("rfd_2", "ord_2"), ""},
			{"a request beside a rejected one", decide(openRefund("rfd_1", "ord_1"), bursar.RefundRejected, t0),
				openRefund("rfd_2", "ord_1"), ""},
			{"a processing one beside a succeeded one", decide(openRefund("rfd_1", "ord_1"), bursar.RefundSucceeded, t0),
				processing("rfd_2", "ord_1"), ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				db := h.Open(t)
				mustRefunds(t, db, tt.first)
				err := db.InTx(ctx, func(tx store.Tx) error { return tx.RefundInsert(ctx, tt.second) })
				wantCode(t, "RefundInsert", err, tt.code)
				if tt.code == bursar.Conflict {
					want := "The order already has a refund request waiting for a decision or being paid back."
					if got := bursar.ErrorMessage(err); got != want {
						t.Errorf("RefundInsert: message %q, want %q", got, want)
					}
				}
			})
		}

		t.Run("through requested, processing, requested again and succeeded", func(t *testing.T) {
			db := h.Open(t)
			mustRefunds(t, db, openRefund("rfd_1", "ord_1"))
			steps := []struct {
				from bursar.RefundStatus
				r    bursar.Refund
			}{
				{bursar.RefundRequested, processing("rfd_1", "ord_1")},
				{bursar.RefundProcessing, func() bursar.Refund { // the channel refused: back to requested, with its reason
					r := processing("rfd_1", "ord_1")
					r.Status, r.DecisionNote = bursar.RefundRequested, "The channel refused: TRADE_HAS_CLOSE"
					return r
				}()},
				{bursar.RefundRequested, func() bursar.Refund { // a new attempt has a new refund number
					r := processing("rfd_1", "ord_1")
					r.ChannelRefundNo = "rfd_1-2"
					return r
				}()},
				{bursar.RefundProcessing, func() bursar.Refund {
					r := decide(openRefund("rfd_1", "ord_1"), bursar.RefundSucceeded, t0.Add(2*time.Hour))
					r.ChannelRefundNo, r.ChannelRef = "rfd_1-2", "50300002712026112112345678901"
					return r
				}()},
			}
			for i, step := range steps {
				mustWrite(t, db, func(tx store.Tx) error { return tx.RefundUpdate(ctx, step.r, step.from) })
				if diff := cmp.Diff(step.r, getRefund(t, db, "rfd_1")); diff != "" {
					t.Errorf("after step %d (-want +got):\n%s", i+1, diff)
				}
				// While it is open no other refund of the order may be
				// requested; once it succeeded one may.
				err := db.InTx(ctx, func(tx store.Tx) error { return tx.RefundInsert(ctx, openRefund("rfd_2", "ord_1")) })
				want := bursar.Conflict
				if step.r.Status == bursar.RefundSucceeded {
					want = ""
				}
				wantCode(t, fmt.Sprintf("RefundInsert after step %d", i+1), err, want)
			}
		})
	})

	t.Run("an order may ask again once its open refund is decided", func(t *testing.T) {
		for _, status := range []bursar.RefundStatus{bursar.RefundRejected, bursar.RefundSucceeded} {
			db := h.Open(t)
			mustRefunds(t, db, openRefund("rfd_1", "ord_1"))
			mustWrite(t, db, func(tx store.Tx) error {
				return tx.RefundUpdate(ctx, decide(openRefund("rfd_1", "ord_1"), status, t0.Add(time.Hour)), bursar.RefundRequested)
			})
			second := openRefund("rfd_2", "ord_1")
			second.CreatedAt = t0.Add(2 * time.Hour)
			if err := db.InTx(ctx, func(tx store.Tx) error { return tx.RefundInsert(ctx, second) }); err != nil {
				t.Errorf("RefundInsert after the first was %s: %v", status, err)
			}
			wantCode(t, "a third open refund", db.InTx(ctx, func(tx store.Tx) error {
				return tx.RefundInsert(ctx, openRefund("rfd_3", "ord_1"))
			}), bursar.Conflict)
		}
	})

	t.Run("open refunds of different orders do not conflict", func(t *testing.T) {
		db := h.Open(t)
		mustRefunds(t, db, openRefund("rfd_1", "ord_1"), openRefund("rfd_2", "ord_2"))
	})

	t.Run("an order's refunds are listed oldest first", func(t *testing.T) {
		db := h.Open(t)
		at := func(r bursar.Refund, minute int) bursar.Refund {
			r.CreatedAt = t0.Add(time.Duration(minute) * time.Minute)
			return r
		}
		// rfd_b and rfd_a share a creation time, so the ID decides.
		rs := []bursar.Refund{
			at(decide(openRefund("rfd_c", "ord_1"), bursar.RefundRejected, t0.Add(time.Hour)), 1),
			at(decide(openRefund("rfd_b", "ord_1"), bursar.RefundRejected, t0.Add(time.Hour)), 2),
			at(decide(openRefund("rfd_a", "ord_1"), bursar.RefundSucceeded, t0.Add(time.Hour)), 2),
			at(openRefund("rfd_d", "ord_1"), 3),
			at(openRefund("rfd_x", "ord_2"), 0),
		}
		mustRefunds(t, db, rs...)
		list := func(order bursar.OrderID) []bursar.Refund {
			got, err := readTx(db, func(tx store.Tx) ([]bursar.Refund, error) { return tx.RefundList(ctx, order) })
			if err != nil {
				t.Fatalf("RefundList(%s): %v", order, err)
			}
			return got
		}
		got := list("ord_1")
		if diff := cmp.Diff([]bursar.RefundID{"rfd_c", "rfd_a", "rfd_b", "rfd_d"}, refundIDs(got)); diff != "" {
			t.Errorf("RefundList(ord_1) order (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]bursar.Refund{rs[0], rs[2], rs[1], rs[3]}, got); diff != "" {
			t.Errorf("RefundList(ord_1) mismatch (-want +got):\n%s", diff)
		}
		if got := list("ord_3"); len(got) != 0 {
			t.Errorf("RefundList(ord_3) = %v, want none", refundIDs(got))
		}
	})

	t.Run("of racing decisions exactly one wins", func(t *testing.T) {
		db := h.Open(t)
		mustRefunds(t, db, openRefund("rfd_1", "ord_1"))
		oneWins(t, 16, "RefundUpdate", func(i int) error {
			return db.InTx(ctx, func(tx store.Tx) error {
				r, err := tx.RefundGetForUpdate(ctx, "rfd_1")
				if err != nil {
					return err
				}
				r = decide(r, bursar.RefundRejected, t0.Add(time.Hour))
				r.DecisionNote = fmt.Sprint("decider ", i)
				return tx.RefundUpdate(ctx, r, bursar.RefundRequested)
			})
		})
	})
}
