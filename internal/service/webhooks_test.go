package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
	"bursar.dev/bursar/internal/webhook"
	"bursar.dev/bursar/internal/webhook/httpsender"
)

// receiver is a real HTTP endpoint on 127.0.0.1 that checks each
// delivery's signature and answers as the test tells it: answer(n) is
// called with the 1-based number of the request and returns the status to
// answer (after any waiting it likes).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	now    func() time.Time

	mu       sync.Mutex
	answer   func(n int, ev receivedEvent) int
	requests int
	got      []receivedEvent // signed and answered 2xx, in arrival order
}

type receivedEvent struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Subject  string `json:"subject"`
	Seq      int64  `json:"seq"`
	OrderID  string `json:"order_id"`
	Delivery string `json:"-"`
	Data     struct {
		Object map[string]any `json:"object"`
	} `json:"data"`
}

func newReceiver(t *testing.T, now func() time.Time) *receiver {
	r := &receiver{t: t, now: now, answer: func(int, receivedEvent) int { return http.StatusOK }}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	secret, answer := r.secret, r.answer
	r.requests++
	n := r.requests
	r.mu.Unlock()
	if err := webhook.Verify(secret, req.Header.Get(webhook.HeaderSignature), body, r.now(), 5*time.Minute); err != nil {
		r.t.Errorf("delivery %s: %v", req.Header.Get(webhook.HeaderDelivery), err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev receivedEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("delivery body: %v", err)
	}
	if req.Header.Get(webhook.HeaderEventID) != ev.ID || req.Header.Get(webhook.HeaderEventType) != ev.Type {
		r.t.Errorf("headers %v do not name event %s %s", req.Header, ev.ID, ev.Type)
	}
	ev.Delivery = req.Header.Get(webhook.HeaderDelivery)
	status := answer(n, ev)
	if status/100 == 2 {
		r.mu.Lock()
		r.got = append(r.got, ev)
		r.mu.Unlock()
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, http.StatusText(status))
}

func (r *receiver) setAnswer(f func(n int, ev receivedEvent) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

func (r *receiver) received() []receivedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// hookWorld is a marketplace whose deps send webhooks with a short timeout.
type hookWorld struct {
	*bundle
	hooks *service.Webhooks
}

func setupHooks(t *testing.T, db store.DB, timeout time.Duration) *hookWorld {
	b := setup(t, db)
	b.deps.Webhooks = httpsender.New(timeout)
	b.orders, b.jobs = service.NewOrders(b.deps), service.NewJobs(b.deps)
	return &hookWorld{bundle: b, hooks: service.NewWebhooks(b.deps)}
}

// endpoint registers r for events and tells it the secret.
func (w *hookWorld) endpoint(t *testing.T, r *receiver, events ...bursar.EventType) bursar.WebhookEndpoint {
	t.Helper()
	url := r.srv.URL + "/hooks"
	e, err := w.hooks.CreateEndpoint(context.Background(), w.platform, service.EndpointInput{URL: &url, Events: &events})
	must(t, err)
	r.mu.Lock()
	r.secret = e.Secret
	r.mu.Unlock()
	return e
}

func (w *hookWorld) deliver(t *testing.T) int {
	t.Helper()
	n, err := w.hooks.RunDue(context.Background())
	must(t, err)
	return n
}

// deliveries lists an endpoint's deliveries, oldest first.
func (w *hookWorld) deliveries(t *testing.T, ep bursar.EndpointID) []bursar.Delivery {
	t.Helper()
	ds, _, err := w.hooks.Deliveries(context.Background(), w.platform, bursar.DeliveryFilter{Endpoint: ep, Limit: 100})
	must(t, err)
	slices.Reverse(ds)
	return ds
}

type seen struct {
	typ    string
	seq    int64
	status string
}

func summary(evs []receivedEvent, order bursar.OrderID) []seen {
	var out []seen
	for _, e := range evs {
		if e.OrderID == string(order) {
			st, _ := e.Data.Object["status"].(string)
			out = append(out, seen{e.Type, e.Seq, st})
		}
	}
	return out
}

// TestWebhookEvents follows orders through their lives and checks that each
// change that matters reaches the endpoint once, signed, numbered per order
// and carrying the order or refund as it was just after the change.
func TestWebhookEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		w := setupHooks(t, db, 5*time.Second)
		r := newReceiver(t, w.clock.Now)
		w.endpoint(t, r, "*")
		w.fund(t, "buyer", bursar.AccountUserCash, 100_000)

		refunded := w.paid(t, w.course)
		rf, err := w.refunds().Request(ctx, w.buyer, refunded.ID, nil, "not for me")
		must(t, err)
		_, err = w.refunds().Approve(ctx, w.seller, rf.ID, "")
		must(t, err)

		partly := w.paid(t, w.session)
		amount := bursar.Amount(990)
		rf, err = w.refunds().Request(ctx, w.buyer, partly.ID, &amount, "half an hour missed")
		must(t, err)
		_, err = w.refunds().Approve(ctx, w.seller, rf.ID, "")
		must(t, err)
		rf, err = w.refunds().Request(ctx, w.buyer, partly.ID, nil, "the rest too")
		must(t, err)
		_, err = w.refunds().Reject(ctx, w.seller, rf.ID, "the chat happened")
		must(t, err)
		_, err = w.orders.Confirm(ctx, w.buyer, partly.ID)
		must(t, err)

		expired := w.buy(t, w.course)
		w.clock.Advance(time.Hour)
		w.runJobs(t)

		// Nothing is sent before the runner runs: the API only writes the
		// outbox.
		if got := r.received(); len(got) != 0 {
			t.Fatalf("received %d events before delivery ran", len(got))
		}
		w.deliver(t)
		for w.deliver(t) > 0 { // a subject's next event goes once the one before is answered
		}
		got := r.received()
		for _, c := range []struct {
			order bursar.OrderID
			want  []seen
		}{
			{refunded.ID, []seen{
				{"order.paid", 1, "paid"}, {"order.refund_requested", 2, "refund_requested"},
				{"refund.succeeded", 3, "succeeded"}, {"order.refunded", 4, "refunded"}}},
			{partly.ID, []seen{
				{"order.paid", 1, "paid"}, {"order.refund_requested", 2, "refund_requested"},
				{"refund.succeeded", 3, "succeeded"}, {"order.refund_requested", 4, "refund_requested"},
				{"refund.rejected", 5, "rejected"}, {"order.completed", 6, "completed"}}},
			{expired.ID, []seen{{"order.closed", 1, "closed"}}},
		} {
			if s := summary(got, c.order); !slices.Equal(s, c.want) {
				t.Errorf("order %s: got %v, want %v", c.order, s, c.want)
			}
		}
		if len(got) != 11 {
			t.Errorf("received %d events, want 11", len(got))
		}
		// The event as the API lists it is what was delivered.
		evs, _, err := w.hooks.Events(ctx, w.platform, bursar.EventFilter{Order: partly.ID, Limit: 100})
		must(t, err)
		if len(evs) != 6 || evs[0].Type != bursar.EventOrderCompleted || evs[0].Seq != 6 {
			t.Errorf("event list of %s: %+v", partly.ID, evs)
		}
		var obj map[string]any
		must(t, json.Unmarshal(evs[0].Data, &obj))
		if obj["fee"] != float64(100) || obj["id"] != string(partly.ID) {
			t.Errorf("completed event's order: %v", obj)
		}
		for _, d := range w.deliveries(t, "") {
			if d.Status != bursar.DeliverySucceeded || d.Attempts != 1 || d.LastStatus != http.StatusOK {
				t.Errorf("delivery %+v", d)
			}
		}
	})
}

