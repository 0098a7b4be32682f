package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers of the fault tests (crash_test.go, pgrestart_test.go): a
// marketplace of funded buyers with pending orders, a load that pays them
// concurrently over the v1 API as a careful client would, and the checks
// that no payment was lost, doubled or left half done.

const (
	loadBuyers     = 8
	loadPerBuyer   = 25
	loadPrice      = 100
	loadWorkers    = 16
	loadPayBody    = `{"method":"wallet","payment_password":"246810"}`
	loadReqTimeout = 10 * time.Second
)

// loadOrder is a pending order of the load and its buyer's token.
type loadOrder struct {
	id, buyer, token string
}

// payLoad is what the load's client knows: the orders, and the payments it
// saw acknowledged.
type payLoad struct {
	t      *testing.T
	key    string // platform key
	buyers []string
	orders []loadOrder
	http   *http.Client

	mu       sync.Mutex
	acked    map[string]bool // order ID → a pay request for it was answered 2xx
	tried    map[string]bool // order ID → a pay request for it was sent
	statuses map[int]int     // non-2xx answers by status; 0 is no answer
	bad      []string        // answers a client cannot act on, for the failure message
}

// newPayLoad creates a seller with a session for sale and buyers who each
// have exactly enough in their wallets for their pending orders.
func newPayLoad(t *testing.T, base, key string) *payLoad {
	t.Helper()
	a := client{t, base}
	l := &payLoad{t: t, key: key, http: &http.Client{Timeout: loadReqTimeout},
		acked: map[string]bool{}, tried: map[string]bool{}, statuses: map[int]int{}}
	a.user(key, "seller")
	item := a.must(201, key, "POST", "/v1/items",
		fmt.Sprintf(`{"seller_id":"seller","kind":"session","title":"Chat","price":%d,"duration_seconds":3600}`, loadPrice))["id"].(string)
	for b := range loadBuyers {
		id := fmt.Sprintf("buyer%d", b)
		token := a.user(key, id)
		a.must(201, key, "POST", "/v1/users/"+id+"/wallet/adjustments",
			fmt.Sprintf(`{"amount":%d,"reason":"funds"}`, loadPerBuyer*loadPrice))
		l.buyers = append(l.buyers, id)
		for range loadPerBuyer {
			o := a.must(201, token, "POST", "/v1/orders", `{"buyer_id":"`+id+`","item_id":"`+item+`"}`)["id"].(string)
			l.orders = append(l.orders, loadOrder{id: o, buyer: id, token: token})
		}
	}
	return l
}

