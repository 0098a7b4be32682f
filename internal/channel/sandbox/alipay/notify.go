package alipay

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The kinds of notification: they differ in the time field they carry.
const (
	kindTrade   = "trade"   // trade_status_sync to a notify_url: notify_time
	kindMessage = "message" // an Alipay message to the app gateway: utc_timestamp
)

// The states of a notification.
const (
	notifyPending   = "pending"
	notifyDelivered = "delivered" // the merchant answered success
	notifyFailed    = "failed"    // every attempt of the schedule was answered otherwise
	notifyDropped   = "dropped"   // a control made Alipay lose it; never sent
)

const (
	// maxIdle bounds how long the background loop sleeps, so that it notices
	// a clock that jumps (tests move Config.Now) within a second.
	maxIdle = time.Second
	// keepFinished is how many delivered, failed or dropped notifications
	// the state keeps for the listing; pending ones are always kept.
	keepFinished = 500
)

// notification is one notification and its delivery so far. Params hold
// every field but the per-attempt ones (the time, sign_type and sign), so
// each attempt is signed afresh with the same notify_id.
type notification struct {
	ID         string            `json:"notify_id"`
	AppID      string            `json:"app_id"`
	URL        string            `json:"url"`
	Kind       string            `json:"kind"`
	Params     map[string]string `json:"params"`
	State      string            `json:"state"`
	Attempts   int               `json:"attempts"`
	NextAt     time.Time         `json:"next_at,omitzero"`
	LastAnswer string            `json:"last_answer,omitempty"`
	Created    time.Time         `json:"created"`
	Delivered  time.Time         `json:"delivered,omitzero"`
}

// enqueue adds a notification to deliver now, unless a control drops or
// delays it. The caller holds g.mu and commits.
func (g *Gateway) enqueue(appID, to, kind string, p map[string]string) {
	now := g.now()
	n := &notification{ID: token(17), AppID: appID, URL: to, Kind: kind, Params: p, State: notifyPending,
		NextAt: now, Created: now}
	switch c := &g.st.Controls; {
	case c.DropNotify > 0:
		c.DropNotify--
		n.State, n.NextAt = notifyDropped, time.Time{}
	case c.DelayNotify > 0:
		c.DelayNotify--
		n.NextAt = now.Add(c.Delay)
	}
	g.st.Notifications = append(g.st.Notifications, n)
	finished := 0
	for _, n := range g.st.Notifications {
		if n.State != notifyPending {
			finished++
		}
	}
	if finished > keepFinished {
		kept := g.st.Notifications[:0]
		for _, n := range g.st.Notifications {
			if n.State == notifyPending || finished <= keepFinished {
				kept = append(kept, n)
			} else {
				finished--
			}
		}
		g.st.Notifications = kept
	}
}

// form is what one attempt posts: every non-empty field (Alipay never sends
// an empty one, and smartwalle would count it when verifying), the time of
// the attempt, and the signature over all of it but sign and sign_type.
func (g *Gateway) form(n *notification, now time.Time) url.Values {
	p := make(map[string]string, len(n.Params)+4)
	for k, v := range n.Params {
		if v != "" {
			p[k] = v
		}
	}
	p["notify_id"] = n.ID
	if n.Kind == kindMessage {
		p["utc_timestamp"] = strconv.FormatInt(now.UnixMilli(), 10)
	} else {
		p["notify_time"] = stamp(now)
	}
	p["sign"] = g.sign([]byte(signContent(p, "sign", "sign_type")))
	p["sign_type"] = "RSA2"
	v := url.Values{}
	for k, s := range p {
		v.Set(k, s)
	}
	return v
}

// loop runs the gateway's background work until Close.
func (g *Gateway) loop(ctx context.Context) {
	defer close(g.done)
	for {
		wait, _ := g.tick(ctx, nil)
		t := time.NewTimer(wait)
		select {
		case <-g.stop:
			t.Stop()
			return
		case <-g.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// tick closes expired trades, finishes payouts due, starts delivering the
// notifications due, and returns how long to wait for the next thing due
// and how many deliveries it started. They are added to wg when it is not
// nil.
func (g *Gateway) tick(ctx context.Context, wg *sync.WaitGroup) (time.Duration, int) {
	g.mu.Lock()
	g.sweep()
	now := g.now()
	next := now.Add(maxIdle)
	type job struct {
		id, to string
		form   url.Values
	}
	var due []job
	for _, n := range g.st.Notifications {
		switch {
		case g.closed || n.State != notifyPending || g.inFlight[n.ID]:
		case !n.NextAt.After(now):
			g.inFlight[n.ID] = true
			due = append(due, job{n.ID, n.URL, g.form(n, now)})
		case n.NextAt.Before(next):
			next = n.NextAt
		}
	}
	for _, t := range g.st.Trades {
		if t.Status == waitBuyerPay && !t.ExpiresAt.IsZero() && t.ExpiresAt.Before(next) {
			next = t.ExpiresAt
		}
	}
	for _, tr := range g.st.Transfers {
		if tr.Status == transferDealing && tr.FinishAt.Before(next) {
			next = tr.FinishAt
		}
	}
	g.work.Add(len(due))
	g.mu.Unlock()
	if wg != nil {
		wg.Add(len(due))
	}
	for _, j := range due {
		go func() {
			defer g.work.Done()
			if wg != nil {
				defer wg.Done()
			}
			g.attempt(ctx, j.id, j.to, j.form)
		}()
	}
	return max(next.Sub(now), 0), len(due)
}

// DeliverDue delivers at once, and waits for, every notification due by
// the gateway's clock: for tests that move Config.Now and must not wait
// for the background loop to notice. It returns how many it attempted.
func (g *Gateway) DeliverDue(ctx context.Context) int {
	var wg sync.WaitGroup
	_, n := g.tick(ctx, &wg)
	wg.Wait()
	return n
}

// attempt posts a notification once and records the answer: success ends
// it; anything else schedules the next attempt or, after the last, gives up.
// An attempt cut short by Close does not count.
func (g *Gateway) attempt(ctx context.Context, id, to string, form url.Values) {
	actx, cancel := context.WithTimeout(ctx, g.timeout)
	answer, ok := g.post(actx, to, form)
	cancel()
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.inFlight, id)
	var n *notification
	for _, c := range g.st.Notifications {
		if c.ID == id {
			n = c
		}
	}
	if n == nil || ctx.Err() != nil {
		return
	}
	now := g.now()
	n.Attempts++
	n.LastAnswer = answer
	switch {
	case ok:
		n.State, n.Delivered, n.NextAt = notifyDelivered, now, time.Time{}
	case n.Attempts <= len(g.schedule):
		n.NextAt = now.Add(g.schedule[n.Attempts-1])
	default:
		n.State, n.NextAt = notifyFailed, time.Time{}
	}
	g.log.Info("alipay sandbox: notification", "notify_id", id, "url", to, "attempt", n.Attempts,
		"answer", answer, "state", n.State)
	_ = g.commit() // commit logs a failure; the next change saves again
}

// post sends one attempt. Only HTTP 200 with the body exactly "success" is
// an acknowledgement: no trimming, no other status.
func (g *Gateway) post(ctx context.Context, to string, form url.Values) (string, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, strings.NewReader(form.Encode()))
	if err != nil {
		return err.Error(), false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := g.client.Do(req)
	if err != nil {
		return err.Error(), false
	}
	defer func() { _ = resp.Body.Close() }() // read-only: the read error is what matters
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return err.Error(), false
	}
	return fmt.Sprintf("%d %q", resp.StatusCode, body), resp.StatusCode == http.StatusOK && string(body) == "success"
}
