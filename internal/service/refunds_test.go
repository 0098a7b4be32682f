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

func amount(a bursar.Amount) *bursar.Amount { return &a }

// TestRefunds walks the refund decisions: money goes back where it came
// from, earnings first; partial refunds resume the hold on the rest; a
// full refund takes access back; nothing is ever refunded twice.
func TestRefunds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		rf := b.refunds()
		ent := service.NewEntitlements(b.deps)
		b.fund(t, "buyer", bursar.AccountUserCash, 5000)
		b.fund(t, "buyer", bursar.AccountUserEarnings, 5000)
		o := b.paid(t, b.course) // 88.88: 50.00 from cash, 38.88 from earnings
		if o.PaidFromCash != 5000 || o.PaidFromEarnings != 3888 {
			t.Fatalf("paid %d cash, %d earnings", o.PaidFromCash, o.PaidFromEarnings)
		}

		// A partial refund, approved by the seller: earnings first.
		r1, err := rf.Request(ctx, b.buyer, o.ID, amount(3000), "half the course was missing")
		must(t, err)
		if _, err := rf.Request(ctx, b.buyer, o.ID, amount(100), "again"); bursar.ErrorCode(err) != bursar.Conflict {
			t.Errorf("a second open request: %v, want conflict", err)
		}
		b.clock.Advance(3 * time.Hour) // past the 2 h hold: the release must wait for the decision
		if n := b.runJobs(t); n != 1 {
			t.Errorf("%d jobs ran during the request, want the release job to run and stand down", n)
		}
		if got := b.balance(t, bursar.EscrowAccount(o.ID)); got != 8888 {
			t.Fatalf("escrow = %d during the request, want 8888", got)
		}
		if _, err := rf.Approve(ctx, b.buyer, r1.ID, ""); bursar.ErrorCode(err) != bursar.Forbidden {
			t.Errorf("the buyer approving: %v, want forbidden", err)
		}
		r1, err = rf.Approve(ctx, b.seller, r1.ID, "sorry")
		must(t, err)
		if r1.Status != bursar.RefundSucceeded || r1.ToEarnings != 3000 || r1.ToCash != 0 {
			t.Errorf("approved refund = %+v; want 30.00 to earnings", r1)
		}
		if _, err := rf.Approve(ctx, b.seller, r1.ID, ""); bursar.ErrorCode(err) != bursar.WrongState {
			t.Errorf("approving twice: %v, want wrong_state", err)
		}

		// A second partial request for more than is left is refused; one
		// for the rest is rejected, and the hold resumes at once.
		if _, err := rf.Request(ctx, b.buyer, o.ID, amount(5889), "everything"); bursar.ErrorCode(err) != bursar.Invalid {
			t.Errorf("asking for more than is held: %v, want invalid", err)
		}
		r2, err := rf.Request(ctx, b.buyer, o.ID, nil, "the rest too")
		must(t, err)
		if r2.Amount.Amount != 5888 {
			t.Errorf("a request without amount asks for %d, want the 5888 still held", r2.Amount.Amount)
		}
		if _, err := rf.Reject(ctx, b.seller, r2.ID, ""); bursar.ErrorCode(err) != bursar.Invalid {
			t.Errorf("a rejection without reason: %v, want invalid", err)
		}
		_, err = rf.Reject(ctx, b.seller, r2.ID, "the rest was delivered")
		must(t, err)
		if n := b.runJobs(t); n != 1 {
			t.Errorf("%d jobs after the rejection, want the resumed release", n)
		}
		got, err := b.orders.Get(ctx, b.buyer, o.ID)
		must(t, err)
		fee := bursar.Commission(5888, 1000)
		if got.Status != bursar.OrderCompleted || got.Refunded != 3000 || got.Fee != fee {
			t.Errorf("after release: %s, refunded %d, fee %d; want completed, 3000, %d", got.Status, got.Refunded, got.Fee, fee)
		}
		if e := b.wallet(t, "seller").Earnings.Amount; e != 5888-fee {
			t.Errorf("seller earnings = %d, want %d", e, 5888-fee)
		}
		w := b.wallet(t, "buyer")
		if w.Cash.Amount != 0 || w.Earnings.Amount != 5000-3888+3000 {
			t.Errorf("buyer wallet = %+v", w)
		}
		e, err := ent.Check(ctx, b.buyer, "buyer", b.course.ID)
		if err != nil || !e.HasAccess {
			t.Errorf("a partly refunded course still grants access: %+v, %v", e, err)
		}

		// A full refund of a session takes its access back and ends its hold.
		s := b.paid(t, b.session)
		if e, _ := ent.Check(ctx, b.buyer, "buyer", b.session.ID); !e.HasAccess || e.Order != s.ID {
			t.Errorf("a paid session: %+v, want access through %s", e, s.ID)
		}
		r3, err := rf.Request(ctx, b.platform, s.ID, nil, "the expert did not show up")
		must(t, err)
		r3, err = rf.Approve(ctx, b.platform, r3.ID, "")
		must(t, err)
		if r3.ToEarnings+r3.ToCash != 1990 {
			t.Errorf("full refund split %d + %d, want 1990", r3.ToEarnings, r3.ToCash)
		}
		if e, _ := ent.Check(ctx, b.buyer, "buyer", b.session.ID); e.HasAccess {
			t.Errorf("a refunded session still grants access: %+v", e)
		}
		if got := b.balance(t, bursar.EscrowAccount(s.ID)); got != 0 {
			t.Errorf("escrow of the refunded order = %d", got)
		}
		b.clock.Advance(48 * time.Hour)
		b.runJobs(t)
		if so, _ := b.orders.Get(ctx, b.buyer, s.ID); so.Status != bursar.OrderRefunded {
			t.Errorf("the refunded order became %s", so.Status)
		}
		if _, err := rf.Request(ctx, b.buyer, s.ID, nil, "again"); bursar.ErrorCode(err) != bursar.WrongState {
			t.Errorf("refunding a refunded order: %v, want wrong_state", err)
		}
		list, err := rf.List(ctx, b.seller, o.ID)
		if err != nil || len(list) != 2 {
			t.Errorf("the order's refunds: %d, %v; want 2", len(list), err)
		}
	})
}

