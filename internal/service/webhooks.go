package service

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/webhook"
	"bursar.dev/bursar/internal/wire"
)

// Webhooks manages the platform's webhook endpoints and delivers the outbox
// to them. Deliveries run on goroutines of their own, at most
// deliveryWorkers at once and perEndpoint per endpoint, so a slow or dead
// endpoint holds a few workers for at most the sender's timeout each, and
// never a request of the API or a delivery to another endpoint.
type Webhooks struct {
	deps     Deps
	workers  chan struct{}
	mu       sync.Mutex
	busy     map[bursar.EndpointID]int // deliveries in flight per endpoint
	inFlight sync.WaitGroup
}

const (
	deliveryWorkers = 16
	perEndpoint     = 4
	// deliveryLease hides a delivery being sent from other processes; it is
	// longer than any sender's timeout (serve uses 10 seconds).
	deliveryLease = 2 * time.Minute
	// deliveryWindow is how long a delivery is retried before it fails.
	deliveryWindow = 72 * time.Hour
	// firstRetry is the wait after the first failure; it doubles after each
	// one, up to maxRetryWait.
	firstRetry   = 30 * time.Second
	maxRetryWait = 6 * time.Hour
)

// NewWebhooks returns the webhook use cases and delivery runner.
func NewWebhooks(d Deps) *Webhooks {
	return &Webhooks{deps: d, workers: make(chan struct{}, deliveryWorkers), busy: map[bursar.EndpointID]int{}}
}

// EndpointInput is a webhook endpoint to create, or the fields to change
// (nil ones stay as they are).
type EndpointInput struct {
	URL         *string
	Events      *[]bursar.EventType
	Description *string
	Disabled    *bool
}

func (in EndpointInput) apply(e *bursar.WebhookEndpoint) error {
	if in.URL != nil {
		if err := bursar.ValidateWebhookURL(*in.URL); err != nil {
			return err
		}
		e.URL = *in.URL
	}
	if in.Events != nil {
		if err := bursar.ValidateEventTypes(*in.Events); err != nil {
			return err
		}
		e.Events = slices.Compact(slices.Sorted(slices.Values(*in.Events)))
	}
	if in.Description != nil {
		if err := bursar.ValidateDescription(*in.Description); err != nil {
			return err
		}
		e.Description = *in.Description
	}
	if in.Disabled != nil {
		e.Disabled = *in.Disabled
	}
	return nil
}

// CreateEndpoint registers a URL to be sent the events it names, and gives
// it the secret its deliveries are signed with. Only the platform may.
func (w *Webhooks) CreateEndpoint(ctx context.Context, actor bursar.Actor, in EndpointInput) (bursar.WebhookEndpoint, error) {
	if err := platformOnly(actor); err != nil {
		return bursar.WebhookEndpoint{}, err
	}
	if in.URL == nil {
		return bursar.WebhookEndpoint{}, bursar.InvalidParam("url", "An endpoint needs a url.")
	}
	if in.Events == nil {
		return bursar.WebhookEndpoint{}, bursar.InvalidParam("events", `An endpoint needs the events it wants, or ["*"].`)
	}
	now := w.deps.now()
	e := bursar.WebhookEndpoint{ID: bursar.EndpointID(newID("we_")), Secret: newToken("whsec_"), CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&e); err != nil {
		return bursar.WebhookEndpoint{}, err
	}
	err := w.deps.DB.InTx(ctx, func(tx store.Tx) error {
		if err := tx.EndpointInsert(ctx, e); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "webhook.endpoint_create", string(e.ID), e.URL, now)
	})
	return e, err
}

// UpdateEndpoint changes an endpoint. A disabled endpoint is sent nothing
// more, and its pending deliveries fail when they come due.
func (w *Webhooks) UpdateEndpoint(ctx context.Context, actor bursar.Actor, id bursar.EndpointID, in EndpointInput) (bursar.WebhookEndpoint, error) {
	return w.changeEndpoint(ctx, actor, id, "webhook.endpoint_update", in.apply)
}

