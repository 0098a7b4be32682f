// Package httpsender delivers webhooks over HTTP.
package httpsender

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"bursar.dev/bursar/internal/webhook"
)

// maxAnswer is how much of an endpoint's answer is kept.
const maxAnswer = 1024

// Sender is a webhook.Sender over HTTP. Its zero value is not usable; use New.
type Sender struct {
	client *http.Client
}

// New returns a Sender whose every attempt ends after timeout, answered or
// not, so a slow endpoint holds a worker for at most that long. Redirects
// are not followed: a delivery's signature is for the URL the platform
// registered.
func New(timeout time.Duration) *Sender {
	return &Sender{client: &http.Client{
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Send implements webhook.Sender.
func (s *Sender) Send(ctx context.Context, r webhook.Request) (webhook.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return webhook.Response{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Bursar-Webhooks/1")
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return webhook.Response{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer)) // the status is the answer; the body is for people
	// Drain a little more so the connection can be reused, but never wait
	// long for a big answer.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	return webhook.Response{Status: resp.StatusCode, Body: body}, nil
}
