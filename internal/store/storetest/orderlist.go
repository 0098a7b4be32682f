package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// listOrders are the orders the list tests page through. Newest first they
// are o8 … o1; o5 and o6 share a creation time, so the ID decides.
func listOrders() []bursar.Order {
	rows := []struct {
		id            bursar.OrderID
		buyer, seller bursar.UserID
		item          bursar.ItemID
		typ           bursar.OrderType
		status        bursar.OrderStatus
		minute        int
	}{
		{"o1", "alice", "sam", "it1", bursar.OrderPurchase, bursar.OrderPaid, 1},
		{"o2", "bob", "sam", "it2", bursar.OrderPurchase, bursar.OrderCompleted, 2},
		{"o3", "alice", "", "", bursar.OrderTopup, bursar.OrderPaid, 3},
		{"o4", "sam", "alice", "it3", bursar.OrderPurchase, bursar.OrderPending, 4},
		{"o5", "alice", "sam", "it1", bursar.OrderPurchase, bursar.OrderRefunded, 5},
		{"o6", "bob", "", "", bursar.OrderWithdrawal, bursar.OrderPending, 5},
		{"o7", "alice", "sam", "it2", bursar.OrderPurchase, bursar.OrderPaid, 6},
		{"o8", "carol", "alice", "it3", bursar.OrderPurchase, bursar.OrderCompleted, 7},
	}
	os := make([]bursar.Order, len(rows))
	for i, r := range rows {
		created := t0.Add(time.Duration(r.minute) * time.Minute)
		os[i] = bursar.Order{ID: r.id, No: "N" + string(r.id), Type: r.typ, Status: r.status,
			Buyer: r.buyer, Seller: r.seller, Item: r.item, Subject: "s", Amount: cny(100),
			CreatedAt: created, UpdatedAt: created}
	}
	// Seed 1's chats: a chat can have had several purchases.
	os[0].Metadata = map[string]string{"chat_id": "room_1"}
	os[6].Metadata = map[string]string{"chat_id": "room_1", "note": "again"}
	os[4].Metadata = map[string]string{"chat_id": "room_2"}
	return os
}

func ids(os []bursar.Order) []bursar.OrderID {
	var out []bursar.OrderID
	for _, o := range os {
		out = append(out, o.ID)
	}
	return out
}

