package service_test

import (
	"context"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

func TestCreatePurchase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		free, err := b.items.Create(ctx, b.seller, bursar.Item{Seller: "seller", Kind: bursar.ItemCourse, Title: "Free intro"})
		must(t, err)

		o, existing, err := b.orders.CreatePurchase(ctx, b.buyer, service.PurchaseInput{Buyer: "buyer", Item: free.ID})
		must(t, err)
		if existing || o.Status != bursar.OrderCompleted || o.Amount.Amount != 0 {
			t.Errorf("free course: existing %v, %+v; want a new completed order", existing, o)
		}
		again, existing, err := b.orders.CreatePurchase(ctx, b.buyer, service.PurchaseInput{Buyer: "buyer", Item: free.ID})
		must(t, err)
		if !existing || again.ID != o.ID {
			t.Errorf("buying an owned course: existing %v, order %s; want the first order %s", existing, again.ID, o.ID)
		}

		zero := bursar.Amount(0)
		disc, _, err := b.orders.CreatePurchase(ctx, b.platform, service.PurchaseInput{Buyer: "buyer", Item: b.session.ID, Amount: &zero})
		must(t, err)
		if disc.Status != bursar.OrderCompleted || disc.AccessUntil.IsZero() {
			t.Errorf("a session discounted to zero: %+v; want completed with a window", disc)
		}

		pending := b.buy(t, b.course)
		if pending.Status != bursar.OrderPending || !pending.ExpiresAt.Equal(b.clock.Now().Add(30*time.Minute)) {
			t.Errorf("a paid course: %+v; want pending for 30 minutes", pending)
		}
		if len(pending.No) != 24 {
			t.Errorf("order number %q is not 24 digits", pending.No)
		}
	})
}

func TestCreatePurchaseRefusals(t *testing.T) {
	price := bursar.Amount(100)
	tests := []struct {
		name  string
		actor func(b *bundle) bursar.Actor
		in    func(b *bundle) service.PurchaseInput
		param string
	}{
		{"a user buying for someone else", func(b *bundle) bursar.Actor { return b.buyer },
			func(b *bundle) service.PurchaseInput { return service.PurchaseInput{Buyer: "other", Item: b.course.ID} }, "buyer_id"},
		{"a user setting the amount", func(b *bundle) bursar.Actor { return b.buyer },
			func(b *bundle) service.PurchaseInput {
				return service.PurchaseInput{Buyer: "buyer", Item: b.course.ID, Amount: &price}
			}, "amount"},
		{"an unknown item", func(b *bundle) bursar.Actor { return b.buyer },
			func(b *bundle) service.PurchaseInput { return service.PurchaseInput{Buyer: "buyer", Item: "nope"} }, "item_id"},
		{"no item and no amount", func(b *bundle) bursar.Actor { return b.platform },
			func(b *bundle) service.PurchaseInput { return service.PurchaseInput{Buyer: "buyer", Seller: "seller"} }, "item_id"},
		{"buying from oneself", func(b *bundle) bursar.Actor { return b.seller },
			func(b *bundle) service.PurchaseInput {
				return service.PurchaseInput{Buyer: "seller", Item: b.course.ID}
			}, "buyer_id"},
		{"an unknown buyer", func(b *bundle) bursar.Actor { return b.platform },
			func(b *bundle) service.PurchaseInput { return service.PurchaseInput{Buyer: "ghost", Item: b.course.ID} }, "buyer_id"},
		{"bad metadata", func(b *bundle) bursar.Actor { return b.buyer },
			func(b *bundle) service.PurchaseInput {
				return service.PurchaseInput{Buyer: "buyer", Item: b.course.ID, Metadata: map[string]string{"": "x"}}
			}, "metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db store.DB) {
				b := setup(t, db)
				_, _, err := b.orders.CreatePurchase(context.Background(), tt.actor(b), tt.in(b))
				var be *bursar.Error
				if bursar.ErrorCode(err) != bursar.Invalid {
					t.Fatalf("code %q (%v), want invalid", bursar.ErrorCode(err), err)
				}
				if be = err.(*bursar.Error); be.Param != tt.param { //nolint:errorlint // service errors are not wrapped
					t.Errorf("param %q, want %q", be.Param, tt.param)
				}
			})
		})
	}
}

// TestOrdersAreHiddenFromOthers checks that another user can neither see nor
// act on an order: every use case answers not_found.
func TestOrdersAreHiddenFromOthers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		o := b.buy(t, b.course)
		other := bursar.Actor{Credential: "tok_o", Kind: bursar.CredentialUser, User: "other"}
		calls := map[string]func() error{
			"get":     func() error { _, err := b.orders.Get(ctx, other, o.ID); return err },
			"entries": func() error { _, _, err := b.orders.GetWithEntries(ctx, other, o.ID); return err },
			"pay":     func() error { _, err := b.orders.PayWithWallet(ctx, other, o.ID, pin); return err },
			"confirm": func() error { _, err := b.orders.Confirm(ctx, other, o.ID); return err },
			"wallet":  func() error { _, err := b.wallets.Get(ctx, other, "buyer"); return err },
			"user":    func() error { _, err := b.users.Get(ctx, other, "buyer"); return err },
		}
		for name, call := range calls {
			if code := bursar.ErrorCode(call()); code != bursar.NotFound {
				t.Errorf("%s by another user: code %q, want not_found", name, code)
			}
		}
		list, _, err := b.orders.List(ctx, other, bursar.OrderFilter{Buyer: "buyer"})
		if err != nil || len(list) != 0 {
			t.Errorf("listing another user's orders: %d orders, %v; want none", len(list), err)
		}
		mine, _, err := b.orders.List(ctx, b.seller, bursar.OrderFilter{Seller: "seller"})
		if err != nil || len(mine) != 1 || mine[0].ID != o.ID {
			t.Errorf("the seller's sold orders: %v, %v", mine, err)
		}
		for _, tc := range []struct {
			name  string
			actor bursar.Actor
			f     bursar.OrderFilter
			want  int
		}{
			{"a buyer's orders with one seller", b.buyer, bursar.OrderFilter{Buyer: "buyer", Seller: "seller"}, 1},
			{"a seller's orders with one buyer", b.seller, bursar.OrderFilter{Buyer: "buyer", Seller: "seller"}, 1},
			{"another pair's orders", other, bursar.OrderFilter{Buyer: "buyer", Seller: "seller"}, 0},
			{"a counterparty alone", other, bursar.OrderFilter{Party: "buyer"}, 0},
			{"no filter: one's own", b.buyer, bursar.OrderFilter{}, 1},
			{"no filter: nothing of others'", other, bursar.OrderFilter{}, 0},
		} {
			got, _, err := b.orders.List(ctx, tc.actor, tc.f)
			if err != nil || len(got) != tc.want {
				t.Errorf("%s: %d orders, %v; want %d", tc.name, len(got), err, tc.want)
			}
		}
	})
}