func TestReviewsAndEntitlements(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		rv := service.NewReviews(b.deps)
		ent := service.NewEntitlements(b.deps)
		b.fund(t, "buyer", bursar.AccountUserCash, 20_000)
		o := b.paid(t, b.session)
		if _, err := rv.Create(ctx, b.buyer, o.ID, 5, "great"); bursar.ErrorCode(err) != bursar.WrongState {
			t.Errorf("reviewing before completion: %v, want wrong_state", err)
		}
		if e, _ := ent.Check(ctx, b.buyer, "buyer", b.session.ID); !e.HasAccess {
			t.Errorf("no access during the paid session: %+v", e)
		}
		b.clock.Advance(time.Hour)
		_, err := b.orders.Confirm(ctx, b.buyer, o.ID)
		must(t, err)
		if e, _ := ent.Check(ctx, b.buyer, "buyer", b.session.ID); e.HasAccess {
			t.Errorf("confirming did not end the chat window: %+v", e)
		}
		for _, tt := range []struct {
			actor bursar.Actor
			score int
			code  bursar.Code
		}{
			{b.seller, 5, bursar.Forbidden},
			{b.buyer, 0, bursar.Invalid},
			{b.buyer, 6, bursar.Invalid},
			{b.buyer, 4, ""},
			{b.buyer, 5, bursar.Conflict},
		} {
			if _, err := rv.Create(ctx, tt.actor, o.ID, tt.score, "ok"); bursar.ErrorCode(err) != tt.code {
				t.Errorf("review by %s scoring %d: %v, want %q", tt.actor.User, tt.score, err, tt.code)
			}
		}
		c := b.paid(t, b.course)
		_, err = b.orders.Confirm(ctx, b.buyer, c.ID)
		must(t, err)
		_, err = rv.Create(ctx, b.buyer, c.ID, 1, "too basic")
		must(t, err)
		sum, err := rv.Summary(ctx, "seller")
		must(t, err)
		if sum.Count != 2 || sum.Sum != 5 || sum.ByScore != [5]int{1, 0, 0, 1, 0} {
			t.Errorf("summary = %+v", sum)
		}
		list, more, err := rv.List(ctx, "seller", "", 1)
		if err != nil || len(list) != 1 || !more {
			t.Errorf("first page of reviews: %v, more %v, %v", list, more, err)
		}
		if e, _ := ent.Check(ctx, b.buyer, "buyer", b.course.ID); !e.HasAccess || !e.AccessUntil.IsZero() {
			t.Errorf("a completed course: %+v, want access for ever", e)
		}
		if _, err := ent.Check(ctx, b.seller, "buyer", b.course.ID); bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("another user's entitlements: %v, want not_found", err)
		}
	})
}
