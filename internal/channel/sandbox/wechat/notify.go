package wechat

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// pollEvery bounds how long the background loop sleeps, so a clock moved
// by a test or a held queue released by hand is noticed soon.
const pollEvery = 250 * time.Millisecond

// notifyEnvelope is a notification body, in WeChat's key order.
type notifyEnvelope struct {
	ID           string            `json:"id"`
	CreateTime   string            `json:"create_time"`
	ResourceType string            `json:"resource_type"`
	EventType    string            `json:"event_type"`
	Summary      string            `json:"summary"`
	Resource     encryptedResource `json:"resource"`
}

// notifyLocked queues a notification of v, encrypted for the merchant, to
// url. Under the drop control it is recorded as dropped and never sent.
func (g *Gateway) notifyLocked(eventType, summary, originalType, url string, v any, now time.Time) {
	n, err := g.newNotification(eventType, summary, originalType, url, v, now)
	if err != nil {
		g.log.Error("wechat sandbox: notification not built", "event", eventType, "err", err)
		return
	}
	n.Status, n.NextAt = notifyPending, now.Add(g.controls.notifyDelay)
	if g.controls.notifyMode == modeDrop {
		n.Status = notifyDropped
	}
	g.st.Notifications = append(g.st.Notifications, n)
	g.poke()
}

func (g *Gateway) newNotification(eventType, summary, originalType, url string, v any, now time.Time) (*notification, error) {
	plain, err := marshal(v)
	if err != nil {
		return nil, err
	}
	res, err := seal(g.cfg.APIv3Key, plain, originalType)
	if err != nil {
		return nil, err
	}
	res.OriginalType = originalType
	env := notifyEnvelope{
		ID:           "EV-" + now.In(beijing).Format("20060102150405") + randomDigits(7),
		CreateTime:   now.In(beijing).Format(time.RFC3339),
		ResourceType: "encrypt-resource", EventType: eventType, Summary: summary, Resource: res,
	}
	body, err := marshal(env)
	if err != nil {
		return nil, err
	}
	return &notification{ID: env.ID, EventType: eventType, URL: url, Body: string(body)}, nil
}

// poke wakes the background loop; it never blocks.
func (g *Gateway) poke() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// loop settles refunds and delivers due notifications until ctx is done.
func (g *Gateway) loop(ctx context.Context) {
	defer g.wg.Done()
	for {
		timer := time.NewTimer(g.tick(ctx))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-g.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// tick does what is due now and returns how long to sleep.
func (g *Gateway) tick(ctx context.Context) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.settleRefundsLocked(now)
	next := now.Add(pollEvery)
	for _, rf := range g.st.Refunds {
		if rf.Status == refundProcessing && rf.DueAt.Before(next) {
			next = rf.DueAt
		}
	}
	if g.controls.notifyMode != modeHold {
		for _, n := range g.st.Notifications {
			if n.Status != notifyPending || g.inflight[n.ID] {
				continue
			}
			if n.NextAt.After(now) {
				if n.NextAt.Before(next) {
					next = n.NextAt
				}
				continue
			}
			g.inflight[n.ID] = true
			g.wg.Add(1)
			go g.deliver(ctx, *n)
		}
	}
	return min(max(next.Sub(now), time.Millisecond), pollEvery)
}

// deliver sends one notification once and records the outcome: WeChat
// takes 200 or 204 as received whatever the body, and anything else (or no
// answer within the timeout) as a failure to retry on the schedule.
func (g *Gateway) deliver(ctx context.Context, n notification) {
	defer g.wg.Done()
	status, err := g.send(ctx, n.URL, []byte(n.Body), false)
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.inflight, n.ID)
	if ctx.Err() != nil {
		// Shutting down: this attempt does not count; the next gateway on
		// the same DataDir makes it again.
		return
	}
	var rec *notification
	for _, m := range g.st.Notifications {
		if m.ID == n.ID {
			rec = m
		}
	}
	if rec == nil || rec.Status != notifyPending {
		return
	}
	rec.Attempts++
	switch {
	case err != nil:
		rec.LastResult = err.Error()
	default:
		rec.LastResult = fmt.Sprintf("HTTP %d", status)
	}
	switch {
	case err == nil && (status == http.StatusOK || status == http.StatusNoContent):
		rec.Status = notifyDelivered
	case rec.Attempts > len(g.schedule):
		rec.Status = notifyAbandoned
		g.log.Warn("wechat sandbox: notification abandoned", "id", rec.ID, "url", rec.URL, "last", rec.LastResult)
	default:
		rec.NextAt = g.now().Add(g.schedule[rec.Attempts-1])
	}
	g.persistLocked()
}

// send POSTs a notification body with fresh signature headers and returns
// the answer's status. A probe carries a WECHATPAY/SIGNTEST/ signature that
// no key made.
func (g *Gateway) send(ctx context.Context, url string, body []byte, probe bool) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	serial, key := g.notifyKey()
	if err := g.signHeaders(req.Header, serial, key, body); err != nil {
		return 0, err
	}
	if probe {
		req.Header.Set("Wechatpay-Signature", probePrefix+randomAlnum(64))
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// The notification modes of the notifications control.
const (
	modeDeliver = "deliver"
	modeHold    = "hold" // queue, but send nothing until deliver again
	modeDrop    = "drop" // record new notifications as dropped; send nothing
)
