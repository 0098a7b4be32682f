package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// newEvent is an event of an order (its subject) at t0 plus minute minutes.
func newEvent(id bursar.EventID, typ bursar.EventType, order bursar.OrderID, minute int) bursar.Event {
	return bursar.Event{ID: id, Type: typ, Subject: string(order), Order: order,
		Data: []byte(`{"id":"` + string(order) + `"}`), At: t0.Add(time.Duration(minute) * time.Minute)}
}

// insertEvent stores e and returns the number EventInsert gave it.
func insertEvent(t testing.TB, db store.DB, e bursar.Event) int64 {
	t.Helper()
	seq, err := writeTx(db, func(tx store.Tx) (int64, error) { return tx.EventInsert(context.Background(), e) })
	if err != nil {
		t.Fatalf("EventInsert(%s): %v", e.ID, err)
	}
	return seq
}

func eventIDs(es []bursar.Event) []bursar.EventID {
	var out []bursar.EventID
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// newEndpoint is an endpoint that wants every event, created at t0.
func newEndpoint(id bursar.EndpointID) bursar.WebhookEndpoint {
	return bursar.WebhookEndpoint{ID: id, URL: "https://platform.example/hooks/" + string(id),
		Events: []bursar.EventType{"*"}, Secret: "whsec_" + string(id), CreatedAt: t0, UpdatedAt: t0}
}

func getEndpoint(t testing.TB, db store.DB, id bursar.EndpointID) bursar.WebhookEndpoint {
	t.Helper()
	e, err := readTx(db, func(tx store.Tx) (bursar.WebhookEndpoint, error) { return tx.EndpointGet(context.Background(), id) })
	if err != nil {
		t.Fatalf("EndpointGet(%s): %v", id, err)
	}
	return e
}

// newDelivery is a pending delivery of a subject's event number seq to an
// endpoint, due at t0 plus next.
func newDelivery(endpoint bursar.EndpointID, subject string, seq int64, next time.Duration) bursar.Delivery {
	return bursar.Delivery{Endpoint: endpoint, Event: bursar.EventID(fmt.Sprintf("evt_%s_%d", subject, seq)),
		Type: bursar.EventOrderPaid, Subject: subject, Seq: seq, Status: bursar.DeliveryPending,
		NextAt: t0.Add(next), CreatedAt: t0}
}

// insertDelivery stores d and returns its ID.
func insertDelivery(t testing.TB, db store.DB, d bursar.Delivery) bursar.DeliveryID {
	t.Helper()
	id, err := writeTx(db, func(tx store.Tx) (bursar.DeliveryID, error) { return tx.DeliveryInsert(context.Background(), d) })
	if err != nil {
		t.Fatalf("DeliveryInsert(%s to %s): %v", d.Event, d.Endpoint, err)
	}
	return id
}

func getDelivery(t testing.TB, db store.DB, id bursar.DeliveryID) bursar.Delivery {
	t.Helper()
	d, err := readTx(db, func(tx store.Tx) (bursar.Delivery, error) { return tx.DeliveryGet(context.Background(), id) })
	if err != nil {
		t.Fatalf("DeliveryGet(%d): %v", id, err)
	}
	return d
}

// finishDelivery records that a delivery succeeded or failed at t0, as the
// sender does after an attempt.
func finishDelivery(t testing.TB, db store.DB, id bursar.DeliveryID, status bursar.DeliveryStatus) {
	t.Helper()
	mustWrite(t, db, func(tx store.Tx) error {
		d, err := tx.DeliveryGet(context.Background(), id)
		if err != nil {
			return err
		}
		d.Status, d.Attempts = status, d.Attempts+1
		if status == bursar.DeliverySucceeded {
			d.DeliveredAt, d.LastStatus = t0, 200
		}
		return tx.DeliveryUpdate(context.Background(), d)
	})
}

// claimDeliveries runs DeliveryClaim for endpoint we_1 in a transaction of
// its own.
func claimDeliveries(t testing.TB, db store.DB, now, until time.Time, limit int) []bursar.Delivery {
	t.Helper()
	ds, err := writeTx(db, func(tx store.Tx) ([]bursar.Delivery, error) {
		return tx.DeliveryClaim(context.Background(), "we_1", now, until, limit)
	})
	if err != nil {
		t.Fatalf("DeliveryClaim(we_1): %v", err)
	}
	return ds
}

// deliveryKeys names each delivery "endpoint subject#seq".
func deliveryKeys(ds []bursar.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s %s#%d", d.Endpoint, d.Subject, d.Seq))
	}
	return out
}

