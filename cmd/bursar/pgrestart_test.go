package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"bursar.dev/bursar/internal/store/postgres/pgtest"
)

// TestPostgresRestartMidLoad stops PostgreSQL under a server paying orders
// for many clients, keeps the load going while it is down, and starts it
// again. While it is down every request fails with a retriable 503 and
// /readyz says so; once it is back the same server process takes payments
// again by itself, and every order ends paid exactly once.
func TestPostgresRestartMidLoad(t *testing.T) {
	c := pgtest.NewCluster(t)
	b := backend{serve: []string{"--db", c.URL(), "--data-dir", t.TempDir(), "--sandbox=false"}, db: []string{"--db", c.URL()}}
	key := createKey(t, b.db...)
	p := startProcess(t, b.serve...)
	l := newPayLoad(t, p.base, key)

	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	midway, done := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		defer close(done)
		l.drive(ctx, p.base, true, func(n int) {
			if n >= len(l.orders)/4 {
				once.Do(func() { close(midway) })
			}
		})
	}()
	select {
	case <-midway:
	case <-done:
		t.Fatalf("the load ended before it was a quarter done: %s", l.summary())
	}
	c.Stop(t)
	down := time.Now()
	eventually(t, 5*time.Second, "/readyz answers 503 while the database is down", func() (bool, any) {
		status, body := readyz(t, p.base)
		return status == http.StatusServiceUnavailable && body["status"] == "unavailable", body
	})
	// The clients keep paying for a few seconds of refusals.
	eventually(t, 10*time.Second, "a few seconds of 503s", func() (bool, any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.statuses[http.StatusServiceUnavailable] >= 50 && time.Since(down) >= 2*time.Second, l.statuses
	})
	acked := l.ackedCount()
	c.Start(t)
	eventually(t, 10*time.Second, "/readyz answers 200 once the database is back", func() (bool, any) {
		status, body := readyz(t, p.base)
		return status == http.StatusOK, body
	})
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("the load did not finish after the database came back: %s", l.summary())
	}
	t.Log(l.summary())
	if n := l.ackedCount(); n <= acked {
		t.Errorf("no payment acknowledged after the database came back (%d before, %d after)", acked, n)
	}
	l.checkNoBadAnswers()
	if pending := l.checkState(p.base); len(pending) != 0 {
		t.Errorf("%d orders still pending", len(pending))
	}
	p.stop(t)
	if strings.Contains(p.logText(), "panic") {
		t.Errorf("the server's log shows a panic:\n%s", p.logText())
	}
	verifyLedger(t, b)
}
