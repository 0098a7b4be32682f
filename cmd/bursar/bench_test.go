package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"bursar.dev/bursar/internal/loadgen"
	"bursar.dev/bursar/internal/store/postgres/pgtest"
)

// TestBench runs `bursar bench` with every operation against a real
// `bursar serve` and its sandboxes, on each engine: every operation runs
// and succeeds, and the ledger verifies afterwards.
func TestBench(t *testing.T) {
	engines := []struct {
		name string
		db   func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"--data-dir", t.TempDir()} }},
		{"postgres", func(t *testing.T) []string { return []string{"--db", pgtest.URL(t), "--data-dir", t.TempDir()} }},
	}
	const mix = "pay=60,purchase=10,channel=10,confirm=10,refund=10,topup=5,withdraw=5"
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.db(t)
			key := createKey(t, db...)
			base, stop := startServe(t, nil, append([]string{"--addr", "127.0.0.1:0", "--sandbox-retry-scale", "0.001"}, db...)...)
			defer stop()
			out, err := runCLI(t, "bench", "--addr", base, "--key", key, "--count", "80", "--clients", "4", "--users", "3",
				"--mix", mix, "--seed", "7", "--json")
			if err != nil {
				t.Fatalf("bench: %v\n%s", err, out)
			}
			var rep loadgen.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("the report is not JSON: %v\n%s", err, out)
			}
			drawn := int64(0)
			ran := map[loadgen.Op]bool{}
			for _, s := range rep.Ops {
				ran[s.Op] = true
				if s.Op != loadgen.OpOrderCreate && s.Op != loadgen.OpPurchase {
					drawn += s.Count
				}
				if s.Failed() != s.Count-int64(s.OpsPerSec*rep.ElapsedSeconds+0.5) {
					t.Errorf("%s: %d failed of %d at %.1f/s over %.2fs: the figures disagree", s.Op, s.Failed(), s.Count,
						s.OpsPerSec, rep.ElapsedSeconds)
				}
				if s.Count > s.Failed() && (s.P50MS <= 0 || s.P50MS > s.P95MS || s.P95MS > s.P99MS || s.P99MS > s.MaxMS) {
					t.Errorf("%s: latencies out of order: %+v", s.Op, s)
				}
			}
			for _, op := range loadgen.Ops {
				if !ran[op] {
					t.Errorf("%s never ran in 80 draws of %s: %+v", op, mix, rep.Ops)
				}
			}
			// Purchases are drawn, and also made for confirm and refund
			// when no paid order is left: they are not counted here.
			if drawn > 80 || drawn < 60 {
				t.Errorf("%d operations other than purchases, want at most the 80 drawn and most of them", drawn)
			}
			if rep.Failures() != 0 {
				t.Errorf("%d operations failed: %+v", rep.Failures(), rep.Ops)
			}
			if rep.Ledger == nil || !rep.Ledger.OK || rep.Ledger.Entries == 0 {
				t.Errorf("ledger: %+v", rep.Ledger)
			}

			// The table says the same.
			out, err = runCLI(t, "bench", "--addr", base, "--key", key, "--count", "10", "--clients", "2")
			if err != nil || !strings.Contains(out, "ledger OK") || !strings.Contains(out, "pay ") {
				t.Errorf("bench with a table: %v\n%s", err, out)
			}
		})
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--addr", "http://10.1.2.3:8080"},
		{"--addr", "http://bursar.example.com"},
		{"--mix", "pay=1,fly=2"},
		{"--mix", "pay=0"},
		{"--clients", "0"},
		{"--duration", "0s"},
	} {
		_, err := runCLI(t, append([]string{"bench", "--key", "sk_x"}, args...)...)
		if code := exitCode(err); code != exitUsage {
			t.Errorf("bench %s: %v, exit code %d; want %d", strings.Join(args, " "), err, code, exitUsage)
		}
	} // Without a key there is no server to load; a baseline needs a
	// database named on purpose.
	for _, args := range [][]string{{"--count", "1"}, {"--baseline", "--count", "1"}} {
		_, err := runCLI(t, append([]string{"bench"}, args...)...)
		if code := exitCode(err); code != exitUsage {
			t.Errorf("bench %s: %v, exit code %d; want %d", strings.Join(args, " "), err, code, exitUsage)
		}
	}
}

// TestBenchBaseline runs `bursar bench --baseline` on each engine: it
// posts the transfers counted, reports them as one operation, and the
// ledger verifies; a second run on the same database works too.
func TestBenchBaseline(t *testing.T) {
	engines := []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "bench.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.db(t)
			out, err := runCLI(t, "bench", "--baseline", "--db", db, "--count", "60", "--clients", "4", "--json")
			if err != nil {
				t.Fatalf("bench --baseline: %v\n%s", err, out)
			}
			var rep loadgen.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("the report is not JSON: %v\n%s", err, out)
			}
			if len(rep.Ops) != 1 || rep.Ops[0].Op != "transfer" || rep.Ops[0].Count != 60 || rep.Ops[0].Failed() != 0 {
				t.Errorf("operations: %+v", rep.Ops)
			}
			if s := rep.Ops[0]; s.P50MS <= 0 || s.P50MS > s.P95MS || s.P95MS > s.P99MS || s.P99MS > s.MaxMS || s.OpsPerSec <= 0 {
				t.Errorf("figures out of order: %+v", s)
			}
			// Eight accounts funded, plus platform:adjustments; 68 entries.
			if v := rep.Ledger; v == nil || !v.OK || v.Accounts != 9 || v.Entries != 68 {
				t.Errorf("ledger: %+v", rep.Ledger)
			}
			out, err = runCLI(t, "bench", "--baseline", "--db", db, "--count", "10", "--clients", "2")
			if err != nil || !strings.Contains(out, "transfer ") || !strings.Contains(out, "ledger OK") {
				t.Errorf("bench --baseline again, with a table: %v\n%s", err, out)
			}
			if out, err := runCLI(t, "ledger", "verify", "--db", db); err != nil {
				t.Errorf("ledger verify: %v\n%s", err, out)
			}
		})
	}
}
