package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// sickDB is a database with one thing wrong: it does not answer, or it
// lacks migrations.
type sickDB struct {
	store.DB
	down    bool
	pending int
}

func (s sickDB) Ping(ctx context.Context) error {
	if s.down {
		return errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")
	}
	return s.DB.Ping(ctx)
}

func (s sickDB) MigrationsPending(ctx context.Context) (int, error) {
	if s.pending > 0 {
		return s.pending, nil
	}
	return s.DB.MigrationsPending(ctx)
}

func TestReady(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		b := setup(t, db)
		b.fund(t, "buyer", bursar.AccountUserCash, 10_000)
		o := b.paid(t, b.course) // its escrow release is a job due in 2 h
		tests := []struct {
			name    string
			db      store.DB
			maxLag  time.Duration
			advance time.Duration // the clock moves on, no job runs
			want    service.Readiness
		}{
			{"all well", db, time.Minute, 0,
				service.Readiness{Ready: true, Checks: map[string]string{"database": "ok", "migrations": "ok", "jobs": "ok"}}},
			{"two migrations missing", sickDB{DB: db, pending: 2}, time.Minute, 0,
				service.Readiness{Checks: map[string]string{"database": "ok", "migrations": "2 pending", "jobs": "ok"}}},
			{"the database down", sickDB{DB: db, down: true}, time.Minute, 0,
				service.Readiness{Checks: map[string]string{"database": "unreachable", "migrations": "not checked", "jobs": "not checked"}}},
			{"a job due but within the lag allowed", db, 10 * time.Minute, 2*time.Hour + 10*time.Minute,
				service.Readiness{Ready: true, Checks: map[string]string{"database": "ok", "migrations": "ok", "jobs": "ok"}}},
			{"the job late past it", db, 10 * time.Minute, 7*time.Minute + 12*time.Second,
				service.Readiness{Checks: map[string]string{"database": "ok", "migrations": "ok", "jobs": "lag 17m12s, 1 due"}}},
			{"the lag check off", db, 0, 0,
				service.Readiness{Ready: true, Checks: map[string]string{"database": "ok", "migrations": "ok", "jobs": "ok (not checked)"}}},
		}
		for _, tt := range tests { // in order: the clock only moves forward
			b.clock.Advance(tt.advance)
			d := b.deps
			d.DB = tt.db
			got := service.NewOps(d, tt.maxLag).Ready(context.Background())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s: Ready (-want +got):\n%s", tt.name, diff)
			}
		}
		if b.runJobs(t) != 1 {
			t.Fatal("the release did not run")
		}
		if got := service.NewOps(b.deps, time.Minute).Ready(context.Background()); !got.Ready {
			t.Errorf("after the jobs ran: %+v, want ready", got)
		}
		if got, _ := b.orders.Get(context.Background(), b.platform, o.ID); got.Status != bursar.OrderCompleted {
			t.Errorf("order %s, want completed", got.Status)
		}
	})
}

func TestStats(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		b := setup(t, db)
		ops := service.NewOps(b.deps, service.DefaultMaxJobLag)
		b.fund(t, "buyer", bursar.AccountUserCash, 20_000)
		b.paid(t, b.course)
		b.paid(t, b.session)
		b.buy(t, b.course) // pending: no payment yet
		s, err := ops.Stats(context.Background())
		must(t, err)
		want := []bursar.StatusCount{{Channel: "wallet", Status: "paid", Count: 2, Amount: 8888 + 1990}}
		if diff := cmp.Diff(want, s.Payments); diff != "" {
			t.Errorf("payments (-want +got):\n%s", diff)
		}
		kinds := map[bursar.JobKind]int64{}
		for _, q := range s.Jobs {
			kinds[q.Kind] = q.Count
		}
		// The two paid orders' escrow releases.
		if diff := cmp.Diff(map[bursar.JobKind]int64{"release": 2}, kinds); diff != "" {
			t.Errorf("jobs by kind (-want +got):\n%s", diff)
		}
	})
}
