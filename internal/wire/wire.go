// Package wire holds the JSON objects Bursar shows the outside world that
// more than one edge needs: the v1 API answers with them, and webhook events
// carry them, so a platform parses an order the same way from either.
// Amounts are integer fen with a currency; times are RFC 3339 in UTC, or
// null when they have not happened.
package wire

import (
	"encoding/json"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// Time formats t, or nil for the zero time.
func Time(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// Order is an order: a purchase, a top-up or a withdrawal.
type Order struct {
	ID               bursar.OrderID     `json:"id"`
	Object           string             `json:"object"`
	OrderNo          string             `json:"order_no"`
	Type             bursar.OrderType   `json:"type"`
	Status           bursar.OrderStatus `json:"status"`
	BuyerID          bursar.UserID      `json:"buyer_id"`
	SellerID         bursar.UserID      `json:"seller_id"`
	ItemID           bursar.ItemID      `json:"item_id"`
	Subject          string             `json:"subject"`
	Amount           bursar.Amount      `json:"amount"`
	Currency         bursar.Currency    `json:"currency"`
	Channel          bursar.Channel     `json:"channel"`
	PaidFromCash     bursar.Amount      `json:"paid_from_cash"`
	PaidFromEarnings bursar.Amount      `json:"paid_from_earnings"`
	Refunded         bursar.Amount      `json:"refunded"`
	Fee              bursar.Amount      `json:"fee"`
	HoldSeconds      int64              `json:"hold_seconds"`
	Metadata         map[string]string  `json:"metadata"`
	CreatedAt        *string            `json:"created_at"`
	ExpiresAt        *string            `json:"expires_at"`
	PaidAt           *string            `json:"paid_at"`
	ReleaseAt        *string            `json:"release_at"`
	CompletedAt      *string            `json:"completed_at"`
	AccessUntil      *string            `json:"access_until"`
	// A withdrawal's payee, and why it failed.
	PayoutAccount string `json:"payout_account,omitempty"`
	PayoutName    string `json:"payout_name,omitempty"`
	FailureReason string `json:"failure_reason,omitempty"`
	NeedsApproval bool   `json:"needs_approval,omitempty"`
}

// OrderOf shows o.
func OrderOf(o bursar.Order) Order {
	md := o.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return Order{ID: o.ID, Object: "order", OrderNo: o.No, Type: o.Type, Status: o.Status,
		BuyerID: o.Buyer, SellerID: o.Seller, ItemID: o.Item, Subject: o.Subject,
		Amount: o.Amount.Amount, Currency: o.Amount.Currency, Channel: o.Channel,
		PaidFromCash: o.PaidFromCash, PaidFromEarnings: o.PaidFromEarnings, Refunded: o.Refunded, Fee: o.Fee,
		HoldSeconds: int64(o.Hold / time.Second), Metadata: md,
		CreatedAt: Time(o.CreatedAt), ExpiresAt: Time(o.ExpiresAt), PaidAt: Time(o.PaidAt),
		ReleaseAt: Time(o.ReleaseAt), CompletedAt: Time(o.CompletedAt), AccessUntil: Time(o.AccessUntil),
		PayoutAccount: o.PayoutAccount, PayoutName: o.PayoutName, FailureReason: o.FailureReason, NeedsApproval: o.NeedsApproval}
}

// Refund is a buyer's request for money back and what became of it.
type Refund struct {
	ID           bursar.RefundID     `json:"id"`
	Object       string              `json:"object"`
	OrderID      bursar.OrderID      `json:"order_id"`
	Amount       bursar.Amount       `json:"amount"`
	Currency     bursar.Currency     `json:"currency"`
	Reason       string              `json:"reason"`
	Status       bursar.RefundStatus `json:"status"`
	RequestedBy  string              `json:"requested_by"`
	DecidedBy    string              `json:"decided_by"`
	DecisionNote string              `json:"decision_note"`
	ToEarnings   bursar.Amount       `json:"to_earnings"`
	ToCash       bursar.Amount       `json:"to_cash"`
	CreatedAt    *string             `json:"created_at"`
	DecidedAt    *string             `json:"decided_at"`
}

// RefundOf shows r.
func RefundOf(r bursar.Refund) Refund {
	return Refund{ID: r.ID, Object: "refund", OrderID: r.Order, Amount: r.Amount.Amount, Currency: r.Amount.Currency,
		Reason: r.Reason, Status: r.Status, RequestedBy: r.RequestedBy, DecidedBy: r.DecidedBy, DecisionNote: r.DecisionNote,
		ToEarnings: r.ToEarnings, ToCash: r.ToCash, CreatedAt: Time(r.CreatedAt), DecidedAt: Time(r.DecidedAt)}
}

// Event is a state change, as webhooks deliver it and the API lists it.
// Data.Object is the object it is about, as it was just after the change.
type Event struct {
	ID        bursar.EventID   `json:"id"`
	Object    string           `json:"object"`
	Type      bursar.EventType `json:"type"`
	CreatedAt *string          `json:"created_at"`
	// Events of one subject (an order, a reconciliation run) are numbered
	// 1, 2, 3… in the order they happened.
	Subject string         `json:"subject"`
	Seq     int64          `json:"seq"`
	OrderID bursar.OrderID `json:"order_id,omitempty"`
	Data    EventData      `json:"data"`
}

// EventData holds an event's object.
type EventData struct {
	Object json.RawMessage `json:"object"`
}

// EventOf shows e.
func EventOf(e bursar.Event) Event {
	return Event{ID: e.ID, Object: "event", Type: e.Type, CreatedAt: Time(e.At), Subject: e.Subject, Seq: e.Seq,
		OrderID: e.Order, Data: EventData{Object: json.RawMessage(e.Data)}}
}