// TestWebhookEventFilter checks that an endpoint gets only the types it
// asked for, and a disabled one nothing.
func TestWebhookEventFilter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		w := setupHooks(t, db, 5*time.Second)
		completed, all, off := newReceiver(t, w.clock.Now), newReceiver(t, w.clock.Now), newReceiver(t, w.clock.Now)
		w.endpoint(t, completed, bursar.EventOrderCompleted)
		w.endpoint(t, all, "*")
		disabled := w.endpoint(t, off, "*")
		yes := true
		_, err := w.hooks.UpdateEndpoint(ctx, w.platform, disabled.ID, service.EndpointInput{Disabled: &yes})
		must(t, err)
		w.fund(t, "buyer", bursar.AccountUserCash, 100_000)
		o := w.paid(t, w.course)
		_, err = w.orders.Confirm(ctx, w.buyer, o.ID)
		must(t, err)
		for w.deliver(t) > 0 {
		}
		if s := summary(completed.received(), o.ID); !slices.Equal(s, []seen{{"order.completed", 2, "completed"}}) {
			t.Errorf("order.completed endpoint got %v", s)
		}
		if s := summary(all.received(), o.ID); len(s) != 2 {
			t.Errorf("* endpoint got %v", s)
		}
		if n := len(off.received()); n != 0 {
			t.Errorf("disabled endpoint got %d events", n)
		}
	})
}