// RotateSecret gives an endpoint a new secret at once; deliveries from then
// on are signed with it only.
func (w *Webhooks) RotateSecret(ctx context.Context, actor bursar.Actor, id bursar.EndpointID) (bursar.WebhookEndpoint, error) {
	return w.changeEndpoint(ctx, actor, id, "webhook.secret_rotate", func(e *bursar.WebhookEndpoint) error {
		e.Secret = newToken("whsec_")
		return nil
	})
}

func (w *Webhooks) changeEndpoint(ctx context.Context, actor bursar.Actor, id bursar.EndpointID, action string,
	change func(*bursar.WebhookEndpoint) error) (bursar.WebhookEndpoint, error) {
	if err := platformOnly(actor); err != nil {
		return bursar.WebhookEndpoint{}, err
	}
	var e bursar.WebhookEndpoint
	err := w.deps.DB.InTx(ctx, func(tx store.Tx) error {
		var err error
		if e, err = tx.EndpointGet(ctx, id); err != nil {
			return err
		}
		if err := change(&e); err != nil {
			return err
		}
		e.UpdatedAt = w.deps.now()
		if err := tx.EndpointUpdate(ctx, e); err != nil {
			return err
		}
		return audit(ctx, tx, actor, action, string(e.ID), fmt.Sprintf("%s %v disabled=%t", e.URL, e.Events, e.Disabled), e.UpdatedAt)
	})
	return e, err
}

// Endpoint returns an endpoint.
func (w *Webhooks) Endpoint(ctx context.Context, actor bursar.Actor, id bursar.EndpointID) (bursar.WebhookEndpoint, error) {
	var e bursar.WebhookEndpoint
	err := w.platformRead(ctx, actor, func(tx store.Tx) (err error) {
		e, err = tx.EndpointGet(ctx, id)
		return err
	})
	return e, err
}

// Endpoints lists every endpoint, oldest first.
func (w *Webhooks) Endpoints(ctx context.Context, actor bursar.Actor) ([]bursar.WebhookEndpoint, error) {
	var list []bursar.WebhookEndpoint
	err := w.platformRead(ctx, actor, func(tx store.Tx) (err error) {
		list, err = tx.EndpointList(ctx)
		return err
	})
	return list, err
}

// Event returns an event.
func (w *Webhooks) Event(ctx context.Context, actor bursar.Actor, id bursar.EventID) (bursar.Event, error) {
	var e bursar.Event
	err := w.platformRead(ctx, actor, func(tx store.Tx) (err error) {
		e, err = tx.EventGet(ctx, id)
		return err
	})
	return e, err
}

// Events lists events, newest first.
func (w *Webhooks) Events(ctx context.Context, actor bursar.Actor, f bursar.EventFilter) ([]bursar.Event, bool, error) {
	if err := checkLimit(f.Limit); err != nil {
		return nil, false, err
	}
	if f.Type != "" && !slices.Contains(bursar.EventTypes, f.Type) {
		return nil, false, bursar.InvalidParam("type", "Unknown event type %q.", f.Type)
	}
	var list []bursar.Event
	var more bool
	err := w.platformRead(ctx, actor, func(tx store.Tx) (err error) {
		list, more, err = tx.EventList(ctx, f)
		return err
	})
	return list, more, err
}

// Deliveries lists deliveries, newest first, with their last answers.
func (w *Webhooks) Deliveries(ctx context.Context, actor bursar.Actor, f bursar.DeliveryFilter) ([]bursar.Delivery, bool, error) {
	if err := checkLimit(f.Limit); err != nil {
		return nil, false, err
	}
	switch f.Status {
	case "", bursar.DeliveryPending, bursar.DeliverySucceeded, bursar.DeliveryFailed:
	default:
		return nil, false, bursar.InvalidParam("status", "A delivery's status is pending, succeeded or failed.")
	}
	var list []bursar.Delivery
	var more bool
	err := w.platformRead(ctx, actor, func(tx store.Tx) (err error) {
		list, more, err = tx.DeliveryList(ctx, f)
		return err
	})
	return list, more, err
}