func testOrderList(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	all := listOrders()
	mustOrders(t, db, all...)
	list := func(f bursar.OrderFilter) ([]bursar.Order, bool, error) {
		var os []bursar.Order
		var more bool
		err := db.InReadTx(ctx, func(tx store.Tx) error {
			var err error
			os, more, err = tx.OrderList(ctx, f)
			return err
		})
		return os, more, err
	}
	at := func(minute int) time.Time { return t0.Add(time.Duration(minute) * time.Minute).In(cst) }

	tests := []struct {
		name string
		f    bursar.OrderFilter
		want []bursar.OrderID
		more bool
	}{
		{"no filter lists every order newest first", bursar.OrderFilter{Limit: 100},
			[]bursar.OrderID{"o8", "o7", "o6", "o5", "o4", "o3", "o2", "o1"}, false},
		{"a buyer's orders", bursar.OrderFilter{Buyer: "alice", Limit: 100}, []bursar.OrderID{"o7", "o5", "o3", "o1"}, false},
		{"a seller's orders", bursar.OrderFilter{Seller: "sam", Limit: 100}, []bursar.OrderID{"o7", "o5", "o2", "o1"}, false},
		{"a party's orders as buyer or seller", bursar.OrderFilter{Party: "alice", Limit: 100},
			[]bursar.OrderID{"o8", "o7", "o5", "o4", "o3", "o1"}, false},
		{"a party's orders in one status", bursar.OrderFilter{Party: "alice", Status: bursar.OrderPaid, Limit: 100},
			[]bursar.OrderID{"o7", "o3", "o1"}, false},
		{"orders of a type", bursar.OrderFilter{Type: bursar.OrderTopup, Limit: 100}, []bursar.OrderID{"o3"}, false},
		{"orders in a status", bursar.OrderFilter{Status: bursar.OrderPending, Limit: 100}, []bursar.OrderID{"o6", "o4"}, false},
		{"orders of an item", bursar.OrderFilter{Item: "it1", Limit: 100}, []bursar.OrderID{"o5", "o1"}, false},
		{"From is inclusive", bursar.OrderFilter{From: at(5), Limit: 100}, []bursar.OrderID{"o8", "o7", "o6", "o5"}, false},
		{"To is exclusive", bursar.OrderFilter{To: at(5), Limit: 100}, []bursar.OrderID{"o4", "o3", "o2", "o1"}, false},
		{"From and To together", bursar.OrderFilter{From: at(2), To: at(5), Limit: 100}, []bursar.OrderID{"o4", "o3", "o2"}, false},
		{"every filter at once", bursar.OrderFilter{Buyer: "alice", Seller: "sam", Item: "it2", Type: bursar.OrderPurchase,
			Status: bursar.OrderPaid, From: at(6), To: at(7), Limit: 100}, []bursar.OrderID{"o7"}, false},
		{"a filter nothing matches", bursar.OrderFilter{Buyer: "nobody", Limit: 100}, nil, false},
		{"a limit below the count says there are more", bursar.OrderFilter{Limit: 3}, []bursar.OrderID{"o8", "o7", "o6"}, true},
		{"a limit one below the count says there are more", bursar.OrderFilter{Limit: 7},
			[]bursar.OrderID{"o8", "o7", "o6", "o5", "o4", "o3", "o2"}, true},
		{"a limit of exactly the count says there are no more", bursar.OrderFilter{Limit: 8},
			[]bursar.OrderID{"o8", "o7", "o6", "o5", "o4", "o3", "o2", "o1"}, false},
		{"After continues past a tie in creation time", bursar.OrderFilter{After: "o6", Limit: 3},
			[]bursar.OrderID{"o5", "o4", "o3"}, true},
		{"After on the last page", bursar.OrderFilter{After: "o3", Limit: 3}, []bursar.OrderID{"o2", "o1"}, false},
		{"After the oldest is empty", bursar.OrderFilter{After: "o1", Limit: 3}, nil, false},
		{"Before returns the page next to the cursor, newest first", bursar.OrderFilter{Before: "o1", Limit: 3},
			[]bursar.OrderID{"o4", "o3", "o2"}, true},
		{"Before goes back past a tie in creation time", bursar.OrderFilter{Before: "o5", Limit: 1}, []bursar.OrderID{"o6"}, true},
		{"Before on the first page", bursar.OrderFilter{Before: "o7", Limit: 3}, []bursar.OrderID{"o8"}, false},
		{"Before the newest is empty", bursar.OrderFilter{Before: "o8", Limit: 3}, nil, false},
		{"a cursor need not match the filter", bursar.OrderFilter{Buyer: "alice", After: "o6", Limit: 100},
			[]bursar.OrderID{"o5", "o3", "o1"}, false},
		{"orders in any of several states", bursar.OrderFilter{Statuses: []bursar.OrderStatus{bursar.OrderPending, bursar.OrderRefunded}, Limit: 100},
			[]bursar.OrderID{"o6", "o5", "o4"}, false},
		{"Status and Statuses both apply", bursar.OrderFilter{Status: bursar.OrderPaid, Statuses: []bursar.OrderStatus{bursar.OrderPaid, bursar.OrderPending}, Limit: 100},
			[]bursar.OrderID{"o7", "o3", "o1"}, false},
		{"the orders of a chat", bursar.OrderFilter{ChatID: "room_1", Limit: 100}, []bursar.OrderID{"o7", "o1"}, false},
		{"a chat nobody has", bursar.OrderFilter{ChatID: "room_9", Limit: 100}, nil, false},
		{"an offset skips orders", bursar.OrderFilter{Offset: 2, Limit: 3}, []bursar.OrderID{"o6", "o5", "o4"}, true},
		{"an offset on the last page", bursar.OrderFilter{Offset: 6, Limit: 3}, []bursar.OrderID{"o2", "o1"}, false},
		{"an offset past the end", bursar.OrderFilter{Offset: 8, Limit: 3}, nil, false},
		{"an offset with a filter", bursar.OrderFilter{Buyer: "alice", Offset: 1, Limit: 2}, []bursar.OrderID{"o5", "o3"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := list(tt.f)
			if err != nil {
				t.Fatalf("OrderList(%+v): %v", tt.f, err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" || more != tt.more {
				t.Errorf("OrderList(%+v) = %v, more %v; want %v, more %v", tt.f, ids(got), more, tt.want, tt.more)
			}
		})
	}

	t.Run("listed orders are whole", func(t *testing.T) {
		got, _, err := list(bursar.OrderFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]bursar.Order, len(all))
		for i, o := range all {
			want[len(all)-1-i] = o
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("OrderList mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("paging forward then back visits every order once", func(t *testing.T) {
		var forward []bursar.OrderID
		f := bursar.OrderFilter{Limit: 3}
		for pages := 0; ; pages++ {
			got, more, err := list(f)
			if err != nil || pages > 10 {
				t.Fatalf("page %d: %v", pages, err)
			}
			forward = append(forward, ids(got)...)
			if !more {
				break
			}
			f.After = got[len(got)-1].ID
		}
		var back []bursar.OrderID
		f = bursar.OrderFilter{Before: forward[len(forward)-1], Limit: 3}
		for pages := 0; ; pages++ {
			got, more, err := list(f)
			if err != nil || pages > 10 {
				t.Fatalf("page %d back: %v", pages, err)
			}
			back = append(ids(got), back...)
			if !more {
				break
			}
			f.Before = got[0].ID
		}
		want := []bursar.OrderID{"o8", "o7", "o6", "o5", "o4", "o3", "o2", "o1"}
		if diff := cmp.Diff(want, forward); diff != "" {
			t.Errorf("paging forward (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want[:len(want)-1], back); diff != "" {
			t.Errorf("paging back from the oldest (-want +got):\n%s", diff)
		}
	})

	bad := []struct {
		name  string
		f     bursar.OrderFilter
		param string
	}{
		{"a limit of zero", bursar.OrderFilter{}, "limit"},
		{"a negative limit", bursar.OrderFilter{Limit: -1}, "limit"},
		{"a limit over 100", bursar.OrderFilter{Limit: 101}, "limit"},
		{"an After cursor that is no order", bursar.OrderFilter{After: "nope", Limit: 10}, "starting_after"},
		{"a Before cursor that is no order", bursar.OrderFilter{Before: "nope", Limit: 10}, "ending_before"},
	}
	for _, tt := range bad {
		t.Run(tt.name+" is invalid", func(t *testing.T) {
			_, _, err := list(tt.f)
			var e *bursar.Error
			if !errors.As(err, &e) || e.Code != bursar.Invalid || e.Param != tt.param {
				t.Errorf("OrderList(%+v) error = %v, want invalid %s", tt.f, err, tt.param)
			}
		})
	}
}
