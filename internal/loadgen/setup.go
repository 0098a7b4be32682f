package loadgen

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
)

// setUp makes what the run draws on, through the API as the platform:
// buyers with a payment password and wallets funded by an adjustment,
// sellers with one session each to sell (held a week, so that only confirm
// and refund settle them) and earnings to withdraw, and the pending orders
// the pay clients start with.
func (r *runner) setUp(ctx context.Context) error {
	for i := range r.cfg.Clients {
		r.workers = append(r.workers, &worker{r: r, c: newConn(r.http, r.base, r.cfg.Key),
			rng: rand.New(rand.NewPCG(r.cfg.Seed, uint64(i))), buyer: i % r.cfg.Users, stats: map[Op]*opStats{}}) //nolint:gosec // draws of a load, not secrets
	}
	n := r.cfg.Users
	r.buyers, r.sellers, r.items = make([]string, n), make([]string, n), make([]string, n)
	err := r.parallel(ctx, n, func(c *conn, i int) error {
		var err error
		if r.buyers[i], err = r.user(ctx, c, "user_cash", r.cfg.Funds); err != nil {
			return err
		}
		if r.sellers[i], err = r.user(ctx, c, "user_earnings", r.cfg.Funds); err != nil {
			return err
		}
		var it object
		c.body = jsonBody(c.body, "seller_id", r.sellers[i], "kind", "session", "title", "Load test session "+strconv.Itoa(i+1),
			"price", price, "hold_seconds", 7*24*3600, "duration_seconds", 24*3600)
		err = c.call(ctx, "POST", "/v1/items", c.body, &it)
		r.items[i] = it.ID
		return err
	})
	if err != nil || r.cfg.Mix[OpPay] == 0 {
		return err
	}
	// Enough pending orders for a counted run's pays, so that the run
	// measures paying alone; a timed run starts with some and creates more
	// as it goes, reported apart as order_create.
	orders := 50 * r.cfg.Clients
	if r.cfg.Count > 0 {
		orders = r.cfg.Count*r.cfg.Mix[OpPay]/r.cfg.Mix.total() + r.cfg.Clients
	}
	r.pending.byBuyer = make([][]string, n)
	return r.parallel(ctx, orders, func(c *conn, i int) error {
		b := i % n
		c.body = jsonBody(c.body, "buyer_id", r.buyers[b], "item_id", r.items[b])
		var o object
		if err := c.call(ctx, "POST", "/v1/orders", c.body, &o); err != nil {
			return err
		}
		r.pending.put(b, o.ID)
		return nil
	})
}

// user creates a user with the payment password and credits one of their
// wallet's accounts.
func (r *runner) user(ctx context.Context, c *conn, account string, amount int) (string, error) {
	var u object
	if err := c.call(ctx, "POST", "/v1/users", []byte(`{}`), &u); err != nil {
		return "", err
	}
	c.body = jsonBody(c.body, "kind", "payment", "new_password", pin)
	if err := c.call(ctx, "POST", "/v1/users/"+u.ID+"/password", c.body, nil); err != nil {
		return "", err
	}
	c.body = jsonBody(c.body, "account", account, "amount", amount, "reason", "load test funds", "operator", "bursar bench")
	return u.ID, c.call(ctx, "POST", "/v1/users/"+u.ID+"/wallet/adjustments", c.body, nil)
}

// parallel runs fn for 0 ≤ i < n on every client's connection at once, and
// returns the first error, after which it starts no more.
func (r *runner) parallel(ctx context.Context, n int, fn func(c *conn, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if err := fn(w.c, i); err != nil {
					once.Do(func() { first = err })
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
