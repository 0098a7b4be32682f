package service_test

import (
	"context"
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
