// Package loadgen drives a running Bursar through its v1 HTTP API, as many
// concurrent clients, and reports each operation's throughput, latency
// percentiles and errors. It is a client only: it knows the API's JSON and
// the sandboxes' control calls, never the service, storage or channel code
// behind them, so what it measures is what a marketplace's backend sees.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one run.
type Config struct {
	Addr        string        // the server, such as http://127.0.0.1:8080
	AllowRemote bool          // load a server that is not on a loopback address
	Key         string        // a platform secret key
	Clients     int           // concurrent clients, each with one request in flight
	Duration    time.Duration // stop drawing operations after this long (0: no limit)
	Count       int           // stop after drawing this many operations (0: no limit)
	Mix         Mix           // what to draw; pay=1 when empty
	Users       int           // buyers, and as many sellers (0: one of each per client)
	Seed        uint64        // seeds the draws, so a run's sequence of operations repeats
	Funds       int           // fen in each buyer's cash and each seller's earnings at the start (0: enough for millions of payments)
	Progress    func(msg string)
	// Observe, when set, is told how each drawn operation ended, by the
	// client that ran it: calls come from many goroutines at once. It lets
	// a caller check the server's state against what the load did.
	Observe func(Outcome)
}

// Outcome is how one operation ended.
type Outcome struct {
	Op    Op
	Order string // the order paid, confirmed or refunded, or the top-up or withdrawal; "" when none was made
	User  string // the buyer paying or topped up, or the seller withdrawing; "" for confirm and refund
	Code  string // the error's code, as counted in the report; "" when the operation succeeded
}

// The run's fixed choices.
const (
	price      = 100 // fen per purchase: buyers' funds last for millions of payments
	funds      = 1_000_000_000
	withdrawal = 10 // Alipay's smallest payout, and Bursar's default minimum
	pin        = "135790"
	refill     = 20     // pending orders a pay client creates when it runs out
	poolCap    = 100000 // paid orders kept for confirm and refund; more are left to their hold
)