// TestWebhookRetries: an endpoint that fails is tried again with growing
// waits, a subject's later events wait behind the failing one, and after
// three days the delivery fails; a re-send then delivers the same event.
func TestWebhookRetries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		w := setupHooks(t, db, 5*time.Second)
		r := newReceiver(t, w.clock.Now)
		r.setAnswer(func(int, receivedEvent) int { return http.StatusServiceUnavailable })
		ep := w.endpoint(t, r, "*")
		w.fund(t, "buyer", bursar.AccountUserCash, 100_000)
		o := w.paid(t, w.course)
		_, err := w.orders.Confirm(ctx, w.buyer, o.ID)
		must(t, err)

		if n := w.deliver(t); n != 1 {
			t.Fatalf("first round sent %d deliveries, want only the order's first event", n)
		}
		var waits []time.Duration
		for range 100 {
			ds := w.deliveries(t, ep.ID)
			if ds[0].Status != bursar.DeliveryPending {
				break
			}
			if ds[1].Attempts != 0 {
				t.Fatalf("the second event was sent while the first was failing: %+v", ds[1])
			}
			wait := ds[0].NextAt.Sub(w.clock.Now())
			waits = append(waits, wait)
			w.clock.Advance(wait)
			w.deliver(t)
		}
		ds := w.deliveries(t, ep.ID)
		first := ds[0]
		if first.Status != bursar.DeliveryFailed || first.LastStatus != http.StatusServiceUnavailable ||
			first.LastError == "" || first.LastBody != "Service Unavailable" {
			t.Fatalf("after three days: %+v", first)
		}
		if age := w.clock.Now().Sub(first.CreatedAt); age != 72*time.Hour {
			t.Errorf("failed after %s, want 72h", age)
		}
		for i := 1; i < len(waits)-1; i++ { // the last wait is cut short by the deadline
			if waits[i] < waits[i-1] && waits[i-1] < 6*time.Hour {
				t.Errorf("wait %d (%s) is shorter than the one before (%s)", i, waits[i], waits[i-1])
			}
		}
		if waits[0] < 30*time.Second || waits[0] > 34*time.Second || len(waits) < 10 || len(waits) > 30 {
			t.Errorf("waits %v: want from 30s, doubling to 6h", waits)
		}
		_, attempts, err := w.hooks.Delivery(ctx, w.platform, first.ID)
		must(t, err)
		if len(attempts) != first.Attempts || attempts[0].Status != http.StatusServiceUnavailable {
			t.Errorf("%d attempts listed for %d made: %+v", len(attempts), first.Attempts, attempts[0])
		}

		// The failed head no longer holds the next event back; the endpoint
		// is fixed, and the failed event is sent again by hand.
		r.setAnswer(func(int, receivedEvent) int { return http.StatusNoContent })
		w.deliver(t)
		resent, err := w.hooks.Resend(ctx, w.platform, first.Event, "")
		must(t, err)
		w.deliver(t)
		got := r.received()
		if len(got) != 2 || got[0].Type != "order.completed" || got[1].Type != "order.paid" || got[1].Delivery == "" ||
			len(resent) != 1 || got[1].ID != string(first.Event) {
			t.Errorf("after the fix: %+v", got)
		}
	})
}

// TestWebhookTimeouts: an endpoint that answers after the timeout has its
// delivery retried, so it may see an event twice (delivery is at least
// once); one that never answers holds only its own workers, while another
// endpoint and the API go on.
func TestWebhookTimeouts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		w := setupHooks(t, db, 200*time.Millisecond)
		late := newReceiver(t, w.clock.Now)
		late.setAnswer(func(n int, _ receivedEvent) int {
			if n == 1 {
				time.Sleep(time.Second) // answers, but after the sender gave up
			}
			return http.StatusOK
		})
		lateEP := w.endpoint(t, late, bursar.EventOrderPaid)
		w.fund(t, "buyer", bursar.AccountUserCash, 100_000)
		o := w.paid(t, w.course)
		w.deliver(t)
		d := w.deliveries(t, lateEP.ID)[0]
		if d.Status != bursar.DeliveryPending || d.Attempts != 1 || d.LastStatus != 0 || d.LastError == "" {
			t.Fatalf("after a late answer: %+v", d)
		}
		w.clock.Advance(d.NextAt.Sub(w.clock.Now()))
		w.deliver(t)
		eventually(t, "the late answer", func() bool { return len(late.received()) == 2 })
		got := late.received()
		if got[0].ID != got[1].ID || got[0].OrderID != string(o.ID) {
			t.Errorf("late endpoint got %+v, want one event twice", got)
		}

		// A dead endpoint: its handler blocks until the test lets it go.
		release := make(chan struct{})
		var once sync.Once
		unblock := func() { once.Do(func() { close(release) }) }
		defer unblock()
		dead := newReceiver(t, w.clock.Now)
		dead.setAnswer(func(int, receivedEvent) int { <-release; return http.StatusOK })
		w.endpoint(t, dead, "*")
		alive := newReceiver(t, w.clock.Now)
		w.endpoint(t, alive, "*")

		// A runner whose sender waits long, so the dead endpoint really
		// holds its workers.
		slow := w.deps
		slow.Webhooks = httpsender.New(time.Minute)
		hooks := service.NewWebhooks(slow)
		for range 6 { // more orders than a dead endpoint has workers
			w.paid(t, w.session)
		}
		if _, err := hooks.DispatchDue(ctx); err != nil {
			t.Fatal(err)
		}
		// While the dead endpoint holds its requests, the API still pays
		// orders and the live endpoint gets every event, including the
		// new one.
		last := w.paid(t, w.session)
		eventually(t, "the live endpoint to get every event", func() bool {
			if _, err := hooks.DispatchDue(ctx); err != nil {
				t.Fatal(err)
			}
			return len(summary(alive.received(), last.ID)) == 1 && len(alive.received()) == 7
		})
		unblock()
		hooks.Wait()
	})
}