func deliveryIDs(ds []bursar.Delivery) []bursar.DeliveryID {
	var out []bursar.DeliveryID
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// wantInvalidParam reports err unless it is bursar.Invalid about param.
func wantInvalidParam(t testing.TB, what string, err error, param string) {
	t.Helper()
	var e *bursar.Error
	if !errors.As(err, &e) || e.Code != bursar.Invalid || e.Param != param {
		t.Errorf("%s: error %v, want invalid %s", what, err, param)
	}
}

func testWebhooks(t *testing.T, h Harness) {
	t.Run("events", func(t *testing.T) { testEvents(t, h) })
	t.Run("event lists", func(t *testing.T) { testEventList(t, h) })
	t.Run("endpoints", func(t *testing.T) { testEndpoints(t, h) })
	t.Run("deliveries", func(t *testing.T) { testDeliveries(t, h) })
	t.Run("delivery lists", func(t *testing.T) { testDeliveryList(t, h) })
	t.Run("due endpoints", func(t *testing.T) { testDeliveryDueEndpoints(t, h) })
	t.Run("claims", func(t *testing.T) { testDeliveryClaim(t, h) })
	t.Run("leases", func(t *testing.T) { testDeliveryLease(t, h) })
	t.Run("attempts", func(t *testing.T) { testDeliveryAttempts(t, h) })
	t.Run("concurrent event numbering", func(t *testing.T) { testEventSeqConcurrent(t, h) })
	t.Run("concurrent claims", func(t *testing.T) { testDeliveryClaimConcurrent(t, h) })
	if db := h.Open(t); db.Engine() == "postgres" {
		t.Run("a second writer numbering a subject retries and takes the next number",
			func(t *testing.T) { testEventSeqRetry(t, h, db) })
		t.Run("a claim skips deliveries another transaction holds",
			func(t *testing.T) { testDeliverySkipLocked(t, h.Open(t)) })
	}
}

func testEvents(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("each subject is numbered from 1, apart from the others", func(t *testing.T) {
		db := h.Open(t)
		tests := []struct {
			id      bursar.EventID
			subject string
			want    int64
		}{
			{"evt_1", "o1", 1},
			{"evt_2", "o2", 1},
			{"evt_3", "o1", 2},
			{"evt_4", "run_1", 1},
			{"evt_5", "o1", 3},
			{"evt_6", "o2", 2},
		}
		for _, tt := range tests {
			e := newEvent(tt.id, bursar.EventOrderPaid, bursar.OrderID(tt.subject), 0)
			e.Seq = 42 // ignored: the store numbers events
			if got := insertEvent(t, db, e); got != tt.want {
				t.Errorf("EventInsert(%s of %s) = %d, want %d", tt.id, tt.subject, got, tt.want)
			}
			if got, err := readTx(db, func(tx store.Tx) (bursar.Event, error) { return tx.EventGet(ctx, tt.id) }); err != nil || got.Seq != tt.want {
				t.Errorf("EventGet(%s).Seq = %d, %v; want %d", tt.id, got.Seq, err, tt.want)
			}
		}
	})

	t.Run("events of one subject in one transaction are numbered in turn", func(t *testing.T) {
		db := h.Open(t)
		insertEvent(t, db, newEvent("evt_1", bursar.EventOrderPaid, "o1", 0))
		seqs, err := writeTx(db, func(tx store.Tx) ([]int64, error) {
			var seqs []int64
			for _, e := range []bursar.Event{
				newEvent("evt_2", bursar.EventOrderPaid, "o1", 1),
				newEvent("evt_3", bursar.EventOrderCompleted, "o1", 1),
			} {
				seq, err := tx.EventInsert(ctx, e)
				if err != nil {
					return nil, err
				}
				seqs = append(seqs, seq)
			}
			return seqs, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int64{2, 3}, seqs); diff != "" {
			t.Errorf("EventInsert twice in one transaction (-want +got):\n%s", diff)
		}
	})

	t.Run("an event reads back as stored, in UTC, with its number", func(t *testing.T) {
		db := h.Open(t)
		// Data is kept byte for byte: spacing, key order, escapes and
		// Chinese are not normalized as a JSON column would.
		data := []byte("{\"z\": 1,  \"a\":\"说明\\u0000\\\"\",\n\"amount\":1990, \"f\":1.50}")
		tests := []bursar.Event{
			{ID: "evt_order", Type: bursar.EventRefundSucceeded, Subject: "o1", Order: "o1", Data: data,
				At: t0.Add(90 * time.Second).In(cst)},
			// A reconciliation event has a subject but no order.
			{ID: "evt_recon", Type: bursar.EventReconciliationMismatch, Subject: "recon_2026-11-20_alipay",
				Data: []byte(`{}`), At: t0},
		}
		for _, want := range tests {
			want.Seq = insertEvent(t, db, want)
			got, err := readTx(db, func(tx store.Tx) (bursar.Event, error) { return tx.EventGet(ctx, want.ID) })
			if err != nil {
				t.Fatalf("EventGet(%s): %v", want.ID, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("EventGet(%s) mismatch (-want +got):\n%s", want.ID, diff)
			}
			checkUTC(t, "EventGet", got.At)
		}
	})

	t.Run("an unknown event is not found", func(t *testing.T) {
		db := h.Open(t)
		insertEvent(t, db, newEvent("evt_1", bursar.EventOrderPaid, "o1", 0))
		_, err := readTx(db, func(tx store.Tx) (bursar.Event, error) { return tx.EventGet(ctx, "evt_nope") })
		wantCode(t, "EventGet(evt_nope)", err, bursar.NotFound)
	})

	t.Run("an event ID is used once", func(t *testing.T) {
		db := h.Open(t)
		insertEvent(t, db, newEvent("evt_1", bursar.EventOrderPaid, "o1", 0))
		_, err := writeTx(db, func(tx store.Tx) (int64, error) {
			return tx.EventInsert(ctx, newEvent("evt_1", bursar.EventOrderCompleted, "o2", 1))
		})
		wantCode(t, "EventInsert of a taken ID", err, bursar.Conflict)
		if got := insertEvent(t, db, newEvent("evt_2", bursar.EventOrderCompleted, "o1", 1)); got != 2 {
			t.Errorf("EventInsert after the refused one = %d, want 2", got)
		}
	})
}

// listEvents are the events the list tests page through, oldest first:
// newest first they are e6 … e1.
func listEvents() []bursar.Event {
	es := []bursar.Event{
		newEvent("e1", bursar.EventOrderPaid, "o1", 1),
		{ID: "e2", Type: bursar.EventReconciliationMismatch, Subject: "run_1", Data: []byte(`{}`), At: t0.Add(2 * time.Minute)},
		newEvent("e3", bursar.EventOrderPaid, "o2", 3),
		newEvent("e4", bursar.EventOrderCompleted, "o1", 4),
		newEvent("e5", bursar.EventOrderClosed, "o2", 5),
		newEvent("e6", bursar.EventOrderRefunded, "o1", 6),
	}
	return es
}

func testEventList(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	all := listEvents()
	for i := range all {
		all[i].Seq = insertEvent(t, db, all[i])
	}
	list := func(f bursar.EventFilter) ([]bursar.Event, bool, error) {
		var es []bursar.Event
		var more bool
		err := db.InReadTx(ctx, func(tx store.Tx) error {
			var err error
			es, more, err = tx.EventList(ctx, f)
			return err
		})
		return es, more, err
	}

	tests := []struct {
		name string
		f    bursar.EventFilter
		want []bursar.EventID
		more bool
	}{
		{"every event, newest first", bursar.EventFilter{Limit: 10}, []bursar.EventID{"e6", "e5", "e4", "e3", "e2", "e1"}, false},
		{"an order's events", bursar.EventFilter{Order: "o1", Limit: 10}, []bursar.EventID{"e6", "e4", "e1"}, false},
		{"events of a type", bursar.EventFilter{Type: bursar.EventOrderPaid, Limit: 10}, []bursar.EventID{"e3", "e1"}, false},
		{"an order's events of a type", bursar.EventFilter{Order: "o2", Type: bursar.EventOrderClosed, Limit: 10},
			[]bursar.EventID{"e5"}, false},
		{"a reconciliation event by type", bursar.EventFilter{Type: bursar.EventReconciliationMismatch, Limit: 10},
			[]bursar.EventID{"e2"}, false},
		{"an order with none", bursar.EventFilter{Order: "o9", Limit: 10}, nil, false},
		{"a limit below the count says there are more", bursar.EventFilter{Limit: 2}, []bursar.EventID{"e6", "e5"}, true},
		{"a limit of exactly the count says there are no more", bursar.EventFilter{Limit: 6},
			[]bursar.EventID{"e6", "e5", "e4", "e3", "e2", "e1"}, false},
		{"a filtered limit below the count says there are more", bursar.EventFilter{Order: "o1", Limit: 2},
			[]bursar.EventID{"e6", "e4"}, true},
		{"before lists older events", bursar.EventFilter{Before: "e4", Limit: 10}, []bursar.EventID{"e3", "e2", "e1"}, false},
		{"before with a limit", bursar.EventFilter{Before: "e6", Limit: 2}, []bursar.EventID{"e5", "e4"}, true},
		{"before with a filter", bursar.EventFilter{Order: "o1", Before: "e4", Limit: 10}, []bursar.EventID{"e1"}, false},
		{"before an event the filter leaves out", bursar.EventFilter{Order: "o2", Before: "e4", Limit: 10},
			[]bursar.EventID{"e3"}, false},
		{"before the oldest is empty", bursar.EventFilter{Before: "e1", Limit: 10}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := list(tt.f)
			if err != nil {
				t.Fatalf("EventList(%+v): %v", tt.f, err)
			}
			if diff := cmp.Diff(tt.want, eventIDs(got)); diff != "" || more != tt.more {
				t.Errorf("EventList(%+v) = %v, more %v; want %v, more %v", tt.f, eventIDs(got), more, tt.want, tt.more)
			}
		})
	}

	t.Run("listed events are whole, in UTC", func(t *testing.T) {
		got, _, err := list(bursar.EventFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(all)
		slices.Reverse(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("EventList mismatch (-want +got):\n%s", diff)
		}
		for _, e := range got {
			checkUTC(t, "EventList", e.At)
		}
	})

	t.Run("paging visits every event once", func(t *testing.T) {
		var seen []bursar.EventID
		var before bursar.EventID
		for pages := 0; ; pages++ {
			got, more, err := list(bursar.EventFilter{Before: before, Limit: 4})
			if err != nil || pages > 10 {
				t.Fatalf("page %d: %v", pages, err)
			}
			seen = append(seen, eventIDs(got)...)
			if !more {
				break
			}
			before = got[len(got)-1].ID
		}
		if diff := cmp.Diff([]bursar.EventID{"e6", "e5", "e4", "e3", "e2", "e1"}, seen); diff != "" {
			t.Errorf("paging (-want +got):\n%s", diff)
		}
	})

	for _, limit := range []int{0, -1} {
		t.Run(fmt.Sprintf("a limit of %d is invalid", limit), func(t *testing.T) {
			_, _, err := list(bursar.EventFilter{Limit: limit})
			wantInvalidParam(t, fmt.Sprintf("EventList with limit %d", limit), err, "limit")
		})
	}
}

func testEndpoints(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("an endpoint reads back as stored, in UTC", func(t *testing.T) {
		db := h.Open(t)
		tests := []bursar.WebhookEndpoint{
			{ID: "we_1", URL: "https://platform.example/hooks?x=1&y=%20", Description: "订单通知 (prod)",
				Events:    []bursar.EventType{bursar.EventOrderPaid, bursar.EventRefundSucceeded, bursar.EventWithdrawalFailed},
				Secret:    "whsec_0123456789abcdef",
				CreatedAt: t0.In(cst), UpdatedAt: t0.Add(time.Minute).In(cst)},
			{ID: "we_2", URL: "http://127.0.0.1:8080/", Events: []bursar.EventType{"*"}, Secret: "s", Disabled: true,
				CreatedAt: t0, UpdatedAt: t0},
		}
		for _, want := range tests {
			mustWrite(t, db, func(tx store.Tx) error { return tx.EndpointInsert(ctx, want) })
			got := getEndpoint(t, db, want.ID)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("EndpointGet(%s) mismatch (-want +got):\n%s", want.ID, diff)
			}
			checkUTC(t, "EndpointGet", got.CreatedAt, got.UpdatedAt)
		}
	})

	t.Run("an unknown endpoint is not found", func(t *testing.T) {
		db := h.Open(t)
		mustWrite(t, db, func(tx store.Tx) error { return tx.EndpointInsert(ctx, newEndpoint("we_1")) })
		_, err := readTx(db, func(tx store.Tx) (bursar.WebhookEndpoint, error) { return tx.EndpointGet(ctx, "we_nope") })
		wantCode(t, "EndpointGet(we_nope)", err, bursar.NotFound)
		err = db.InTx(ctx, func(tx store.Tx) error { return tx.EndpointUpdate(ctx, newEndpoint("we_nope")) })
		wantCode(t, "EndpointUpdate(we_nope)", err, bursar.NotFound)
	})

	t.Run("an endpoint ID is used once", func(t *testing.T) {
		db := h.Open(t)
		mustWrite(t, db, func(tx store.Tx) error { return tx.EndpointInsert(ctx, newEndpoint("we_1")) })
		err := db.InTx(ctx, func(tx store.Tx) error { return tx.EndpointInsert(ctx, newEndpoint("we_1")) })
		wantCode(t, "EndpointInsert of a taken ID", err, bursar.Conflict)
	})

	t.Run("an update stores every mutable field and keeps the creation time", func(t *testing.T) {
		db := h.Open(t)
		mustWrite(t, db, func(tx store.Tx) error {
			if err := tx.EndpointInsert(ctx, newEndpoint("we_1")); err != nil {
				return err
			}
			return tx.EndpointInsert(ctx, newEndpoint("we_2"))
		})
		changed := bursar.WebhookEndpoint{ID: "we_1", URL: "https://other.example/h", Description: "new",
			Events:    []bursar.EventType{bursar.EventOrderClosed, bursar.EventReconciliationMismatch},
			Secret:    "whsec_rotated",
			Disabled:  true,
			CreatedAt: t0.Add(time.Hour), // not mutable
			UpdatedAt: t0.Add(2 * time.Hour).In(cst)}
		mustWrite(t, db, func(tx store.Tx) error { return tx.EndpointUpdate(ctx, changed) })
		want := changed
		want.CreatedAt = t0
		got := getEndpoint(t, db, "we_1")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("EndpointGet after the update (-want +got):\n%s", diff)
		}
		checkUTC(t, "EndpointGet", got.CreatedAt, got.UpdatedAt)
		if diff := cmp.Diff(newEndpoint("we_2"), getEndpoint(t, db, "we_2")); diff != "" {
			t.Errorf("the update changed another endpoint (-want +got):\n%s", diff)
		}

		// And back: enabled again, for every event.
		changed.Disabled, changed.Events = false, []bursar.EventType{"*"}
		mustWrite(t, db, func(tx store.Tx) error { return tx.EndpointUpdate(ctx, changed) })
		if got := getEndpoint(t, db, "we_1"); got.Disabled || !slices.Equal(got.Events, changed.Events) {
			t.Errorf("after enabling: Disabled %v, Events %v; want false, %v", got.Disabled, got.Events, changed.Events)
		}
	})

	t.Run("endpoints are listed oldest first, disabled ones too", func(t *testing.T) {
		db := h.Open(t)
		if got, err := readTx(db, func(tx store.Tx) ([]bursar.WebhookEndpoint, error) { return tx.EndpointList(ctx) }); err != nil || len(got) != 0 {
			t.Errorf("EndpointList with none = %v, %v; want nothing", got, err)
		}
		// Inserted out of order; we_b and we_c share a creation time, so
		// the ID decides.
		at := func(id bursar.EndpointID, minute int, disabled bool) bursar.WebhookEndpoint {
			e := newEndpoint(id)
			e.CreatedAt, e.UpdatedAt, e.Disabled = t0.Add(time.Duration(minute)*time.Minute), t0.Add(time.Hour), disabled
			return e
		}
		es := []bursar.WebhookEndpoint{at("we_c", 2, false), at("we_d", 3, true), at("we_a", 1, false), at("we_b", 2, true)}
		mustWrite(t, db, func(tx store.Tx) error {
			for _, e := range es {
				if err := tx.EndpointInsert(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		got, err := readTx(db, func(tx store.Tx) ([]bursar.WebhookEndpoint, error) { return tx.EndpointList(ctx) })
		if err != nil {
			t.Fatal(err)
		}
		want := []bursar.WebhookEndpoint{es[2], es[3], es[0], es[1]}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("EndpointList mismatch (-want +got):\n%s", diff)
		}
		for _, e := range got {
			checkUTC(t, "EndpointList", e.CreatedAt, e.UpdatedAt)
		}
	})
}

func testDeliveries(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("a delivery reads back as stored, in UTC, with the ID DeliveryInsert returned", func(t *testing.T) {
		db := h.Open(t)
		want := bursar.Delivery{Endpoint: "we_1", Event: "evt_1", Type: bursar.EventRefundFailed, Subject: "o1", Seq: 7,
			Status: bursar.DeliveryPending, NextAt: t0.Add(time.Minute).In(cst), CreatedAt: t0.In(cst)}
		want.ID = insertDelivery(t, db, want)
		got := getDelivery(t, db, want.ID)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DeliveryGet mismatch (-want +got):\n%s", diff)
		}
		checkUTC(t, "DeliveryGet", got.NextAt, got.CreatedAt, got.DeliveredAt)
	})

	t.Run("IDs are the database's and grow", func(t *testing.T) {
		db := h.Open(t)
		var last bursar.DeliveryID
		for i := range 3 {
			d := newDelivery("we_1", "o1", 1, 0)
			d.ID = 1000 // ignored
			id := insertDelivery(t, db, d)
			if id <= last || id == 1000 {
				t.Errorf("delivery %d got ID %d after %d", i, id, last)
			}
			last = id
		}
	})

	t.Run("an unknown delivery is not found", func(t *testing.T) {
		db := h.Open(t)
		id := insertDelivery(t, db, newDelivery("we_1", "o1", 1, 0))
		_, err := readTx(db, func(tx store.Tx) (bursar.Delivery, error) { return tx.DeliveryGet(ctx, id+1) })
		wantCode(t, "DeliveryGet of an unknown ID", err, bursar.NotFound)
		d := newDelivery("we_1", "o1", 1, 0)
		d.ID, d.Status = id+1, bursar.DeliverySucceeded
		err = db.InTx(ctx, func(tx store.Tx) error { return tx.DeliveryUpdate(ctx, d) })
		wantCode(t, "DeliveryUpdate of an unknown ID", err, bursar.NotFound)
	})

	t.Run("an update stores the outcome and nothing else", func(t *testing.T) {
		db := h.Open(t)
		orig := newDelivery("we_1", "o1", 2, 0)
		orig.ID = insertDelivery(t, db, orig)
		other := newDelivery("we_1", "o1", 3, 0)
		other.ID = insertDelivery(t, db, other)

		steps := []struct {
			name   string
			change func(d *bursar.Delivery)
		}{
			{"a failed attempt to retry", func(d *bursar.Delivery) {
				d.Attempts, d.NextAt = 1, t0.Add(5*time.Minute).In(cst)
				d.LastStatus, d.LastError, d.LastBody = 503, "HTTP 503", "<html>维护中</html>"
			}},
			{"an attempt with no answer", func(d *bursar.Delivery) {
				d.Attempts, d.NextAt = 2, t0.Add(30*time.Minute)
				d.LastStatus, d.LastError, d.LastBody = 0, "dial tcp: connection refused", ""
			}},
			{"success", func(d *bursar.Delivery) {
				d.Status, d.Attempts, d.DeliveredAt = bursar.DeliverySucceeded, 3, t0.Add(31*time.Minute).In(cst)
				d.LastStatus, d.LastError, d.LastBody = 204, "", ""
			}},
			{"failure, with no delivery time", func(d *bursar.Delivery) {
				d.Status, d.DeliveredAt = bursar.DeliveryFailed, time.Time{}
				d.LastError = "the endpoint is disabled or gone"
			}},
		}
		want := orig
		for _, step := range steps {
			step.change(&want)
			// Fields an update does not store: changing them changes nothing.
			sent := want
			sent.Endpoint, sent.Event, sent.Type, sent.Subject, sent.Seq, sent.CreatedAt =
				"we_x", "evt_x", bursar.EventOrderClosed, "ox", 99, t0.Add(time.Hour)
			mustWrite(t, db, func(tx store.Tx) error { return tx.DeliveryUpdate(ctx, sent) })
			got := getDelivery(t, db, orig.ID)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("after %s, DeliveryGet mismatch (-want +got):\n%s", step.name, diff)
			}
			checkUTC(t, "DeliveryGet after "+step.name, got.NextAt, got.CreatedAt, got.DeliveredAt)
		}
		if diff := cmp.Diff(other, getDelivery(t, db, other.ID)); diff != "" {
			t.Errorf("the updates changed another delivery (-want +got):\n%s", diff)
		}
	})
}

func testDeliveryList(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	// Newest first the deliveries are d5 … d1.
	rows := []struct {
		name     string
		endpoint bursar.EndpointID
		event    bursar.EventID
		status   bursar.DeliveryStatus
	}{
		{"d1", "we_1", "evt_a", bursar.DeliveryPending},
		{"d2", "we_2", "evt_a", bursar.DeliverySucceeded},
		{"d3", "we_1", "evt_b", bursar.DeliveryFailed},
		{"d4", "we_1", "evt_c", bursar.DeliveryPending},
		{"d5", "we_2", "evt_b", bursar.DeliveryPending},
	}
	id := map[string]bursar.DeliveryID{}
	name := map[bursar.DeliveryID]string{}
	var all []bursar.Delivery
	for _, r := range rows {
		d := newDelivery(r.endpoint, "o1", 1, 0)
		d.Event = r.event
		d.ID = insertDelivery(t, db, d)
		if r.status != bursar.DeliveryPending {
			finishDelivery(t, db, d.ID, r.status)
		}
		id[r.name], name[d.ID] = d.ID, r.name
		all = append(all, getDelivery(t, db, d.ID))
	}
	names := func(ds []bursar.Delivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, name[d.ID])
		}
		return out
	}
	list := func(f bursar.DeliveryFilter) ([]bursar.Delivery, bool, error) {
		var ds []bursar.Delivery
		var more bool
		err := db.InReadTx(ctx, func(tx store.Tx) error {
			var err error
			ds, more, err = tx.DeliveryList(ctx, f)
			return err
		})
		return ds, more, err
	}

	tests := []struct {
		name string
		f    bursar.DeliveryFilter
		want []string
		more bool
	}{
		{"every delivery, newest first", bursar.DeliveryFilter{Limit: 10}, []string{"d5", "d4", "d3", "d2", "d1"}, false},
		{"an endpoint's", bursar.DeliveryFilter{Endpoint: "we_1", Limit: 10}, []string{"d4", "d3", "d1"}, false},
		{"an event's", bursar.DeliveryFilter{Event: "evt_b", Limit: 10}, []string{"d5", "d3"}, false},
		{"in a status", bursar.DeliveryFilter{Status: bursar.DeliveryPending, Limit: 10}, []string{"d5", "d4", "d1"}, false},
		{"an endpoint's in a status", bursar.DeliveryFilter{Endpoint: "we_1", Status: bursar.DeliveryPending, Limit: 10},
			[]string{"d4", "d1"}, false},
		{"an event's to an endpoint", bursar.DeliveryFilter{Endpoint: "we_2", Event: "evt_a", Limit: 10}, []string{"d2"}, false},
		{"an endpoint with none", bursar.DeliveryFilter{Endpoint: "we_9", Limit: 10}, nil, false},
		{"a limit below the count says there are more", bursar.DeliveryFilter{Limit: 2}, []string{"d5", "d4"}, true},
		{"a limit of exactly the count says there are no more", bursar.DeliveryFilter{Limit: 5},
			[]string{"d5", "d4", "d3", "d2", "d1"}, false},
		{"before lists older deliveries", bursar.DeliveryFilter{Before: id["d4"], Limit: 10}, []string{"d3", "d2", "d1"}, false},
		{"before with a limit", bursar.DeliveryFilter{Before: id["d5"], Limit: 2}, []string{"d4", "d3"}, true},
		{"before with a filter", bursar.DeliveryFilter{Endpoint: "we_2", Before: id["d4"], Limit: 10}, []string{"d2"}, false},
		{"before the oldest is empty", bursar.DeliveryFilter{Before: id["d1"], Limit: 10}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := list(tt.f)
			if err != nil {
				t.Fatalf("DeliveryList(%+v): %v", tt.f, err)
			}
			if diff := cmp.Diff(tt.want, names(got)); diff != "" || more != tt.more {
				t.Errorf("DeliveryList(%+v) = %v, more %v; want %v, more %v", tt.f, names(got), more, tt.want, tt.more)
			}
		})
	}

	t.Run("listed deliveries are whole, in UTC", func(t *testing.T) {
		got, _, err := list(bursar.DeliveryFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(all)
		slices.Reverse(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DeliveryList mismatch (-want +got):\n%s", diff)
		}
		for _, d := range got {
			checkUTC(t, "DeliveryList", d.NextAt, d.CreatedAt, d.DeliveredAt)
		}
	})

	t.Run("paging visits every delivery once", func(t *testing.T) {
		var seen []string
		var before bursar.DeliveryID
		for pages := 0; ; pages++ {
			got, more, err := list(bursar.DeliveryFilter{Before: before, Limit: 2})
			if err != nil || pages > 10 {
				t.Fatalf("page %d: %v", pages, err)
			}
			seen = append(seen, names(got)...)
			if !more {
				break
			}
			before = got[len(got)-1].ID
		}
		if diff := cmp.Diff([]string{"d5", "d4", "d3", "d2", "d1"}, seen); diff != "" {
			t.Errorf("paging (-want +got):\n%s", diff)
		}
	})

	for _, limit := range []int{0, -1} {
		t.Run(fmt.Sprintf("a limit of %d is invalid", limit), func(t *testing.T) {
			_, _, err := list(bursar.DeliveryFilter{Limit: limit})
			wantInvalidParam(t, fmt.Sprintf("DeliveryList with limit %d", limit), err, "limit")
		})
	}
}