// Run sets up users, items, wallets and pending orders (not timed), then
// has cfg.Clients clients draw operations from the mix until the duration
// or the count is reached, whichever comes first, and ends by asking the
// server to verify its ledger. An error means the run could not be made or
// its report is incomplete; operations that fail are counted in the
// report, not returned.
func Run(ctx context.Context, cfg Config) (Report, error) {
	base, err := ParseTarget(cfg.Addr, cfg.AllowRemote)
	if err != nil {
		return Report{}, err
	}
	switch {
	case cfg.Key == "":
		return Report{}, errors.New("a platform secret key is needed")
	case cfg.Clients < 1:
		return Report{}, fmt.Errorf("clients is at least 1, not %d", cfg.Clients)
	case cfg.Duration <= 0 && cfg.Count <= 0:
		return Report{}, errors.New("give a duration, a count or both: a run must end")
	case cfg.Users < 0:
		return Report{}, fmt.Errorf("users is at least 1, not %d", cfg.Users)
	case cfg.Funds < 0:
		return Report{}, fmt.Errorf("funds cannot be negative, not %d", cfg.Funds)
	}
	if cfg.Users == 0 {
		cfg.Users = cfg.Clients
	}
	if cfg.Mix.total() == 0 {
		cfg.Mix = Mix{OpPay: 1}
	}
	if cfg.Progress == nil {
		cfg.Progress = func(string) {}
	}
	if cfg.Funds == 0 {
		cfg.Funds = funds
	}
	hc := newHTTPClient(cfg.Clients)
	defer hc.CloseIdleConnections()
	r := &runner{cfg: cfg, base: base, http: hc, picker: newPicker(cfg.Mix)}
	rep := Report{Target: base, Clients: cfg.Clients, Users: cfg.Users, Mix: cfg.Mix.String(), Seed: cfg.Seed}

	cfg.Progress(fmt.Sprintf("setting up %d buyers and %d sellers on %s", cfg.Users, cfg.Users, base))
	start := time.Now()
	if err := r.setUp(ctx); err != nil {
		return rep, fmt.Errorf("set-up: %w", err)
	}
	rep.SetupSeconds = time.Since(start).Seconds()

	cfg.Progress(fmt.Sprintf("running %s with %d clients", cfg.Mix, cfg.Clients))
	start = time.Now()
	if cfg.Duration > 0 {
		r.end = start.Add(cfg.Duration)
	}
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Go(func() { r.work(ctx, w) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	rep.ElapsedSeconds = elapsed.Seconds()
	rep.Ops = summarise(r.workers, elapsed)
	if err := ctx.Err(); err != nil {
		return rep, err
	}

	cfg.Progress("verifying the ledger")
	v, err := r.verify(ctx)
	if err != nil {
		return rep, fmt.Errorf("ledger verification: %w", err)
	}
	rep.Ledger = &v
	return rep, nil
}

// runner is one run's shared state.
type runner struct {
	cfg     Config
	base    string
	http    *http.Client
	picker  picker
	end     time.Time // zero: no time limit
	drawn   atomic.Int64
	workers []*worker

	buyers, sellers, items []string // buyer i buys item i, sold by seller i
	nextSeller             atomic.Int64
	pending                pending
	paid                   pool
}

// next draws whether another operation may start: neither the time nor the
// count is used up. Operations already running finish and are counted.
func (r *runner) next(ctx context.Context) bool {
	if ctx.Err() != nil || (!r.end.IsZero() && time.Now().After(r.end)) {
		return false
	}
	return r.cfg.Count <= 0 || r.drawn.Add(1) <= int64(r.cfg.Count)
}

func (r *runner) work(ctx context.Context, w *worker) {
	for r.next(ctx) {
		switch op := r.picker.pick(w.rng.IntN(r.cfg.Mix.total())); op {
		case OpPay:
			w.pay(ctx)
		case OpPurchase:
			w.purchase(ctx)
		case OpChannel:
			w.channelPay(ctx)
		case OpConfirm:
			w.confirm(ctx)
		case OpRefund:
			w.refund(ctx)
		case OpTopup:
			w.topup(ctx)
		case OpWithdraw:
			w.withdraw(ctx)
		}
	}
}

// worker is one client: one request in flight at a time, its own random
// draws, buffers and latency histograms, so the hot path takes no lock but
// the order pools'.
type worker struct {
	r     *runner
	c     *conn
	rng   *rand.Rand
	buyer int // index of the buyer this client buys as
	stats map[Op]*opStats
}

// measure runs one operation and records its latency if it succeeded, or
// its error's code. A run cut short by its context records nothing.
func (w *worker) measure(ctx context.Context, op Op, fn func() error) error {
	start := time.Now()
	err := fn()
	d := time.Since(start)
	if err != nil && ctx.Err() != nil {
		return err
	}
	s := w.stats[op]
	if s == nil {
		s = &opStats{errors: map[string]int64{}}
		w.stats[op] = s
	}
	if err != nil {
		s.errors[errorCode(err)]++
		return err
	}
	s.latency.record(d)
	return nil
}

// observe tells the caller's Observe, if any, how an operation ended.
func (w *worker) observe(op Op, order, user string, err error) {
	if w.r.cfg.Observe == nil {
		return
	}
	o := Outcome{Op: op, Order: order, User: user}
	if err != nil {
		o.Code = errorCode(err)
	}
	w.r.cfg.Observe(o)
}

// pending holds the orders created for pay to use up, by buyer. A client
// pays its own buyer's first and then another's, so clients seldom queue on
// one wallet, and no order made in the set-up is left over while a client
// makes more.
type pending struct {
	mu      sync.Mutex
	byBuyer [][]string
}

func (p *pending) put(buyer int, id string) {
	p.mu.Lock()
	p.byBuyer[buyer] = append(p.byBuyer[buyer], id)
	p.mu.Unlock()
}

// take returns an order and the index of its buyer.
func (p *pending) take(buyer int) (string, int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.byBuyer {
		b := (buyer + i) % len(p.byBuyer)
		if q := p.byBuyer[b]; len(q) > 0 {
			p.byBuyer[b] = q[:len(q)-1]
			return q[len(q)-1], b, true
		}
	}
	return "", 0, false
}

// pool holds paid orders for the operations that settle one. The newest is
// taken first: it is the likeliest still to be paid and in the database's
// cache.
type pool struct {
	mu     sync.Mutex
	orders []string
}

func (p *pool) put(id string) {
	p.mu.Lock()
	if len(p.orders) < poolCap {
		p.orders = append(p.orders, id)
	}
	p.mu.Unlock()
}

func (p *pool) take() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.orders) == 0 {
		return "", false
	}
	id := p.orders[len(p.orders)-1]
	p.orders = p.orders[:len(p.orders)-1]
	return id, true
}
