package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestKillMidLoad pays orders from many clients at once, kills the server
// with SIGKILL in the middle, and starts it again on the same database.
// Every payment a client saw acknowledged must be there exactly once; any
// other was made once or not at all, with nothing half done; a retry under
// the same Idempotency-Key answers consistently; and the ledger verifies.
func TestKillMidLoad(t *testing.T) {
	tests := []struct {
		engine  string
		backend func(t *testing.T) backend
	}{
		{"sqlite", sqliteBackend},
		{"postgres", postgresBackend},
	}
	for _, tt := range tests {
		t.Run(tt.engine, func(t *testing.T) {
			b := tt.backend(t)
			key := createKey(t, b.db...)
			b.serve = append(b.serve, "--sandbox=false")
			p := startProcess(t, b.serve...)
			l := newPayLoad(t, p.base, key)

			ctx, stopLoad := context.WithCancel(context.Background())
			var kill sync.Once
			l.drive(ctx, p.base, false, func(n int) {
				if n >= len(l.orders)/3 {
					kill.Do(func() {
						if err := p.cmd.Process.Kill(); err != nil {
							t.Error(err)
						}
						stopLoad()
					})
				}
			})
			stopLoad()
			if err := <-p.done; err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("serve did not die of SIGKILL: %v", err)
			}
			t.Log(l.summary())

			p = startProcess(t, b.serve...)
			l.checkState(p.base)
			// A retry of a payment the client did not see acknowledged gets
			// the payment's answer, or, if the kill left its key in flight,
			// is refused as still running; the order may be paid or not.
			l.mu.Lock()
			var unknown []loadOrder
			for _, o := range l.orders {
				if l.tried[o.id] && !l.acked[o.id] {
					unknown = append(unknown, o)
				}
			}
			l.mu.Unlock()
			for _, o := range unknown {
				status, e := l.pay(context.Background(), p.base, o, "pay-"+o.id)
				if status != http.StatusOK && !e.inFlight() {
					t.Errorf("retry of the payment of %s under its key: %d %+v", o.id, status, e)
				}
				if again, e := l.pay(context.Background(), p.base, o, "pay-"+o.id); again != status {
					t.Errorf("retries of the payment of %s under its key: %d, then %d %+v", o.id, status, again, e)
				}
			}
			// Whatever is still pending is paid under a new key, once.
			for _, o := range l.checkState(p.base) {
				if status, e := l.pay(context.Background(), p.base, o, "pay-"+o.id+"-after"); status != http.StatusOK {
					t.Errorf("paying %s after the restart: %d %+v", o.id, status, e)
				}
			}
			if pending := l.checkState(p.base); len(pending) != 0 {
				t.Errorf("%d orders still pending after paying them all", len(pending))
			}
			l.checkNoBadAnswers()
			p.stop(t)
			if strings.Contains(p.logText(), "panic") {
				t.Errorf("the restarted server's log shows a panic:\n%s", p.logText())
			}
			verifyLedger(t, b)
			t.Log(l.summary())
		})
	}
}