func testDeliveryDueEndpoints(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	due := func(now time.Time) []bursar.EndpointID {
		t.Helper()
		got, err := readTx(db, func(tx store.Tx) ([]bursar.EndpointID, error) { return tx.DeliveryDueEndpoints(ctx, now) })
		if err != nil {
			t.Fatalf("DeliveryDueEndpoints: %v", err)
		}
		slices.Sort(got) // the contract names no order
		return got
	}
	if got := due(t0); len(got) != 0 {
		t.Errorf("DeliveryDueEndpoints with no deliveries = %v, want none", got)
	}
	insertDelivery(t, db, newDelivery("we_due", "o1", 1, 0))
	insertDelivery(t, db, newDelivery("we_due", "o2", 1, -time.Minute)) // two due: listed once
	insertDelivery(t, db, newDelivery("we_later", "o1", 1, time.Hour))
	finishDelivery(t, db, insertDelivery(t, db, newDelivery("we_done", "o1", 1, -time.Hour)), bursar.DeliverySucceeded)
	finishDelivery(t, db, insertDelivery(t, db, newDelivery("we_failed", "o1", 1, -time.Hour)), bursar.DeliveryFailed)
	// we_blocked has a due delivery behind one that is not due yet: it is
	// pending and due, so listed, though a claim would get nothing.
	insertDelivery(t, db, newDelivery("we_blocked", "o1", 1, 2*time.Hour))
	insertDelivery(t, db, newDelivery("we_blocked", "o1", 2, 0))

	tests := []struct {
		name string
		now  time.Time
		want []bursar.EndpointID
	}{
		{"before anything is due", t0.Add(-2 * time.Minute), nil},
		{"a delivery due exactly now counts", t0.In(cst), []bursar.EndpointID{"we_blocked", "we_due"}},
		{"later ones come due", t0.Add(time.Hour), []bursar.EndpointID{"we_blocked", "we_due", "we_later"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, due(tt.now)); diff != "" {
			t.Errorf("%s: DeliveryDueEndpoints(t0%+v) (-want +got):\n%s", tt.name, tt.now.Sub(t0), diff)
		}
	}
}

// claimRow is a delivery a claim test starts with.
type claimRow struct {
	endpoint bursar.EndpointID
	subject  string
	seq      int64
	next     time.Duration         // NextAt - t0
	status   bursar.DeliveryStatus // "" is pending
}

func testDeliveryClaim(t *testing.T, h Harness) {
	ctx := context.Background()
	now := t0.Add(10 * time.Minute)
	until := now.Add(time.Minute)
	const (
		notDue    = time.Hour
		succeeded = bursar.DeliverySucceeded
		failed    = bursar.DeliveryFailed
	)
	tests := []struct {
		name  string
		rows  []claimRow // inserted in this order
		limit int
		want  []string // claimed from we_1 at now, in any order
	}{
		{"only pending deliveries due now are claimed",
			[]claimRow{{"we_1", "a", 1, 0, ""}, {"we_1", "b", 1, notDue, ""}, {"we_1", "c", 1, 10 * time.Minute, ""},
				{"we_1", "d", 1, 0, succeeded}, {"we_1", "e", 1, 0, failed}},
			10, []string{"we_1 a#1", "we_1 c#1"}},
		{"the earliest up to the limit",
			[]claimRow{{"we_1", "a", 1, 3 * time.Minute, ""}, {"we_1", "b", 1, time.Minute, ""},
				{"we_1", "c", 1, 2 * time.Minute, ""}, {"we_1", "d", 1, time.Minute, ""}},
			2, []string{"we_1 b#1", "we_1 d#1"}},
		{"only the first of a subject's pending deliveries",
			[]claimRow{{"we_1", "a", 1, 0, ""}, {"we_1", "a", 2, 0, ""}, {"we_1", "a", 3, 0, ""}},
			10, []string{"we_1 a#1"}},
		{"the first of each subject at once",
			[]claimRow{{"we_1", "a", 1, 0, ""}, {"we_1", "a", 2, 0, ""}, {"we_1", "b", 1, 0, ""}, {"we_1", "b", 2, 0, ""}},
			10, []string{"we_1 a#1", "we_1 b#1"}},
		{"the sequence picks the first, not the insertion order",
			[]claimRow{{"we_1", "a", 3, 0, ""}, {"we_1", "a", 2, 0, ""}, {"we_1", "a", 1, time.Minute, ""}},
			10, []string{"we_1 a#1"}},
		{"the sequence picks the first, not the time it is due",
			[]claimRow{{"we_1", "a", 1, 5 * time.Minute, ""}, {"we_1", "a", 2, 0, ""}},
			10, []string{"we_1 a#1"}},
		{"a succeeded delivery lets the next go",
			[]claimRow{{"we_1", "a", 1, 0, succeeded}, {"we_1", "a", 2, 0, ""}, {"we_1", "a", 3, 0, ""}},
			10, []string{"we_1 a#2"}},
		{"a failed delivery lets the next go",
			[]claimRow{{"we_1", "a", 1, 0, failed}, {"we_1", "a", 2, 0, ""}, {"we_1", "a", 3, 0, ""}},
			10, []string{"we_1 a#2"}},
		{"a first delivery not due yet holds back the rest of its subject",
			[]claimRow{{"we_1", "a", 1, notDue, ""}, {"we_1", "a", 2, 0, ""}, {"we_1", "b", 1, 0, ""}},
			10, []string{"we_1 b#1"}},
		{"a re-sent older event goes before newer pending ones",
			[]claimRow{{"we_1", "a", 1, 0, succeeded}, {"we_1", "a", 2, 0, ""}, {"we_1", "a", 1, time.Minute, ""}},
			10, []string{"we_1 a#1"}},
		{"another endpoint's deliveries of the subject do not hold it back",
			[]claimRow{{"we_2", "a", 1, notDue, ""}, {"we_2", "a", 2, 0, ""}, {"we_1", "a", 2, 0, ""}, {"we_1", "a", 3, 0, ""}},
			10, []string{"we_1 a#2"}},
		{"another endpoint's deliveries are not claimed",
			[]claimRow{{"we_2", "a", 1, 0, ""}, {"we_2", "b", 1, 0, ""}, {"we_1", "c", 1, 0, ""}},
			10, []string{"we_1 c#1"}},
		{"nothing due, nothing claimed",
			[]claimRow{{"we_1", "a", 1, notDue, ""}, {"we_2", "b", 1, 0, ""}},
			10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			for _, r := range tt.rows {
				id := insertDelivery(t, db, newDelivery(r.endpoint, r.subject, r.seq, r.next))
				if r.status != "" {
					finishDelivery(t, db, id, r.status)
				}
			}
			got := claimDeliveries(t, db, now, until, tt.limit)
			keys := deliveryKeys(got)
			slices.Sort(keys) // the next test checks the order
			if diff := cmp.Diff(tt.want, keys); diff != "" {
				t.Errorf("DeliveryClaim (-want +got):\n%s", diff)
			}
			for _, d := range got {
				if !d.NextAt.Equal(until) || d.Status != bursar.DeliveryPending {
					t.Errorf("claimed %d: NextAt %v, status %s; want %v, pending", d.ID, d.NextAt, d.Status, until)
				}
			}
		})
	}

	t.Run("claimed deliveries come earliest first, ties by ID", func(t *testing.T) {
		db := h.Open(t)
		for _, r := range []claimRow{{"we_1", "a", 1, 3 * time.Minute, ""}, {"we_1", "b", 1, time.Minute, ""},
			{"we_1", "c", 1, 2 * time.Minute, ""}, {"we_1", "d", 1, time.Minute, ""}} {
			insertDelivery(t, db, newDelivery(r.endpoint, r.subject, r.seq, r.next))
		}
		got := claimDeliveries(t, db, now, until, 10)
		if diff := cmp.Diff([]string{"we_1 b#1", "we_1 d#1", "we_1 c#1", "we_1 a#1"}, deliveryKeys(got)); diff != "" {
			t.Errorf("DeliveryClaim (-want +got):\n%s", diff)
		}
	})

	t.Run("a claim returns the deliveries as stored with their lease, in UTC", func(t *testing.T) {
		db := h.Open(t)
		insertDelivery(t, db, newDelivery("we_1", "a", 1, 0))
		insertDelivery(t, db, newDelivery("we_1", "b", 1, time.Minute))
		got := claimDeliveries(t, db, now.In(cst), until.In(cst), 10)
		if len(got) != 2 {
			t.Fatalf("DeliveryClaim = %v, want a#1 and b#1", deliveryKeys(got))
		}
		for _, d := range got {
			if diff := cmp.Diff(getDelivery(t, db, d.ID), d); diff != "" {
				t.Errorf("claimed delivery differs from DeliveryGet (-stored +claimed):\n%s", diff)
			}
			if !d.NextAt.Equal(until) {
				t.Errorf("claimed %d: NextAt %v, want %v", d.ID, d.NextAt, until)
			}
			checkUTC(t, fmt.Sprintf("DeliveryClaim, delivery %d", d.ID), d.NextAt, d.CreatedAt, d.DeliveredAt)
		}
	})

	t.Run("ties in sequence go by ID", func(t *testing.T) {
		db := h.Open(t)
		first := insertDelivery(t, db, newDelivery("we_1", "a", 1, time.Minute))
		insertDelivery(t, db, newDelivery("we_1", "a", 1, 0)) // the same event re-sent
		if got := deliveryIDs(claimDeliveries(t, db, now, until, 10)); !slices.Equal(got, []bursar.DeliveryID{first}) {
			t.Errorf("DeliveryClaim = %v, want [%d], the first delivery of the event", got, first)
		}
	})

	for _, limit := range []int{0, -1} {
		t.Run(fmt.Sprintf("a limit of %d is invalid", limit), func(t *testing.T) {
			db := h.Open(t)
			insertDelivery(t, db, newDelivery("we_1", "a", 1, 0))
			_, err := writeTx(db, func(tx store.Tx) ([]bursar.Delivery, error) {
				return tx.DeliveryClaim(ctx, "we_1", now, until, limit)
			})
			wantInvalidParam(t, fmt.Sprintf("DeliveryClaim with limit %d", limit), err, "limit")
		})
	}
}

