package service_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

func TestPayWithWallet(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		b.fund(t, "buyer", bursar.AccountUserCash, 1000)
		b.fund(t, "buyer", bursar.AccountUserEarnings, 5000)
		o := b.buy(t, b.session)
		if o.Status != bursar.OrderPending || o.Amount.Amount != 1990 || o.Seller != "seller" {
			t.Fatalf("new order = %+v", o)
		}
		paid, err := b.orders.PayWithWallet(ctx, b.buyer, o.ID, pin)
		must(t, err)
		if paid.Status != bursar.OrderPaid || paid.PaidFromCash != 1000 || paid.PaidFromEarnings != 990 {
			t.Errorf("paid order = status %s, cash %d, earnings %d; want paid, 1000, 990", paid.Status, paid.PaidFromCash, paid.PaidFromEarnings)
		}
		if want := paid.PaidAt.Add(24 * time.Hour); !paid.ReleaseAt.Equal(want) || !paid.AccessUntil.Equal(want) {
			t.Errorf("release at %v, access until %v; want both %v", paid.ReleaseAt, paid.AccessUntil, want)
		}
		w := b.wallet(t, "buyer")
		if w.Cash.Amount != 0 || w.Earnings.Amount != 4010 {
			t.Errorf("wallet = %d cash, %d earnings; want 0, 4010", w.Cash.Amount, w.Earnings.Amount)
		}
		if got := b.balance(t, bursar.EscrowAccount(o.ID)); got != 1990 {
			t.Errorf("escrow = %d, want 1990", got)
		}
		_, err = b.orders.PayWithWallet(ctx, b.buyer, o.ID, pin)
		if code := bursar.ErrorCode(err); code != bursar.Conflict {
			t.Errorf("paying twice: code %q (%v), want conflict", code, err)
		}
		if got := b.balance(t, bursar.EscrowAccount(o.ID)); got != 1990 {
			t.Errorf("escrow after paying twice = %d, want 1990", got)
		}
	})
}

// TestPayWithWalletRefusals checks that every refusal is its own clear error
// and moves no money.
func TestPayWithWalletRefusals(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, b *bundle, o bursar.Order)
		actor   func(b *bundle) bursar.Actor
		pin     string
		code    bursar.Code
	}{
		{"a wrong payment password", nil, nil, "000000", bursar.Forbidden},
		{"a locked payment password, even when right", func(t *testing.T, b *bundle, o bursar.Order) {
			for range bursar.MaxWrongTries {
				_, _ = b.orders.PayWithWallet(context.Background(), b.buyer, o.ID, "000000")
			}
		}, nil, pin, bursar.Locked},
		{"too little money", func(t *testing.T, b *bundle, o bursar.Order) {
			b.fund(t, "buyer", bursar.AccountUserCash, -9000)
		}, nil, pin, bursar.InsufficientFunds},
		{"an expired order", func(t *testing.T, b *bundle, o bursar.Order) {
			b.clock.Advance(31 * time.Minute)
		}, nil, pin, bursar.WrongState},
		{"a closed order", func(t *testing.T, b *bundle, o bursar.Order) {
			b.clock.Advance(31 * time.Minute)
			b.runJobs(t)
		}, nil, pin, bursar.WrongState},
		{"another user's order", nil, func(b *bundle) bursar.Actor {
			return bursar.Actor{Credential: "tok_o", Kind: bursar.CredentialUser, User: "other"}
		}, pin, bursar.NotFound},
		{"the seller paying the buyer's order", nil, func(b *bundle) bursar.Actor { return b.seller }, pin, bursar.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db store.DB) {
				b := setup(t, db)
				b.fund(t, "buyer", bursar.AccountUserCash, 10_000)
				o := b.buy(t, b.course)
				if tt.prepare != nil {
					tt.prepare(t, b, o)
				}
				actor := b.buyer
				if tt.actor != nil {
					actor = tt.actor(b)
				}
				before := b.wallet(t, "buyer")
				_, err := b.orders.PayWithWallet(context.Background(), actor, o.ID, tt.pin)
				if code := bursar.ErrorCode(err); code != tt.code {
					t.Fatalf("PayWithWallet: code %q (%v), want %q", code, err, tt.code)
				}
				if bursar.ErrorMessage(err) == "" {
					t.Error("the error has no message")
				}
				if after := b.wallet(t, "buyer"); after != before {
					t.Errorf("a refused payment moved money: %+v → %+v", before, after)
				}
				if got := b.balance(t, bursar.EscrowAccount(o.ID)); got != 0 {
					t.Errorf("escrow = %d after a refused payment", got)
				}
			})
		})
	}
}

// TestPaymentPasswordLockoutInParallel sends many wrong tries at once: exactly
// MaxWrongTries are counted before the lock, and every later one is told
// the password is locked, with until when.
func TestPaymentPasswordLockoutInParallel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		b := setup(t, db)
		b.fund(t, "buyer", bursar.AccountUserCash, 10_000)
		o := b.buy(t, b.course)
		const tries = 12
		codes := make(chan bursar.Code, tries)
		var wg sync.WaitGroup
		for range tries {
			wg.Go(func() {
				_, err := b.orders.PayWithWallet(context.Background(), b.buyer, o.ID, "999999")
				codes <- bursar.ErrorCode(err)
			})
		}
		wg.Wait()
		close(codes)
		count := map[bursar.Code]int{}
		for c := range codes {
			count[c]++
		}
		if count[bursar.Forbidden] != bursar.MaxWrongTries-1 || count[bursar.Locked] != tries-bursar.MaxWrongTries+1 {
			t.Errorf("answers = %v; want %d forbidden and %d locked", count, bursar.MaxWrongTries-1, tries-bursar.MaxWrongTries+1)
		}
		_, err := b.orders.PayWithWallet(context.Background(), b.buyer, o.ID, pin)
		if bursar.ErrorCode(err) != bursar.Locked {
			t.Errorf("the right password during the lock: %v, want locked", err)
		}
		b.clock.Advance(bursar.LockoutPeriod)
		if _, err := b.orders.PayWithWallet(context.Background(), b.buyer, o.ID, pin); err != nil {
			t.Errorf("after the lock ends the right password pays: %v", err)
		}
	})
}