// Delivery returns a delivery and every attempt at it, oldest first.
func (w *Webhooks) Delivery(ctx context.Context, actor bursar.Actor, id bursar.DeliveryID) (bursar.Delivery, []bursar.DeliveryAttempt, error) {
	var d bursar.Delivery
	var attempts []bursar.DeliveryAttempt
	err := w.platformRead(ctx, actor, func(tx store.Tx) (err error) {
		if d, err = tx.DeliveryGet(ctx, id); err != nil {
			return err
		}
		attempts, err = tx.DeliveryAttemptList(ctx, id)
		return err
	})
	return d, attempts, err
}

// Resend delivers an event again, as a new delivery: to one endpoint, or,
// when endpoint is empty, to every enabled endpoint that wants its type.
// The event keeps its ID and seq, so a receiver that has it already can
// tell.
func (w *Webhooks) Resend(ctx context.Context, actor bursar.Actor, id bursar.EventID, endpoint bursar.EndpointID) ([]bursar.Delivery, error) {
	if err := platformOnly(actor); err != nil {
		return nil, err
	}
	var out []bursar.Delivery
	err := w.deps.DB.InTx(ctx, func(tx store.Tx) error {
		out = nil
		e, err := tx.EventGet(ctx, id)
		if err != nil {
			return err
		}
		var targets []bursar.WebhookEndpoint
		if endpoint != "" {
			ep, err := tx.EndpointGet(ctx, endpoint)
			if err != nil {
				return err
			}
			if ep.Disabled {
				return bursar.Errorf(bursar.WrongState, "The endpoint %s is disabled; enable it first.", ep.ID)
			}
			targets = append(targets, ep)
		} else {
			all, err := tx.EndpointList(ctx)
			if err != nil {
				return err
			}
			for _, ep := range all {
				if ep.Wants(e.Type) {
					targets = append(targets, ep)
				}
			}
			if len(targets) == 0 {
				return bursar.Errorf(bursar.WrongState, "No enabled endpoint wants %s events; name one with endpoint_id.", e.Type)
			}
		}
		now := w.deps.now()
		for _, ep := range targets {
			d := bursar.Delivery{Endpoint: ep.ID, Event: e.ID, Type: e.Type, Subject: e.Subject, Seq: e.Seq,
				Status: bursar.DeliveryPending, NextAt: now, CreatedAt: now}
			if d.ID, err = tx.DeliveryInsert(ctx, d); err != nil {
				return err
			}
			out = append(out, d)
			if err := audit(ctx, tx, actor, "webhook.resend", string(e.ID), fmt.Sprintf("delivery %d to %s", d.ID, ep.ID), now); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func (w *Webhooks) platformRead(ctx context.Context, actor bursar.Actor, fn func(store.Tx) error) error {
	if err := platformOnly(actor); err != nil {
		return err
	}
	return w.deps.read(ctx, fn)
}

func checkLimit(n int) error {
	if n < 1 || n > 100 {
		return bursar.InvalidParam("limit", "A limit is between 1 and 100.")
	}
	return nil
}

// Wait waits for the deliveries DispatchDue started.
func (w *Webhooks) Wait() { w.inFlight.Wait() }

// RunDue sends what is due and waits for the answers: DispatchDue, then
// Wait.
func (w *Webhooks) RunDue(ctx context.Context) (int, error) {
	n, err := w.DispatchDue(ctx)
	w.Wait()
	return n, err
}

// DispatchDue leases the deliveries that are due, as many as free workers
// allow, and sends each on a goroutine; it returns how many it started
// without waiting for them (see Wait). Each endpoint gets its own share of
// workers, so one endpoint's backlog never starves another's.
func (w *Webhooks) DispatchDue(ctx context.Context) (int, error) {
	if w.deps.Webhooks == nil {
		return 0, nil
	}
	var due []bursar.EndpointID
	now := w.deps.now()
	if err := w.deps.read(ctx, func(tx store.Tx) (err error) {
		due, err = tx.DeliveryDueEndpoints(ctx, now)
		return err
	}); err != nil {
		return 0, err
	}
	started := 0
	var errs []error
	for _, id := range due {
		n := w.reserve(id)
		if n == 0 {
			continue
		}
		ep, batch, err := w.claim(ctx, id, n)
		if err != nil {
			// Nothing of the claim was committed, whatever it read: free
			// every worker, and go on with the other endpoints.
			w.release(id, n)
			errs = append(errs, err)
			continue
		}
		w.release(id, n-len(batch))
		for _, b := range batch {
			// Once started, a delivery runs to its end (the sender's
			// timeout bounds it) even when ctx ends: shutdown stops new
			// deliveries and waits for this one.
			work := context.WithoutCancel(ctx)
			w.inFlight.Go(func() {
				defer w.release(id, 1)
				w.deliverSafely(work, ep, b)
			})
		}
		started += len(batch)
	}
	return started, errors.Join(errs...)
}

// reserve takes up to perEndpoint workers for an endpoint, as many as are
// free, and returns how many it took.
func (w *Webhooks) reserve(id bursar.EndpointID) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for w.busy[id]+n < perEndpoint {
		select {
		case w.workers <- struct{}{}:
			n++
			continue
		default:
		}
		break
	}
	w.busy[id] += n
	return n
}

func (w *Webhooks) release(id bursar.EndpointID, n int) {
	if n == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for range n {
		<-w.workers
	}
	if w.busy[id] -= n; w.busy[id] == 0 {
		delete(w.busy, id)
	}
}

// pendingSend is a leased delivery with the event it carries.
type pendingSend struct {
	d bursar.Delivery
	e bursar.Event
}

// claim leases up to n of an endpoint's due deliveries. Those of an endpoint
// that is gone or disabled fail at once instead.
func (w *Webhooks) claim(ctx context.Context, id bursar.EndpointID, n int) (bursar.WebhookEndpoint, []pendingSend, error) {
	var ep bursar.WebhookEndpoint
	var batch []pendingSend
	err := w.deps.DB.InTx(ctx, func(tx store.Tx) error {
		batch = nil
		now := w.deps.now()
		var err error
		ep, err = tx.EndpointGet(ctx, id)
		if err != nil && bursar.ErrorCode(err) != bursar.NotFound {
			return err
		}
		ds, err := tx.DeliveryClaim(ctx, id, now, now.Add(deliveryLease), n)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if ep.ID == "" || ep.Disabled {
				d.Status, d.LastError = bursar.DeliveryFailed, "the endpoint is disabled or gone"
				if err := tx.DeliveryUpdate(ctx, d); err != nil {
					return err
				}
				continue
			}
			e, err := tx.EventGet(ctx, d.Event)
			if err != nil {
				return err
			}
			batch = append(batch, pendingSend{d, e})
		}
		return nil
	})
	return ep, batch, err
}

// deliverSafely is deliver that turns a panic into a failed attempt, so a
// bad delivery is retried and recorded instead of taking the process down.
func (w *Webhooks) deliverSafely(ctx context.Context, ep bursar.WebhookEndpoint, p pendingSend) {
	defer func() {
		if v := recover(); v != nil {
			w.deps.log().ErrorContext(ctx, "webhook delivery panicked", "delivery", p.d.ID, "panic", v, "stack", string(debug.Stack()))
			w.record(ctx, p.d, webhook.Response{}, fmt.Errorf("panic: %v", v), 0)
		}
	}()
	body := mustJSON(wire.EventOf(p.e))
	req := webhook.Request{URL: ep.URL, Body: body, Header: map[string]string{
		webhook.HeaderSignature: webhook.Sign(ep.Secret, w.deps.now(), body),
		webhook.HeaderEventID:   string(p.e.ID),
		webhook.HeaderEventType: string(p.e.Type),
		webhook.HeaderDelivery:  strconv.FormatInt(int64(p.d.ID), 10),
	}}
	start := time.Now()
	resp, err := w.deps.Webhooks.Send(ctx, req)
	w.record(ctx, p.d, resp, err, time.Since(start))
}

// record stores an attempt's outcome: a 2xx answer delivers, anything else
// is retried with backoff until the delivery is deliveryWindow old. It is
// recorded even when ctx ended (a shutdown), so the attempt is not lost.
func (w *Webhooks) record(ctx context.Context, d bursar.Delivery, resp webhook.Response, sendErr error, took time.Duration) {
	ctx = context.WithoutCancel(ctx)
	err := w.deps.DB.InTx(ctx, func(tx store.Tx) error {
		now := w.deps.now()
		cur, err := tx.DeliveryGet(ctx, d.ID)
		if err != nil {
			return err
		}
		a := bursar.DeliveryAttempt{Delivery: d.ID, At: now, Status: resp.Status, Body: answerText(resp.Body), Duration: took}
		switch {
		case sendErr != nil:
			a.Error = sendErr.Error()
		case resp.Status < 200 || resp.Status > 299:
			a.Error = fmt.Sprintf("the endpoint answered HTTP %d", resp.Status)
		}
		// The lease is this claim's only while the delivery still has the
		// NextAt the claim gave it: after a pause past the lease, another
		// worker may have claimed it again, and its outcome is the one to
		// keep. The attempt is still recorded.
		if cur.Status != bursar.DeliveryPending || !cur.NextAt.Equal(d.NextAt) {
			return tx.DeliveryAttemptInsert(ctx, a)
		}
		cur.Attempts++
		cur.LastStatus, cur.LastError, cur.LastBody = a.Status, a.Error, a.Body
		deadline := cur.CreatedAt.Add(deliveryWindow)
		switch {
		case a.Error == "":
			cur.Status, cur.DeliveredAt = bursar.DeliverySucceeded, now
		case !now.Before(deadline):
			cur.Status = bursar.DeliveryFailed
		default:
			cur.NextAt = minTime(now.Add(retryWait(cur.Attempts)), deadline)
		}
		if err := tx.DeliveryAttemptInsert(ctx, a); err != nil {
			return err
		}
		return tx.DeliveryUpdate(ctx, cur)
	})
	if err != nil {
		// The lease ends and the delivery is sent again: at least once.
		w.deps.log().ErrorContext(ctx, "webhook attempt not recorded", "delivery", d.ID, "err", err)
		return
	}
	if sendErr != nil || resp.Status < 200 || resp.Status > 299 {
		w.deps.log().WarnContext(ctx, "webhook delivery failed", "delivery", d.ID, "endpoint", d.Endpoint,
			"event", d.Event, "status", resp.Status, "err", sendErr)
	}
}

// retryWait is how long to wait after the nth failed attempt: doubling from
// firstRetry up to maxRetryWait, plus up to a tenth more at random, so
// endpoints that failed together are not all tried again at once.
func retryWait(n int) time.Duration {
	d := min(firstRetry<<min(n-1, 20), maxRetryWait)
	//nolint:gosec // G404: jitter needs no unpredictability
	return (d + rand.N(d/10+1)).Truncate(time.Millisecond) // the stored precision
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// answerText keeps an answer's body for people to read: valid UTF-8, at
// most a kilobyte.
func answerText(b []byte) string {
	if len(b) > 1024 {
		b = b[:1024]
	}
	if !utf8.Valid(b) {
		return fmt.Sprintf("(%d bytes, not UTF-8)", len(b))
	}
	return string(b)
}
