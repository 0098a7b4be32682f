package service_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
	"bursar.dev/bursar/internal/webhook"
)

// flakyDB is the real database with faults switched on by the test: the
// second EventGet of a transaction fails while fail is set, and a
// transaction that succeeded is rolled back as if its COMMIT failed while
// failCommit is set.
type flakyDB struct {
	store.DB
	fail       atomic.Bool
	failCommit atomic.Bool
}

type flakyTx struct {
	store.Tx
	db *flakyDB
	n  *int
}

func (f *flakyDB) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return f.DB.InTx(ctx, func(tx store.Tx) error {
		n := 0
		err := fn(flakyTx{tx, f, &n})
		if err == nil && f.failCommit.Load() {
			return errors.New("commit: connection reset") // as a failed COMMIT: rolled back
		}
		return err
	})
}

func (t flakyTx) EventGet(ctx context.Context, id bursar.EventID) (bursar.Event, error) {
	*t.n++
	if t.db.fail.Load() && *t.n >= 2 {
		return bursar.Event{}, errors.New("boom: database hiccup")
	}
	return t.Tx.EventGet(ctx, id)
}

// TestWebhookClaimFailures: a claim that fails after it built part of its
// batch, or whose commit fails, gives its workers back, so the endpoint is
// served once the database is well again.
func TestWebhookClaimFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := setupHooks(t, db, 5*time.Second)
		r := newReceiver(t, w.clock.Now)
		w.endpoint(t, r, bursar.EventOrderPaid)
		w.fund(t, "buyer", bursar.AccountUserCash, 100_000)
		w.paid(t, w.course)
		w.paid(t, w.session)

		fdb := &flakyDB{DB: db}
		d := w.deps
		d.DB = fdb
		hooks := service.NewWebhooks(d)
		fdb.fail.Store(true)
		for range 4 {
			if _, err := hooks.DispatchDue(context.Background()); err == nil {
				t.Error("a failing claim reported no error")
			}
			hooks.Wait()
		}
		fdb.fail.Store(false)
		for range 3 {
			_, err := hooks.DispatchDue(context.Background())
			must(t, err)
			hooks.Wait()
		}
		if n := countPending(t, w); n != 0 || len(r.received()) != 2 {
			t.Fatalf("after the database recovered: %d pending, %d received", n, len(r.received()))
		}

		// The commit of a claim fails once, with the batch built.
		for range 4 {
			w.paid(t, w.session)
		}
		hooks2 := service.NewWebhooks(d)
		fdb.failCommit.Store(true)
		if _, err := hooks2.DispatchDue(context.Background()); err == nil {
			t.Error("a claim whose commit failed reported no error")
		}
		hooks2.Wait()
		fdb.failCommit.Store(false)
		for range 3 {
			w.clock.Advance(5 * time.Minute)
			_, err := hooks2.DispatchDue(context.Background())
			must(t, err)
			hooks2.Wait()
		}
		if n := countPending(t, w); n != 0 {
			t.Errorf("after a claim's commit failed once, %d deliveries stay pending", n)
		}
	})
}

func countPending(t *testing.T, w *hookWorld) int {
	n := 0
	for _, d := range w.deliveries(t, "") {
		if d.Status == bursar.DeliveryPending {
			n++
		}
	}
	return n
}

// gateSender blocks each Send until the test answers it.
type gateSender struct {
	mu    sync.Mutex
	calls []chan int
	got   chan int
}

func (g *gateSender) Send(ctx context.Context, r webhook.Request) (webhook.Response, error) {
	ch := make(chan int)
	g.mu.Lock()
	g.calls = append(g.calls, ch)
	n := len(g.calls)
	g.mu.Unlock()
	g.got <- n
	return webhook.Response{Status: <-ch}, nil
}

func (g *gateSender) answer(n, status int) {
	g.mu.Lock()
	ch := g.calls[n-1]
	g.mu.Unlock()
	ch <- status
}

// TestWebhookLostLease: a worker whose lease ran out (a pause, a slow
// database) records its attempt but not its outcome, which is the current
// lease holder's: it must not move the delivery under that worker and let
// a third send it at the same time.
func TestWebhookLostLease(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := setupHooks(t, db, 5*time.Second)
		r := newReceiver(t, w.clock.Now)
		ep := w.endpoint(t, r, bursar.EventOrderPaid)
		w.fund(t, "buyer", bursar.AccountUserCash, 100_000)
		w.paid(t, w.course)

		g := &gateSender{got: make(chan int, 10)}
		d := w.deps
		d.Webhooks = g
		a, b, c := service.NewWebhooks(d), service.NewWebhooks(d), service.NewWebhooks(d)
		ctx := context.Background()
		if n, _ := a.DispatchDue(ctx); n != 1 {
			t.Fatalf("a started %d", n)
		}
		<-g.got
		w.clock.Advance(3 * time.Minute) // A's lease (2m) ran out: a GC pause, a stuck record, clock skew...
		if n, _ := b.DispatchDue(ctx); n != 1 {
			t.Fatalf("b started %d", n)
		}
		<-g.got
		g.answer(1, 500) // A's late failure comes in while B holds the lease
		a.Wait()
		w.clock.Advance(35 * time.Second)
		if n, _ := c.DispatchDue(ctx); n != 0 {
			t.Fatalf("C sent the delivery while B is still sending it")
		}
		g.answer(2, 200)
		b.Wait()
		cur := w.deliveries(t, ep.ID)[0]
		_, attempts, err := w.hooks.Delivery(ctx, w.platform, cur.ID)
		must(t, err)
		if cur.Status != bursar.DeliverySucceeded || cur.Attempts != 1 || len(attempts) != 2 {
			t.Errorf("delivery %+v with %d attempts recorded; want succeeded by B, both attempts listed", cur, len(attempts))
		}
	})
}
