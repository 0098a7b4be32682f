package bursar

import (
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// EventType names a state change the platform can be told about.
type EventType string

// The event types. An order's events carry the order as it is after the
// change; a refund's carry the refund; a withdrawal's, the withdrawal order.
const (
	EventOrderPaid            EventType = "order.paid"             // money is in escrow (a top-up completes at once instead)
	EventOrderCompleted       EventType = "order.completed"        // escrow released to the seller, or a top-up credited
	EventOrderClosed          EventType = "order.closed"           // expired or cancelled unpaid
	EventOrderRefundRequested EventType = "order.refund_requested" // the buyer asked for money back; release paused
	EventOrderRefunded        EventType = "order.refunded"         // all money back with the buyer

	EventRefundSucceeded EventType = "refund.succeeded" // a refund paid back, in part or in full
	EventRefundRejected  EventType = "refund.rejected"  // refused with a reason; the hold resumed
	EventRefundFailed    EventType = "refund.failed"    // the channel refused it; waiting for a new decision

	EventWithdrawalRequested  EventType = "withdrawal.requested"  // funds held, waiting for approval
	EventWithdrawalProcessing EventType = "withdrawal.processing" // sent to the channel
	EventWithdrawalSucceeded  EventType = "withdrawal.succeeded"  // paid out
	EventWithdrawalFailed     EventType = "withdrawal.failed"     // rejected or refused; funds returned

	EventReconciliationMismatch EventType = "reconciliation.mismatch" // a channel's bill disagrees with Bursar
)

// EventTypes lists every event type, for validation and documentation.
var EventTypes = []EventType{
	EventOrderPaid, EventOrderCompleted, EventOrderClosed, EventOrderRefundRequested, EventOrderRefunded,
	EventRefundSucceeded, EventRefundRejected, EventRefundFailed,
	EventWithdrawalRequested, EventWithdrawalProcessing, EventWithdrawalSucceeded, EventWithdrawalFailed,
	EventReconciliationMismatch,
}

// EventID identifies an event.
type EventID string

// Event is a state change written to the outbox in the transaction that made
// it. Events of one subject (an order, or a reconciliation run) are numbered
// 1, 2, 3… in the order they happened, so a receiver can put deliveries back
// in order and notice one it missed.
type Event struct {
	ID      EventID
	Type    EventType
	Subject string  // what Seq counts: an order ID, or a reconciliation run's ID
	Order   OrderID // the order it is about; empty for reconciliation events
	Seq     int64
	Data    []byte // the JSON object the event is about, as the v1 API shows it
	At      time.Time
}

// EndpointID identifies a webhook endpoint.
type EndpointID string

// WebhookEndpoint is a URL of the platform's that is sent the events it asked
// for, each signed with its secret.
type WebhookEndpoint struct {
	ID          EndpointID
	URL         string
	Description string
	Events      []EventType // "*" alone means every type
	Secret      string      // the HMAC-SHA256 key; shown to the platform, so kept as is
	Disabled    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Wants reports whether the endpoint asked for events of type t.
func (e WebhookEndpoint) Wants(t EventType) bool {
	return !e.Disabled && (slices.Contains(e.Events, "*") || slices.Contains(e.Events, t))
}

// ValidateWebhookURL checks an endpoint's URL: absolute http or https, with a
// host, no user information or fragment, at most 2,000 bytes.
func ValidateWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || len(s) > 2000 || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.Fragment != "" {
		return InvalidParam("url", "A webhook URL is an absolute http:// or https:// URL with a host and no user name or fragment, at most 2,000 characters.")
	}
	return nil
}

// ValidateEventTypes checks the event types an endpoint asks for: "*" alone,
// or known types, at least one.
func ValidateEventTypes(ts []EventType) error {
	if len(ts) == 1 && ts[0] == "*" {
		return nil
	}
	if len(ts) == 0 {
		return InvalidParam("events", `Name at least one event type, or "*" for all of them.`)
	}
	for _, t := range ts {
		if !slices.Contains(EventTypes, t) {
			names := make([]string, len(EventTypes))
			for i, k := range EventTypes {
				names[i] = string(k)
			}
			return InvalidParam("events", "Unknown event type %s; use \"*\" or some of: %s.", quote(string(t)), strings.Join(names, ", "))
		}
	}
	return nil
}

// ValidateDescription checks a free-text description of up to 500 characters.
func ValidateDescription(s string) error {
	if utf8.RuneCountInString(s) > 500 || !utf8.ValidString(s) {
		return InvalidParam("description", "A description is at most 500 characters.")
	}
	return nil
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// DeliveryStatus is where the delivery of an event to an endpoint is.
type DeliveryStatus string

// The delivery states: pending until the endpoint answers 2xx (succeeded)
// or three days of retries pass (failed).
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySucceeded DeliveryStatus = "succeeded"
	DeliveryFailed    DeliveryStatus = "failed"
)

// DeliveryID identifies a delivery.
type DeliveryID int64

// Delivery is one event on its way to one endpoint. A re-sent event is a new
// delivery of the same event.
type Delivery struct {
	ID          DeliveryID
	Endpoint    EndpointID
	Event       EventID
	Type        EventType
	Subject     string
	Seq         int64
	Status      DeliveryStatus
	Attempts    int
	NextAt      time.Time // when it is tried next, while pending
	CreatedAt   time.Time
	DeliveredAt time.Time // when the endpoint took it
	// The last attempt's answer: the HTTP status (0 when there was none),
	// why it failed, and the start of the body.
	LastStatus int
	LastError  string
	LastBody   string
}

// DeliveryAttempt is one try of a delivery and what the endpoint answered.
type DeliveryAttempt struct {
	Delivery DeliveryID
	At       time.Time
	Status   int // HTTP status; 0 when there was no answer
	Error    string
	Body     string // the first KB of the answer
	Duration time.Duration
}
