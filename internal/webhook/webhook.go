// Package webhook is the contract between Bursar and the platform's
// webhook endpoints: how a delivery is signed and checked, and the Sender
// that carries it. It does no I/O itself; httpsender posts over HTTP.
//
// A delivery is an HTTP POST of the event's JSON with these headers:
//
//	Content-Type: application/json
//	Bursar-Event-Id: evt_…
//	Bursar-Event-Type: order.paid
//	Bursar-Delivery: 1234           (the same event re-sent is a new delivery)
//	Bursar-Signature: t=1763712000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// v1 is the hex HMAC-SHA256, keyed with the endpoint's secret, of t, a
// full stop and the body exactly as received. A receiver checks the
// signature and that t is recent (Verify), answers 2xx quickly, and
// ignores an event ID it has seen (delivery is at least once).
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	HeaderSignature = "Bursar-Signature"
	HeaderEventID   = "Bursar-Event-Id"
	HeaderEventType = "Bursar-Event-Type"
	HeaderDelivery  = "Bursar-Delivery"
)

// Sign returns the Bursar-Signature header of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: no valid signature in the header")
	ErrTooOld       = errors.New("webhook: the signature's time is too far from now")
	ErrBadSignature = errors.New("webhook: the signature does not match the body")
)

// Verify checks a Bursar-Signature header against body and secret, and
// that its time is within tolerance of now, which stops an old delivery
// being replayed. The header may carry several v1 values (during a secret's
// rotation); one match is enough.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTooOld
	}
	want := []byte(mac(secret, ts, body))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return ErrBadSignature
}

// Request is one delivery attempt.
type Request struct {
	URL    string
	Header map[string]string
	Body   []byte
}

// Response is what the endpoint answered.
type Response struct {
	Status int
	Body   []byte // at most the first KB
}

// Sender posts deliveries. Send returns an error when there was no answer
// (refused, reset, timed out); any HTTP answer, 2xx or not, is a Response.
type Sender interface {
	Send(ctx context.Context, r Request) (Response, error)
}