// testDeliveryLease follows a subject's deliveries through claims and
// updates, as the sender does.
func testDeliveryLease(t *testing.T, h Harness) {
	for _, outcome := range []bursar.DeliveryStatus{bursar.DeliverySucceeded, bursar.DeliveryFailed} {
		t.Run("the next is claimable once the first has "+string(outcome), func(t *testing.T) {
			db := h.Open(t)
			var ids []bursar.DeliveryID
			for seq := range int64(3) {
				ids = append(ids, insertDelivery(t, db, newDelivery("we_1", "a", seq+1, 0)))
			}
			other := insertDelivery(t, db, newDelivery("we_1", "b", 1, time.Minute))
			until := t0.Add(time.Minute + 30*time.Second)

			got := claimDeliveries(t, db, t0, until, 10)
			if diff := cmp.Diff([]string{"we_1 a#1"}, deliveryKeys(got)); diff != "" {
				t.Fatalf("first claim (-want +got):\n%s", diff)
			}
			if d := getDelivery(t, db, ids[0]); !d.NextAt.Equal(until) || d.Status != bursar.DeliveryPending || d.Attempts != 0 {
				t.Errorf("claimed delivery stored with NextAt %v, status %s, %d attempts; want %v, pending, 0",
					d.NextAt, d.Status, d.Attempts, until)
			}
			if got := claimDeliveries(t, db, t0, until, 10); len(got) != 0 {
				t.Errorf("a second claim at the same time = %v, want nothing: a#1 is leased, a#2 waits for it", deliveryKeys(got))
			}
			// Another subject comes due while a#1 is leased: it is claimed, a#2 is not.
			got = claimDeliveries(t, db, t0.Add(time.Minute), t0.Add(time.Hour), 10)
			if diff := cmp.Diff([]bursar.DeliveryID{other}, deliveryIDs(got)); diff != "" {
				t.Errorf("claim while a#1 is leased (-want +got):\n%s", diff)
			}
			// The lease runs out without an update (the sender died): a#1
			// is claimed again, still before a#2.
			got = claimDeliveries(t, db, until, until.Add(time.Minute), 10)
			if diff := cmp.Diff([]bursar.DeliveryID{ids[0]}, deliveryIDs(got)); diff != "" {
				t.Errorf("claim after the lease ran out (-want +got):\n%s", diff)
			}

			finishDelivery(t, db, ids[0], outcome)
			got = claimDeliveries(t, db, until, until.Add(time.Minute), 10)
			if diff := cmp.Diff([]bursar.DeliveryID{ids[1]}, deliveryIDs(got)); diff != "" {
				t.Errorf("claim after a#1 %s (-want +got):\n%s", outcome, diff)
			}
			finishDelivery(t, db, ids[1], outcome)
			got = claimDeliveries(t, db, until, until.Add(time.Minute), 10)
			if diff := cmp.Diff([]bursar.DeliveryID{ids[2]}, deliveryIDs(got)); diff != "" {
				t.Errorf("claim after a#2 %s (-want +got):\n%s", outcome, diff)
			}
		})
	}
}

