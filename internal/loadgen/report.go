package loadgen

import (
	"slices"
	"time"
)

// Report is what a run measured.
type Report struct {
	Target         string              `json:"target"`
	Clients        int                 `json:"clients"`
	Users          int                 `json:"users"`
	Accounts       int                 `json:"accounts,omitempty"` // of a run that posts transfers, not through the API (bench --baseline)
	Mix            string              `json:"mix"`
	Seed           uint64              `json:"seed"`
	SetupSeconds   float64             `json:"setup_seconds"`
	ElapsedSeconds float64             `json:"elapsed_seconds"` // the run, without the set-up
	Ops            []OpStats           `json:"operations"`
	Ledger         *LedgerVerification `json:"ledger"` // nil when the run ended before verifying
}

// OpStats is one operation's outcome over the run. Latencies are of the
// operations that succeeded; a failure's latency says little (a refusal is
// quick, a timeout slow) and is left out.
type OpStats struct {
	Op        Op               `json:"op"`
	Count     int64            `json:"count"`       // attempts, succeeded and failed
	Errors    map[string]int64 `json:"errors"`      // failures by the code of the API's error, or what failed on the way
	OpsPerSec float64          `json:"ops_per_sec"` // successes per second of the run
	P50MS     float64          `json:"p50_ms"`
	P95MS     float64          `json:"p95_ms"`
	P99MS     float64          `json:"p99_ms"`
	MaxMS     float64          `json:"max_ms"`
}

// Failed is how many attempts failed.
func (s OpStats) Failed() int64 {
	var n int64
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// LedgerVerification is the server's answer to GET /v1/ledger/verification.
type LedgerVerification struct {
	OK       bool            `json:"ok"`
	Accounts int64           `json:"accounts"`
	Entries  int64           `json:"entries"`
	Postings int64           `json:"postings"`
	Problems []LedgerProblem `json:"problems"`
}

// LedgerProblem is one broken invariant.
type LedgerProblem struct {
	Check   string `json:"check"`
	Subject string `json:"subject"`
	Detail  string `json:"detail"`
}

// Refusals are the error codes of refusals the rules call for under load
// rather than of things going wrong: a seller past the day's withdrawals,
// a wallet spent. Every other code is a failure.
var Refusals = []string{"rate_limited", "insufficient_funds"}

// Failures counts the errors whose codes are not refusals.
func (r Report) Failures() int64 {
	var n int64
	for _, s := range r.Ops {
		for code, c := range s.Errors {
			if !slices.Contains(Refusals, code) {
				n += c
			}
		}
	}
	return n
}

// opStats is one client's record of one operation.
type opStats struct {
	latency histogram
	errors  map[string]int64
}

// summarise merges the clients' records into one line per operation, in
// the order of Ops, order_create last.
func summarise(workers []*worker, elapsed time.Duration) []OpStats {
	var out []OpStats
	for _, op := range append(slices.Clone(Ops), OpOrderCreate) {
		var h histogram
		errs := map[string]int64{}
		seen := false
		for _, w := range workers {
			s := w.stats[op]
			if s == nil {
				continue
			}
			seen = true
			h.merge(&s.latency)
			for code, n := range s.errors {
				errs[code] += n
			}
		}
		if seen {
			out = append(out, opSummary(op, &h, errs, elapsed))
		}
	}
	return out
}

func opSummary(op Op, h *histogram, errs map[string]int64, elapsed time.Duration) OpStats {
	s := OpStats{Op: op, Errors: errs, P50MS: ms(h.quantile(0.50)), P95MS: ms(h.quantile(0.95)),
		P99MS: ms(h.quantile(0.99)), MaxMS: ms(h.max)}
	s.Count = int64(h.n) + s.Failed() //nolint:gosec // a count of requests is far below 2^63
	if elapsed > 0 {
		s.OpsPerSec = float64(h.n) / elapsed.Seconds()
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
