package wire

import "bursar.dev/bursar/internal/bursar"

// Endpoint is a webhook endpoint.
type Endpoint struct {
	ID          bursar.EndpointID  `json:"id"`
	Object      string             `json:"object"`
	URL         string             `json:"url"`
	Description string             `json:"description"`
	Events      []bursar.EventType `json:"events"`
	Disabled    bool               `json:"disabled"`
	// Secret is shown when the endpoint is created and when it is rotated,
	// never in lists.
	Secret    string  `json:"secret,omitempty"`
	CreatedAt *string `json:"created_at"`
	UpdatedAt *string `json:"updated_at"`
}

// EndpointOf shows e, with its secret only when withSecret.
func EndpointOf(e bursar.WebhookEndpoint, withSecret bool) Endpoint {
	o := Endpoint{ID: e.ID, Object: "webhook_endpoint", URL: e.URL, Description: e.Description, Events: e.Events,
		Disabled: e.Disabled, CreatedAt: Time(e.CreatedAt), UpdatedAt: Time(e.UpdatedAt)}
	if withSecret {
		o.Secret = e.Secret
	}
	return o
}

// Delivery is an event on its way to an endpoint, with its last answer.
type Delivery struct {
	ID          bursar.DeliveryID     `json:"id"`
	Object      string                `json:"object"`
	EndpointID  bursar.EndpointID     `json:"endpoint_id"`
	EventID     bursar.EventID        `json:"event_id"`
	EventType   bursar.EventType      `json:"event_type"`
	Subject     string                `json:"subject"`
	Seq         int64                 `json:"seq"`
	Status      bursar.DeliveryStatus `json:"status"`
	Attempts    int                   `json:"attempts"`
	NextAt      *string               `json:"next_attempt_at"`
	CreatedAt   *string               `json:"created_at"`
	DeliveredAt *string               `json:"delivered_at"`
	LastStatus  int                   `json:"last_status"`
	LastError   string                `json:"last_error"`
	LastBody    string                `json:"last_body"`
}

// DeliveryDetail is a delivery with every attempt at it, oldest first.
type DeliveryDetail struct {
	Delivery
	AttemptList []Attempt `json:"attempt_list"`
}

// Attempt is one try of a delivery.
type Attempt struct {
	At         *string `json:"at"`
	Status     int     `json:"status"`
	Error      string  `json:"error"`
	Body       string  `json:"body"`
	DurationMS int64   `json:"duration_ms"`
}

// DeliveryOf shows d.
func DeliveryOf(d bursar.Delivery) Delivery {
	o := Delivery{ID: d.ID, Object: "webhook_delivery", EndpointID: d.Endpoint, EventID: d.Event, EventType: d.Type,
		Subject: d.Subject, Seq: d.Seq, Status: d.Status, Attempts: d.Attempts, CreatedAt: Time(d.CreatedAt),
		DeliveredAt: Time(d.DeliveredAt), LastStatus: d.LastStatus, LastError: d.LastError, LastBody: d.LastBody}
	if d.Status == bursar.DeliveryPending {
		o.NextAt = Time(d.NextAt)
	}
	return o
}

// DeliveryWithAttempts shows d with every attempt at it.
func DeliveryWithAttempts(d bursar.Delivery, attempts []bursar.DeliveryAttempt) DeliveryDetail {
	o := DeliveryDetail{Delivery: DeliveryOf(d)}
	o.AttemptList = make([]Attempt, 0, len(attempts))
	for _, a := range attempts {
		o.AttemptList = append(o.AttemptList, Attempt{At: Time(a.At), Status: a.Status, Error: a.Error, Body: a.Body,
			DurationMS: a.Duration.Milliseconds()})
	}
	return o
}