func testDeliveryAttempts(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	d1 := insertDelivery(t, db, newDelivery("we_1", "o1", 1, 0))
	d2 := insertDelivery(t, db, newDelivery("we_1", "o2", 1, 0))
	list := func(id bursar.DeliveryID) []bursar.DeliveryAttempt {
		t.Helper()
		got, err := readTx(db, func(tx store.Tx) ([]bursar.DeliveryAttempt, error) { return tx.DeliveryAttemptList(ctx, id) })
		if err != nil {
			t.Fatalf("DeliveryAttemptList(%d): %v", id, err)
		}
		return got
	}
	if got := list(d1); len(got) != 0 {
		t.Errorf("DeliveryAttemptList before any attempt = %v, want none", got)
	}
	want := []bursar.DeliveryAttempt{
		{Delivery: d1, At: t0.In(cst), Error: "dial tcp 203.0.113.7:443: connect: connection refused",
			Duration: 3*time.Second + 2*time.Millisecond},
		{Delivery: d1, At: t0.Add(time.Minute), Status: 500, Error: "HTTP 500", Body: `{"error":"内部错误"}`,
			Duration: 250 * time.Millisecond},
		{Delivery: d1, At: t0.Add(6 * time.Minute).In(cst), Status: 200, Body: "ok"},
	}
	mustWrite(t, db, func(tx store.Tx) error {
		if err := tx.DeliveryAttemptInsert(ctx, want[0]); err != nil {
			return err
		}
		return tx.DeliveryAttemptInsert(ctx, bursar.DeliveryAttempt{Delivery: d2, At: t0, Status: 204, Duration: time.Millisecond})
	})
	for _, a := range want[1:] {
		mustWrite(t, db, func(tx store.Tx) error { return tx.DeliveryAttemptInsert(ctx, a) })
	}
	got := list(d1)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DeliveryAttemptList(d1) mismatch (-want +got):\n%s", diff)
	}
	for _, a := range got {
		checkUTC(t, "DeliveryAttemptList", a.At)
	}
	if got := list(d2); len(got) != 1 || got[0].Status != 204 || got[0].Duration != time.Millisecond {
		t.Errorf("DeliveryAttemptList(d2) = %+v, want the one 204 attempt of 1ms", got)
	}
	if got := list(d2 + 100); len(got) != 0 {
		t.Errorf("DeliveryAttemptList of an unknown delivery = %v, want none", got)
	}
}

