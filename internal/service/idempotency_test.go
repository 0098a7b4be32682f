package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestIdempotencyAbandonedKey leaves a key in flight, as a process killed
// mid-request or a database lost before the answer was stored does, and
// retries it: refused as still running within the lease, let through after
// it, and then in flight again for everyone else.
func TestIdempotencyAbandonedKey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		c := &clock{now: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
		idem := service.NewIdempotency(service.Deps{DB: db, Now: c.Now})
		actor := bursar.Actor{Credential: "tok_b", Kind: bursar.CredentialUser, User: "buyer"}
		req := []byte("POST /v1/orders/ord_1/pay\n{}")
		if r, err := idem.Begin(ctx, actor, "k", req); r != nil || err != nil {
			t.Fatalf("first Begin() = %v, %v; want a new request", r, err)
		}
		// The first request never finishes.
		c.Advance(service.InFlightLease - time.Millisecond)
		if _, err := idem.Begin(ctx, actor, "k", req); bursar.ErrorCode(err) != bursar.Conflict {
			t.Errorf("Begin() within the lease: %v, want %s", err, bursar.Conflict)
		}
		if _, err := idem.Begin(ctx, actor, "k", []byte("POST /v1/orders/ord_2/pay\n{}")); bursar.ErrorCode(err) != bursar.Conflict {
			t.Errorf("Begin() of another request within the lease: %v, want %s", err, bursar.Conflict)
		}
		c.Advance(time.Millisecond)
		if r, err := idem.Begin(ctx, actor, "k", []byte("POST /v1/orders/ord_2/pay\n{}")); bursar.ErrorCode(err) != bursar.Conflict {
			t.Errorf("Begin() of another request after the lease = %v, %v; want %s", r, err, bursar.Conflict)
		}
		if r, err := idem.Begin(ctx, actor, "k", req); r != nil || err != nil {
			t.Fatalf("Begin() after the lease = %v, %v; want the request to run again", r, err)
		}
		if _, err := idem.Begin(ctx, actor, "k", req); bursar.ErrorCode(err) != bursar.Conflict {
			t.Errorf("Begin() while the retry runs: %v, want %s", err, bursar.Conflict)
		}
		must(t, idem.Finish(ctx, actor, "k", 200, []byte(`{"status":"paid"}`)))
		c.Advance(2 * service.InFlightLease)
		if r, err := idem.Begin(ctx, actor, "k", req); err != nil || r == nil || string(r.Body) != `{"status":"paid"}` {
			t.Errorf("Begin() of a finished key long after = %v, %v; want its answer", r, err)
		}
	})
}

// TestIdempotencyKeyLifetime uses a key past its lifetime, which is new
// again, and purges the keys past it, in batches, leaving the younger.
func TestIdempotencyKeyLifetime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
		c := &clock{now: start}
		idem := service.NewIdempotency(service.Deps{DB: db, Now: c.Now})
		actor := bursar.Actor{Credential: "tok_b", Kind: bursar.CredentialUser, User: "buyer"}
		reqA, reqB := []byte("POST /v1/orders/ord_1/pay\n{}"), []byte("POST /v1/orders/ord_2/pay\n{}")
		if r, err := idem.Begin(ctx, actor, "k", reqA); r != nil || err != nil {
			t.Fatalf("first Begin() = %v, %v; want a new request", r, err)
		}
		must(t, idem.Finish(ctx, actor, "k", 201, []byte(`{"id":"ord_1"}`)))

		c.Advance(service.IdempotencyKeyLifetime)
		if r, err := idem.Begin(ctx, actor, "k", reqA); err != nil || r == nil || r.Status != 201 {
			t.Errorf("Begin() of the same request at the end of the lifetime = %v, %v; want its answer", r, err)
		}
		if _, err := idem.Begin(ctx, actor, "k", reqB); bursar.ErrorCode(err) != bursar.Conflict {
			t.Errorf("Begin() of another request at the end of the lifetime: %v, want %s", err, bursar.Conflict)
		}
		c.Advance(time.Millisecond)
		if r, err := idem.Begin(ctx, actor, "k", reqB); r != nil || err != nil {
			t.Fatalf("Begin() of another request after the lifetime = %v, %v; want it to run", r, err)
		}
		if _, err := idem.Begin(ctx, actor, "k", reqB); bursar.ErrorCode(err) != bursar.Conflict {
			t.Errorf("Begin() while the new request runs: %v, want %s", err, bursar.Conflict)
		}

		// More old keys than one purge transaction takes, and a young one.
		const old = 1001
		c.Advance(time.Hour)
		err := db.InTx(ctx, func(tx store.Tx) error {
			for i := range old {
				if _, _, err := tx.IdempotencyBegin(ctx, "tok_c", fmt.Sprint("old-", i), "h", c.Now()); err != nil {
					return err
				}
			}
			return nil
		})
		must(t, err)
		c.Advance(time.Hour)
		if r, err := idem.Begin(ctx, actor, "young", reqA); r != nil || err != nil {
			t.Fatalf("Begin() of a young key = %v, %v", r, err)
		}
		must(t, idem.Finish(ctx, actor, "young", 200, []byte(`{}`)))

		c.Advance(service.IdempotencyKeyLifetime - time.Hour + time.Millisecond) // the old keys are just past their lifetime
		n, err := idem.Purge(ctx)
		if err != nil || n != old+1 { // and k, begun again an hour before them
			t.Errorf("Purge() = %d, %v; want %d", n, err, old+1)
		}
		if n, err := idem.Purge(ctx); n != 0 || err != nil {
			t.Errorf("second Purge() = %d, %v; want nothing left to remove", n, err)
		}
		if r, err := idem.Begin(ctx, actor, "young", reqA); err != nil || r == nil || r.Status != 200 {
			t.Errorf("Begin() of the young key after the purge = %v, %v; want its answer", r, err)
		}
	})
}
