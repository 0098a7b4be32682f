package storetest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

func testIdempotency(t *testing.T, h Harness) {
	ctx := context.Background()
	type began struct {
		Rec   store.IdempotencyRecord
		Fresh bool
	}
	begin := func(t *testing.T, db store.DB, scope, key, hash string, now time.Time) began {
		t.Helper()
		var b began
		err := db.InTx(ctx, func(tx store.Tx) error {
			var err error
			b.Rec, b.Fresh, err = tx.IdempotencyBegin(ctx, scope, key, hash, now)
			return err
		})
		if err != nil {
			t.Fatalf("IdempotencyBegin(%s, %s): %v", scope, key, err)
		}
		return b
	}

	t.Run("a key is begun, replayed in flight, finished, replayed and forgotten", func(t *testing.T) {
		db := h.Open(t)
		steps := []struct {
			name string
			do   func(t *testing.T) began
			want began
		}{
			{"a new key", func(t *testing.T) began { return begin(t, db, "cred_1", "k1", "h1", t0.In(cst)) },
				began{Fresh: true}},
			{"the key while the first request runs", func(t *testing.T) began {
				return begin(t, db, "cred_1", "k1", "h2", t0.Add(time.Second))
			}, began{Rec: store.IdempotencyRecord{Hash: "h1", CreatedAt: t0}}},
			{"the same key of another credential", func(t *testing.T) began {
				return begin(t, db, "cred_2", "k1", "h3", t0)
			}, began{Fresh: true}},
			{"the key once finished", func(t *testing.T) began {
				mustWrite(t, db, func(tx store.Tx) error {
					return tx.IdempotencyFinish(ctx, "cred_1", "k1", 201, []byte(`{"id":"ord_1"}`))
				})
				return begin(t, db, "cred_1", "k1", "h1", t0.Add(time.Minute))
			}, began{Rec: store.IdempotencyRecord{Hash: "h1", Status: 201, Body: []byte(`{"id":"ord_1"}`), CreatedAt: t0}}},
			{"the key once finished with an empty body", func(t *testing.T) began {
				mustWrite(t, db, func(tx store.Tx) error { return tx.IdempotencyFinish(ctx, "cred_2", "k1", 204, nil) })
				return begin(t, db, "cred_2", "k1", "h3", t0.Add(time.Minute))
			}, began{Rec: store.IdempotencyRecord{Hash: "h3", Status: 204, CreatedAt: t0}}},
			{"the key once forgotten", func(t *testing.T) began {
				mustWrite(t, db, func(tx store.Tx) error { return tx.IdempotencyForget(ctx, "cred_1", "k1") })
				return begin(t, db, "cred_1", "k1", "h4", t0.Add(time.Hour))
			}, began{Fresh: true}},
		}
		for _, s := range steps {
			got := s.do(t)
			if diff := cmp.Diff(s.want, got); diff != "" {
				t.Errorf("%s: IdempotencyBegin mismatch (-want +got):\n%s", s.name, diff)
			}
			checkUTC(t, s.name, got.Rec.CreatedAt)
		}
	})

	t.Run("finishing a key never begun is not found; forgetting one is no error", func(t *testing.T) {
		db := h.Open(t)
		err := db.InTx(ctx, func(tx store.Tx) error { return tx.IdempotencyFinish(ctx, "cred_1", "nope", 200, nil) })
		wantCode(t, "IdempotencyFinish", err, bursar.NotFound)
		err = db.InTx(ctx, func(tx store.Tx) error { return tx.IdempotencyForget(ctx, "cred_1", "nope") })
		wantCode(t, "IdempotencyForget", err, "")
	})

	t.Run("a purge removes the oldest keys begun before a time, up to its limit", func(t *testing.T) {
		db := h.Open(t)
		for i, key := range []string{"a", "b", "c", "d"} {
			begin(t, db, "cred_1", key, "h", t0.Add(time.Duration(i)*time.Hour))
		}
		mustWrite(t, db, func(tx store.Tx) error { return tx.IdempotencyFinish(ctx, "cred_1", "b", 200, []byte(`{}`)) })
		before := t0.Add(150 * time.Minute) // after a, b and c began
		purge := func(limit int, want int, code bursar.Code) {
			t.Helper()
			var n int
			err := db.InTx(ctx, func(tx store.Tx) error {
				var err error
				n, err = tx.IdempotencyPurge(ctx, before, limit)
				return err
			})
			wantCode(t, "IdempotencyPurge", err, code)
			if n != want {
				t.Errorf("IdempotencyPurge(limit %d) removed %d keys, want %d", limit, n, want)
			}
		}
		// isNew begins key again: a key still stored is not new, and one
		// purged is, and is then stored again as begun after the purges.
		isNew := func(key string) bool {
			t.Helper()
			return begin(t, db, "cred_1", key, "h", t0.Add(5*time.Hour)).Fresh
		}
		purge(0, 0, bursar.Invalid)
		purge(1, 1, "")
		if !isNew("a") || isNew("b") || isNew("c") {
			t.Error("a purge of one key did not remove the oldest, a, alone")
		}
		purge(10, 2, "")
		purge(10, 0, "")
		for key, want := range map[string]bool{"b": true, "c": true, "d": false} {
			if got := isNew(key); got != want {
				t.Errorf("after the purges key %s is new: %v, want %v", key, got, want)
			}
		}
	})

	t.Run("of parallel requests with one key exactly one is first", func(t *testing.T) {
		db := h.Open(t)
		const n = 16
		var fresh, replays atomic.Int32
		atOnce(n, func(int) {
			err := db.InTx(ctx, func(tx store.Tx) error {
				rec, first, err := tx.IdempotencyBegin(ctx, "cred_1", "k", "h", t0)
				switch {
				case err != nil:
					return err
				case first:
					fresh.Add(1)
				case rec.Hash == "h":
					replays.Add(1)
				}
				return nil
			})
			if err != nil {
				t.Errorf("IdempotencyBegin: %v", err)
			}
		})
		if fresh.Load() != 1 || replays.Load() != n-1 {
			t.Errorf("%d first requests and %d replays, want 1 and %d", fresh.Load(), replays.Load(), n-1)
		}
	})
}