// testEventSeqConcurrent numbers one subject's events from several
// transactions at once: each gets its own number. PostgreSQL lets two of
// them read the same last number; the loser's transaction runs again, and
// can lose at most once to each other writer, so there are no more writers
// than the attempts InTx allows (5).
func testEventSeqConcurrent(t *testing.T, h Harness) {
	db := h.Open(t)
	const n = 5
	seqs := make([]int64, n)
	atOnce(n, func(i int) {
		var err error
		seqs[i], err = writeTx(db, func(tx store.Tx) (int64, error) {
			return tx.EventInsert(context.Background(), newEvent(bursar.EventID(fmt.Sprintf("evt_%d", i)), bursar.EventOrderPaid, "o1", i))
		})
		if err != nil {
			t.Errorf("EventInsert %d: %v", i, err)
		}
	})
	slices.Sort(seqs)
	if diff := cmp.Diff([]int64{1, 2, 3, 4, 5}, seqs); diff != "" {
		t.Errorf("numbers given to concurrent events (-want +got):\n%s", diff)
	}
	if n := h.Count(t, db, `SELECT count(DISTINCT seq) FROM events WHERE subject = 'o1'`); n != 5 {
		t.Errorf("%d distinct numbers stored, want 5", n)
	}
}

// testDeliveryClaimConcurrent has several senders claim and finish one
// endpoint's deliveries at once. Every delivery is claimed exactly once, and
// each subject's in order: a delivery is claimed only after the one before
// it was finished.
func testDeliveryClaimConcurrent(t *testing.T, h Harness) {
	db := h.Open(t)
	const (
		senders  = 8
		subjects = 10
		perSubj  = 3
	)
	endpoints := []bursar.EndpointID{"we_1", "we_2"}
	for _, ep := range endpoints {
		for seq := range int64(perSubj) {
			for s := range subjects {
				insertDelivery(t, db, newDelivery(ep, fmt.Sprintf("o%d", s), seq+1, 0))
			}
		}
	}
	total := len(endpoints) * subjects * perSubj
	var (
		mu      sync.Mutex
		claimed []bursar.Delivery // in the order the claims committed
	)
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(claimed) >= total
	}
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			ep := endpoints[w%len(endpoints)]
			for !done() && time.Now().Before(deadline) {
				ds, err := writeTx(db, func(tx store.Tx) ([]bursar.Delivery, error) {
					return tx.DeliveryClaim(context.Background(), ep, t0, t0.Add(time.Hour), 3)
				})
				if err != nil {
					t.Errorf("DeliveryClaim: %v", err)
					return
				}
				mu.Lock()
				claimed = append(claimed, ds...)
				mu.Unlock()
				for _, d := range ds {
					finishDelivery(t, db, d.ID, bursar.DeliverySucceeded)
				}
			}
		})
	}
	wg.Wait()
	if len(claimed) != total {
		t.Errorf("%d deliveries claimed, want %d", len(claimed), total)
	}
	seen := map[bursar.DeliveryID]bool{}
	next := map[string]int64{} // by "endpoint subject": the seq claimed next
	for _, d := range claimed {
		if seen[d.ID] {
			t.Errorf("delivery %d (%s) claimed twice", d.ID, deliveryKeys([]bursar.Delivery{d})[0])
		}
		seen[d.ID] = true
		k := string(d.Endpoint) + " " + d.Subject
		if next[k] == 0 {
			next[k] = 1
		}
		if d.Seq != next[k] {
			t.Errorf("%s#%d claimed when #%d was next", k, d.Seq, next[k])
		}
		next[k] = d.Seq + 1
	}
}