// TestWebhookEndpointInput checks what an endpoint may be.
func TestWebhookEndpointInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		w := setupHooks(t, db, time.Second)
		str := func(s string) *string { return &s }
		types := func(ts ...bursar.EventType) *[]bursar.EventType { return &ts }
		long := string(make([]byte, 501))
		for _, c := range []struct {
			name  string
			actor bursar.Actor
			in    service.EndpointInput
			code  bursar.Code
			param string
		}{
			{"no url", w.platform, service.EndpointInput{Events: types("*")}, bursar.Invalid, "url"},
			{"no events", w.platform, service.EndpointInput{URL: str("https://example.com/h")}, bursar.Invalid, "events"},
			{"empty events", w.platform, service.EndpointInput{URL: str("https://example.com/h"), Events: types()}, bursar.Invalid, "events"},
			{"unknown event", w.platform, service.EndpointInput{URL: str("https://example.com/h"), Events: types("order.eaten")}, bursar.Invalid, "events"},
			{"star among others", w.platform, service.EndpointInput{URL: str("https://example.com/h"), Events: types("*", "order.paid")}, bursar.Invalid, "events"},
			{"ftp", w.platform, service.EndpointInput{URL: str("ftp://example.com/h"), Events: types("*")}, bursar.Invalid, "url"},
			{"relative", w.platform, service.EndpointInput{URL: str("/hooks"), Events: types("*")}, bursar.Invalid, "url"},
			{"user info", w.platform, service.EndpointInput{URL: str("https://a:b@example.com/h"), Events: types("*")}, bursar.Invalid, "url"},
			{"long description", w.platform, service.EndpointInput{URL: str("https://example.com/h"), Events: types("*"), Description: &long}, bursar.Invalid, "description"},
			{"a user", w.buyer, service.EndpointInput{URL: str("https://example.com/h"), Events: types("*")}, bursar.Forbidden, ""},
		} {
			_, err := w.hooks.CreateEndpoint(ctx, c.actor, c.in)
			var be *bursar.Error
			if bursar.ErrorCode(err) != c.code {
				t.Errorf("%s: got %v, want %s", c.name, err, c.code)
			} else if c.param != "" && (!errors.As(err, &be) || be.Param != c.param) {
				t.Errorf("%s: got %v, want param %s", c.name, err, c.param)
			}
		}
		list, err := w.hooks.Endpoints(ctx, w.platform)
		must(t, err)
		if len(list) != 0 {
			t.Errorf("refused endpoints were stored: %+v", list)
		}
		e, err := w.hooks.CreateEndpoint(ctx, w.platform, service.EndpointInput{URL: str("https://example.com/h"),
			Events: types("order.paid", "order.completed", "order.paid")})
		must(t, err)
		if !slices.Equal(e.Events, []bursar.EventType{"order.completed", "order.paid"}) || len(e.Secret) < 30 {
			t.Errorf("created %+v", e)
		}
		rotated, err := w.hooks.RotateSecret(ctx, w.platform, e.ID)
		must(t, err)
		if rotated.Secret == e.Secret {
			t.Error("rotating kept the secret")
		}
		if _, err := w.hooks.Resend(ctx, w.platform, "evt_none", ""); bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("re-sending an unknown event: %v", err)
		}
	})
}

// eventTypes lists the types of an order's events in the outbox, oldest
// first.
func eventTypes(t *testing.T, b *bundle, id bursar.OrderID) []bursar.EventType {
	t.Helper()
	evs, _, err := service.NewWebhooks(b.deps).Events(context.Background(), b.platform, bursar.EventFilter{Order: id, Limit: 100})
	must(t, err)
	var out []bursar.EventType
	for i, e := range slices.Backward(evs) {
		if e.Seq != int64(len(evs)-i) {
			t.Errorf("event %s of %s has seq %d, want %d", e.Type, id, e.Seq, len(evs)-i)
		}
		out = append(out, e.Type)
	}
	return out
}
