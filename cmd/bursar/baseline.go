package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/loadgen"
	"bursar.dev/bursar/internal/store"
)

// opTransfer is the baseline's one operation: a two-leg entry in its own
// transaction, the least any payment costs the database.
const opTransfer loadgen.Op = "transfer"

// baselineFunds is what each bench account starts with: 1-fen transfers
// between random pairs never drain one.
const baselineFunds = 1_000_000_000

// baselineConfig is one run of the plain transfer loop.
type baselineConfig struct {
	clients  int
	accounts int
	duration time.Duration // 0: no limit
	count    int           // 0: no limit
	seed     uint64
}

// baseline funds cfg.accounts bench accounts from platform:adjustments,
// then has cfg.clients goroutines post 1-fen transfers between random pairs
// of them, one entry per transaction, through the same store contract the
// service uses, and ends by verifying the ledger. It measures the ceiling a
// payment through the API can approach on this database and machine.
func baseline(ctx context.Context, db store.DB, cfg baselineConfig) (loadgen.Report, error) {
	rep := loadgen.Report{Target: db.Engine(), Clients: cfg.clients, Accounts: cfg.accounts, Mix: string(opTransfer) + "=1", Seed: cfg.seed}
	// Keys are unique per run, so the loop can run again on the same
	// database without replaying the last run's entries.
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	ids := make([]bursar.AccountID, cfg.accounts)
	start := time.Now()
	for i := range ids {
		ids[i] = bursar.UserCashAccount(bursar.UserID(fmt.Sprintf("bench-baseline-%04d", i+1)))
		fund := bursar.Entry{Key: "bench-baseline:" + run + ":fund:" + strconv.Itoa(i), Kind: "adjustment",
			Memo: "bench --baseline funds", PostedAt: time.Now(),
			Postings: bursar.Transfer(bursar.PlatformAdjustments, ids[i], bursar.Money{Amount: baselineFunds, Currency: bursar.CNY})}
		if err := db.InTx(ctx, func(tx store.Tx) error { _, err := tx.EntryPost(ctx, fund); return err }); err != nil {
			return rep, fmt.Errorf("fund %s: %w", ids[i], err)
		}
	}
	rep.SetupSeconds = time.Since(start).Seconds()

	var drawn atomic.Int64
	var end time.Time
	start = time.Now()
	if cfg.duration > 0 {
		end = start.Add(cfg.duration)
	}
	next := func() bool {
		if ctx.Err() != nil || (!end.IsZero() && time.Now().After(end)) {
			return false
		}
		return cfg.count <= 0 || drawn.Add(1) <= int64(cfg.count)
	}
	var seq atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	errs := map[string]int64{}
	var wg sync.WaitGroup
	for c := range cfg.clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(cfg.seed, uint64(c))) //nolint:gosec // draws of a load, not secrets
			var mine []time.Duration
			myErrs := map[string]int64{}
			for next() {
				from := rng.IntN(len(ids))
				to := (from + 1 + rng.IntN(len(ids)-1)) % len(ids)
				e := bursar.Entry{Key: "bench-baseline:" + run + ":" + strconv.FormatInt(seq.Add(1), 10), Kind: "bench_transfer",
					PostedAt: time.Now(), Postings: bursar.Transfer(ids[from], ids[to], bursar.Money{Amount: 1, Currency: bursar.CNY})}
				t0 := time.Now()
				err := db.InTx(ctx, func(tx store.Tx) error { _, err := tx.EntryPost(ctx, e); return err })
				switch {
				case err != nil && ctx.Err() != nil:
				case err != nil:
					myErrs[string(bursar.ErrorCode(err))]++
				default:
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			for code, n := range myErrs {
				errs[code] += n
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	rep.ElapsedSeconds = elapsed.Seconds()
	rep.Ops = []loadgen.OpStats{transferStats(latencies, errs, elapsed)}
	if err := ctx.Err(); err != nil {
		return rep, err
	}

	var v bursar.LedgerReport
	if err := db.InReadTx(ctx, func(tx store.Tx) (err error) { v, err = tx.LedgerVerify(ctx); return err }); err != nil {
		return rep, fmt.Errorf("ledger verification: %w", err)
	}
	rep.Ledger = &loadgen.LedgerVerification{OK: v.OK(), Accounts: v.Accounts, Entries: v.Entries, Postings: v.Postings,
		Problems: []loadgen.LedgerProblem{}}
	for _, p := range v.Problems {
		rep.Ledger.Problems = append(rep.Ledger.Problems, loadgen.LedgerProblem{Check: string(p.Check), Subject: p.Subject, Detail: p.Detail})
	}
	return rep, nil
}

// transferStats sums the run up as bench does an operation's. The loop
// keeps every latency, exact, since it runs no faster than the database
// commits: a minute of it is a few hundred thousand durations.
func transferStats(latencies []time.Duration, errs map[string]int64, elapsed time.Duration) loadgen.OpStats {
	slices.Sort(latencies)
	n := len(latencies)
	// quantile is the nearest rank, as bench's histograms use.
	quantile := func(q float64) float64 {
		if n == 0 {
			return 0
		}
		rank := min(max(int(q*float64(n)+0.999999), 1), n)
		return float64(latencies[rank-1].Microseconds()) / 1000
	}
	s := loadgen.OpStats{Op: opTransfer, Errors: errs, P50MS: quantile(0.50), P95MS: quantile(0.95), P99MS: quantile(0.99),
		MaxMS: quantile(1)}
	s.Count = int64(n) + s.Failed()
	if elapsed > 0 {
		s.OpsPerSec = float64(n) / elapsed.Seconds()
	}
	return s
}