// waitForLockWaiter waits until a transaction that has written to table
// waits for a lock, such as a row another transaction inserted and has not
// committed. 'table'::regclass finds the test's own schema, so transactions
// of other tests on the server do not count.
func waitForLockWaiter(t testing.TB, h Harness, db store.DB, table string) {
	t.Helper()
	q := fmt.Sprintf(`SELECT count(*) FROM pg_locks w WHERE NOT w.granted
		AND w.pid IN (SELECT pid FROM pg_locks WHERE relation = '%s'::regclass)`, table)
	for deadline := time.Now().Add(10 * time.Second); h.Count(t, db, q) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no transaction came to wait for a lock on %s", table)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testEventSeqRetry forces the race testEventSeqConcurrent may or may not
// hit: the second writer reads the subject's last number while the first
// has inserted, not committed, so both pick 1. The unique constraint makes
// the second wait for the first, then fail; InTx runs it again and it takes
// 2.
func testEventSeqRetry(t *testing.T, h Harness, db store.DB) {
	ctx := context.Background()
	insertEvent(t, db, newEvent("evt_other", bursar.EventOrderPaid, "o2", 0))
	inserted, firstDone := make(chan int64, maxTries), make(chan error, 1)
	commit := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(commit) }) }
	defer release()
	go func() {
		firstDone <- db.InTx(ctx, func(tx store.Tx) error {
			seq, err := tx.EventInsert(ctx, newEvent("evt_1", bursar.EventOrderPaid, "o1", 1))
			if err != nil {
				return err
			}
			inserted <- seq
			<-commit
			return nil
		})
	}()
	first := <-inserted

	var tries int
	secondDone := make(chan error, 1)
	var second int64
	go func() {
		var err error
		second, err = writeTx(db, func(tx store.Tx) (int64, error) {
			tries++
			return tx.EventInsert(ctx, newEvent("evt_2", bursar.EventOrderCompleted, "o1", 2))
		})
		secondDone <- err
	}()
	waitForLockWaiter(t, h, db, "events")
	release()
	if err := <-firstDone; err != nil {
		t.Fatalf("first EventInsert: %v", err)
	}
	if err := <-secondDone; err != nil {
		t.Fatalf("second EventInsert: %v", err)
	}
	if first != 1 || second != 2 {
		t.Errorf("EventInsert numbered the racing events %d and %d, want 1 and 2", first, second)
	}
	if tries != 2 {
		t.Errorf("the second transaction ran %d times, want 2: once to lose the race, once to number after the first", tries)
	}
	var got []bursar.Event
	err := db.InReadTx(ctx, func(tx store.Tx) error {
		var err error
		got, _, err = tx.EventList(ctx, bursar.EventFilter{Order: "o1", Limit: 10})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bursar.EventID{"evt_2", "evt_1"}, eventIDs(got)); diff != "" {
		t.Errorf("EventList(o1) after the race (-want +got):\n%s", diff)
	}
}

