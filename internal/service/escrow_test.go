package service_test

import (
	"context"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

func TestEscrowReleaseJob(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		b.fund(t, "buyer", bursar.AccountUserCash, 10_000)
		o := b.buy(t, b.course)
		_, err := b.orders.PayWithWallet(ctx, b.buyer, o.ID, pin)
		must(t, err)

		b.clock.Advance(2*time.Hour - time.Second)
		if n := b.runJobs(t); n != 0 {
			t.Errorf("%d jobs ran before the hold ended", n)
		}
		b.clock.Advance(time.Second)
		if n := b.runJobs(t); n != 1 {
			t.Errorf("%d jobs ran when the hold ended, want 1", n)
		}
		got, err := b.orders.Get(ctx, b.seller, o.ID)
		must(t, err)
		fee := bursar.Commission(8888, 1000)
		if got.Status != bursar.OrderCompleted || got.Fee != fee {
			t.Errorf("after release: status %s, fee %d; want completed, %d", got.Status, got.Fee, fee)
		}
		if e := b.wallet(t, "seller").Earnings.Amount; e != 8888-fee {
			t.Errorf("seller earnings = %d, want %d", e, 8888-fee)
		}
		if f := b.balance(t, bursar.PlatformFees); f != fee {
			t.Errorf("platform fees = %d, want %d", f, fee)
		}
		if esc := b.balance(t, bursar.EscrowAccount(o.ID)); esc != 0 {
			t.Errorf("escrow = %d after release, want 0", esc)
		}
		b.clock.Advance(48 * time.Hour)
		if n := b.runJobs(t); n != 0 {
			t.Errorf("%d jobs ran after everything was done", n)
		}
	})
}

func TestConfirmReleasesAtOnceAndEndsTheWindow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		b.fund(t, "buyer", bursar.AccountUserCash, 10_000)
		o := b.buy(t, b.session)
		_, err := b.orders.PayWithWallet(ctx, b.buyer, o.ID, pin)
		must(t, err)
		b.clock.Advance(time.Hour)
		if _, err := b.orders.Confirm(ctx, b.seller, o.ID); bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("the seller confirming: %v, want not_found", err)
		}
		done, err := b.orders.Confirm(ctx, b.buyer, o.ID)
		must(t, err)
		if done.Status != bursar.OrderCompleted || !done.AccessUntil.Equal(b.clock.Now()) {
			t.Errorf("confirmed: status %s, access until %v; want completed, %v", done.Status, done.AccessUntil, b.clock.Now())
		}
		if _, err := b.orders.Confirm(ctx, b.buyer, o.ID); bursar.ErrorCode(err) != bursar.WrongState {
			t.Errorf("confirming twice: %v, want wrong_state", err)
		}
		b.clock.Advance(24 * time.Hour)
		if n := b.runJobs(t); n != 0 {
			t.Errorf("%d jobs ran after the confirmation released the money", n)
		}
		fee := bursar.Commission(1990, 1000)
		if e := b.wallet(t, "seller").Earnings.Amount; e != 1990-fee {
			t.Errorf("seller earnings = %d, want %d", e, 1990-fee)
		}
	})
}

func TestUnpaidOrdersClose(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		o := b.buy(t, b.session)
		b.clock.Advance(29 * time.Minute)
		b.runJobs(t)
		if got, _ := b.orders.Get(ctx, b.buyer, o.ID); got.Status != bursar.OrderPending {
			t.Errorf("before expiry: %s, want pending", got.Status)
		}
		b.clock.Advance(time.Minute)
		if n := b.runJobs(t); n != 1 {
			t.Errorf("%d jobs ran at expiry, want 1", n)
		}
		if got, _ := b.orders.Get(ctx, b.buyer, o.ID); got.Status != bursar.OrderClosed {
			t.Errorf("after expiry: %s, want closed", got.Status)
		}
	})
}
