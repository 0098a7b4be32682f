package service

import (
	"cmp"
	"context"
	"encoding/json"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/wire"
)

// Every change the platform hears about is written here, in the transaction
// that makes it: an order's status through saveOrder and insertOrder, a
// refund's through saveRefund. Writing the event with the change is what
// makes delivery at-least-once: there is no moment at which the change is
// committed and its event not (or the other way round).

// emit writes e to the outbox, numbered after its subject's earlier events,
// with a pending delivery to each enabled endpoint that wants its type. The
// caller sets Type, Subject, Order, Data and At.
func emit(ctx context.Context, tx store.Tx, e bursar.Event) error {
	if e.ID == "" {
		e.ID = bursar.EventID(newID("evt_"))
	}
	seq, err := tx.EventInsert(ctx, e)
	if err != nil {
		return err
	}
	endpoints, err := tx.EndpointList(ctx)
	if err != nil {
		return err
	}
	for _, ep := range endpoints {
		if !ep.Wants(e.Type) {
			continue
		}
		d := bursar.Delivery{Endpoint: ep.ID, Event: e.ID, Type: e.Type, Subject: e.Subject, Seq: seq,
			Status: bursar.DeliveryPending, NextAt: e.At, CreatedAt: e.At}
		if _, err := tx.DeliveryInsert(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// mustJSON encodes one of package wire's objects, which always encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// orderEventType is the event an order's move to its status means, or ""
// for a move nobody needs to hear of by itself (a purchase paid again after
// a refund was rejected or partly paid: the refund's event says it).
func orderEventType(o bursar.Order) bursar.EventType {
	if o.Type == bursar.OrderWithdrawal {
		switch o.Status {
		case bursar.OrderRequested:
			return bursar.EventWithdrawalRequested
		case bursar.OrderProcessing:
			return bursar.EventWithdrawalProcessing
		case bursar.OrderSucceeded:
			return bursar.EventWithdrawalSucceeded
		case bursar.OrderFailed:
			return bursar.EventWithdrawalFailed
		}
		return ""
	}
	switch o.Status {
	case bursar.OrderCompleted:
		return bursar.EventOrderCompleted
	case bursar.OrderClosed:
		return bursar.EventOrderClosed
	case bursar.OrderRefundRequested:
		return bursar.EventOrderRefundRequested
	case bursar.OrderRefunded:
		return bursar.EventOrderRefunded
	}
	return ""
}

func orderEvent(ctx context.Context, tx store.Tx, o bursar.Order, t bursar.EventType) error {
	return emit(ctx, tx, bursar.Event{Type: t, Subject: string(o.ID), Order: o.ID, Data: mustJSON(wire.OrderOf(o)),
		At: cmp.Or(o.UpdatedAt, o.CreatedAt)})
}

// saveOrder stores o if it is still in status from (see store.Tx.OrderUpdate)
// and records the event its new status means.
func saveOrder(ctx context.Context, tx store.Tx, o bursar.Order, from bursar.OrderStatus) error {
	if err := tx.OrderUpdate(ctx, o, from); err != nil || o.Status == from {
		return err
	}
	t := orderEventType(o)
	if o.Status == bursar.OrderPaid && from != bursar.OrderRefundRequested {
		t = bursar.EventOrderPaid
	}
	if t == "" {
		return nil
	}
	return orderEvent(ctx, tx, o, t)
}

// insertOrder stores a new order and records the event of a withdrawal
// asked for, or of a purchase completed at once (free, or already owned).
// A pending order is news to nobody: the platform just created it.
func insertOrder(ctx context.Context, tx store.Tx, o bursar.Order) error {
	if err := tx.OrderInsert(ctx, o); err != nil {
		return err
	}
	if o.Status == bursar.OrderPending {
		return nil
	}
	if t := orderEventType(o); t != "" {
		return orderEvent(ctx, tx, o, t)
	}
	return nil
}

// saveRefund stores r if it is still in status from (see
// store.Tx.RefundUpdate) and records what its decision or the channel's
// answer means.
func saveRefund(ctx context.Context, tx store.Tx, r bursar.Refund, from bursar.RefundStatus, now time.Time) error {
	if err := tx.RefundUpdate(ctx, r, from); err != nil || r.Status == from {
		return err
	}
	var t bursar.EventType
	switch {
	case r.Status == bursar.RefundSucceeded:
		t = bursar.EventRefundSucceeded
	case r.Status == bursar.RefundRejected:
		t = bursar.EventRefundRejected
	case r.Status == bursar.RefundRequested && from == bursar.RefundProcessing:
		t = bursar.EventRefundFailed
	default:
		return nil // processing: the refund.succeeded or refund.failed that follows says how it went
	}
	return emit(ctx, tx, bursar.Event{Type: t, Subject: string(r.Order), Order: r.Order, Data: mustJSON(wire.RefundOf(r)), At: now})
}