// pay sends one payment of o under key and records what came back. It
// returns the status (0 for no answer) and the error object of a refusal.
func (l *payLoad) pay(ctx context.Context, base string, o loadOrder, key string) (int, apiError) {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/orders/"+o.id+"/pay", strings.NewReader(loadPayBody))
	if err != nil {
		l.t.Error(err)
		return 0, apiError{}
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	req.Header.Set("Idempotency-Key", key)
	l.mu.Lock()
	l.tried[o.id] = true
	l.mu.Unlock()
	resp, err := l.http.Do(req)
	if err != nil {
		l.record(o, 0, "", nil)
		return 0, apiError{}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		// The status line came, but the body did not: the client cannot
		// tell what the server meant, so it counts as no answer.
		l.record(o, 0, "", nil)
		return 0, apiError{}
	}
	var body struct {
		Status string   `json:"status"`
		Error  apiError `json:"error"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		l.record(o, resp.StatusCode, "", fmt.Errorf("not JSON: %q", b))
		return resp.StatusCode, apiError{}
	}
	var problem error
	switch {
	case resp.StatusCode < 300 && body.Status != "paid":
		problem = fmt.Errorf("acknowledged, but the order is %q", body.Status)
	case resp.StatusCode == http.StatusServiceUnavailable &&
		(body.Error.Code != "unavailable" || body.Error.Type != "api_error" || resp.Header.Get("Retry-After") == ""):
		problem = fmt.Errorf("a 503 that does not say to retry: %s (Retry-After %q)", b, resp.Header.Get("Retry-After"))
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable:
		problem = fmt.Errorf("%s", b)
	}
	l.record(o, resp.StatusCode, body.Status, problem)
	return resp.StatusCode, body.Error
}

// apiError is the v1 API's error object, as far as the load reads it.
type apiError struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// inFlight reports whether e says the first request under its key has not
// finished (or was abandoned within the lease).
func (e apiError) inFlight() bool { return e.Type == "idempotency_error" && e.Code == "conflict" }

func (l *payLoad) record(o loadOrder, status int, orderStatus string, problem error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case problem != nil:
		l.bad = append(l.bad, fmt.Sprintf("pay %s: %d %v", o.id, status, problem))
	case status >= 200 && status < 300 && orderStatus == "paid":
		l.acked[o.id] = true
		return
	}
	l.statuses[status]++
}

func (l *payLoad) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// drive pays the orders from loadWorkers goroutines until every one is
// acknowledged or ctx ends. With retry, an order whose payment was not
// acknowledged goes to the back of the queue, to be sent again under the
// same key after a short pause; an order its key cannot pay any more (in
// flight at a failure, so refused until its lease ends) is looked up, and
// paid under a new key if it is still pending. onAck is called after each
// acknowledgement with their count so far.
func (l *payLoad) drive(ctx context.Context, base string, retry bool, onAck func(n int)) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan loadOrder, len(l.orders))
	for _, o := range l.orders {
		queue <- o
	}
	keys := map[string]string{}
	for _, o := range l.orders {
		keys[o.id] = "pay-" + o.id
	}
	var keysMu sync.Mutex
	var wg sync.WaitGroup
	for range loadWorkers {
		wg.Go(func() {
			for {
				var o loadOrder
				select {
				case <-ctx.Done():
					return
				case o = <-queue:
				}
				keysMu.Lock()
				key := keys[o.id]
				keysMu.Unlock()
				status, e := l.pay(ctx, base, o, key)
				switch {
				case status >= 200 && status < 300:
					if n := l.ackedCount(); n == len(l.orders) {
						cancel()
					} else if onAck != nil {
						onAck(n)
					}
					continue
				case !retry || ctx.Err() != nil:
					continue
				case e.inFlight() || e.Code == "wrong_state":
					if l.orderStatus(ctx, base, o) == "paid" {
						l.mu.Lock()
						l.acked[o.id] = true
						l.mu.Unlock()
						if l.ackedCount() == len(l.orders) {
							cancel()
						}
						continue
					}
					keysMu.Lock()
					keys[o.id] += "-again"
					keysMu.Unlock()
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
				queue <- o
			}
		})
	}
	wg.Wait()
}

// orderStatus reads an order's status as its buyer; "" when there is no
// answer.
func (l *payLoad) orderStatus(ctx context.Context, base string, o loadOrder) string {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/orders/"+o.id, nil)
	if err != nil {
		return ""
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	resp, err := l.http.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var body struct{ Status string }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return ""
	}
	return body.Status
}

// checkNoBadAnswers fails t if any answer was one a client cannot act on:
// a 500, a 503 without its retriable error, an acknowledgement of an order
// not paid.
func (l *payLoad) checkNoBadAnswers() {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bad {
		l.t.Error(b)
	}
}

// checkState reads every order and wallet through the API and checks that
// an acknowledged payment happened exactly once, that any other order is
// paid once or not at all, and that each buyer's wallet lacks exactly the
// price of their paid orders. It returns the orders still pending.
func (l *payLoad) checkState(base string) []loadOrder {
	l.t.Helper()
	a := client{l.t, base}
	l.mu.Lock()
	defer l.mu.Unlock()
	paid := map[string]int{}
	var pending []loadOrder
	for _, o := range l.orders {
		got := a.must(200, l.key, "GET", "/v1/orders/"+o.id+"?expand=entries", "")
		pays := 0
		entries, _ := got["entries"].([]any) // absent when there are none
		for _, e := range entries {
			if e.(map[string]any)["kind"] == "wallet_pay" {
				pays++
			}
		}
		switch {
		case got["status"] == "paid" && pays == 1:
			paid[o.buyer]++
		case got["status"] == "pending" && pays == 0 && !l.acked[o.id]:
			pending = append(pending, o)
		default:
			l.t.Errorf("order %s (acknowledged %t, tried %t): status %v with %d wallet_pay entries",
				o.id, l.acked[o.id], l.tried[o.id], got["status"], pays)
		}
	}
	for _, b := range l.buyers {
		w := a.must(200, l.key, "GET", "/v1/users/"+b+"/wallet", "")
		if want := float64((loadPerBuyer - paid[b]) * loadPrice); w["total"] != want {
			l.t.Errorf("%s has %v in their wallet after %d payments; want %v", b, w["total"], paid[b], want)
		}
	}
	return pending
}

func (l *payLoad) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d orders, %d tried, %d acknowledged; other answers by status (0: none): %v",
		len(l.orders), len(l.tried), len(l.acked), l.statuses)
}