// maxTries is more than any engine runs a transaction, so a channel that
// each run sends to once never blocks.
const maxTries = 10

// testDeliverySkipLocked holds a claim open in one transaction while
// another claims the same endpoint: the second gets only what the first did
// not take, waits for nothing, and does not take the next delivery of a
// subject whose first the other holds.
func testDeliverySkipLocked(t *testing.T, db store.DB) {
	ctx := context.Background()
	for _, r := range []claimRow{
		{"we_1", "a", 1, 0, ""}, {"we_1", "a", 2, 0, ""},
		{"we_1", "b", 1, time.Second, ""}, {"we_1", "c", 1, 2 * time.Second, ""},
	} {
		insertDelivery(t, db, newDelivery(r.endpoint, r.subject, r.seq, r.next))
	}
	now, until := t0.Add(time.Minute), t0.Add(2*time.Minute)
	claimed, release, done := make(chan []bursar.Delivery, maxTries), make(chan struct{}), make(chan error, 1)
	var once sync.Once
	finish := func() { once.Do(func() { close(release) }) }
	defer finish()
	go func() {
		done <- db.InTx(ctx, func(tx store.Tx) error {
			ds, err := tx.DeliveryClaim(ctx, "we_1", now, until, 2)
			claimed <- ds
			if err != nil {
				return err
			}
			<-release
			return nil
		})
	}()
	first := <-claimed
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	second, err := writeTx(db, func(tx store.Tx) ([]bursar.Delivery, error) {
		return tx.DeliveryClaim(waitCtx, "we_1", now, until, 10)
	})
	cancel()
	finish()
	if err := <-done; err != nil {
		t.Fatalf("first claim: %v", err)
	}
	if err != nil {
		t.Fatalf("second claim: %v", err)
	}
	firstKeys := deliveryKeys(first)
	slices.Sort(firstKeys) // the order is the claims test's business
	if diff := cmp.Diff([]string{"we_1 a#1", "we_1 b#1"}, firstKeys); diff != "" {
		t.Errorf("first claim (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"we_1 c#1"}, deliveryKeys(second)); diff != "" {
		t.Errorf("second claim while the first is open (-want +got):\n%s", diff)
	}
	if got := claimDeliveries(t, db, now, until, 10); len(got) != 0 {
		t.Errorf("claim after both committed = %v, want nothing: every first delivery is leased", deliveryKeys(got))
	}
}
