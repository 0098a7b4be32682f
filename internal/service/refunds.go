package service

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/store"
)

// Refunds handles a buyer's requests for money back and their decisions.
type Refunds struct{ deps Deps }

// NewRefunds returns the refund use cases.
func NewRefunds(d Deps) *Refunds { return &Refunds{deps: d} }

// Request asks for amount back from a paid purchase, or for everything still
// in escrow when amount is nil. The escrow release pauses until the seller
// or the platform decides. Outcomes: bursar.Conflict when a request is
// already waiting; bursar.WrongState when the order is not paid (pending,
// or already released to the seller); bursar.Invalid when amount is more
// than is still held.
func (s *Refunds) Request(ctx context.Context, actor bursar.Actor, id bursar.OrderID, amount *bursar.Amount, reason string) (bursar.Refund, error) {
	if err := bursar.ValidateReason("reason", reason); err != nil {
		return bursar.Refund{}, err
	}
	var r bursar.Refund
	err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		o, err := visibleOrder(ctx, tx, actor, id, true)
		if err != nil {
			return err
		}
		if !actor.MaySee(o.Buyer) {
			return bursar.Errorf(bursar.Forbidden, "Only the buyer asks for a refund.")
		}
		switch o.Status {
		case bursar.OrderPaid:
		case bursar.OrderRefundRequested:
			return bursar.Errorf(bursar.Conflict, "The order %s already has a refund request waiting for a decision.", o.ID)
		case bursar.OrderCompleted:
			return bursar.Errorf(bursar.WrongState, "The order %s was already released to the seller, so it can no longer be refunded here.", o.ID)
		default:
			return bursar.OrderWrongState(o, "refunded")
		}
		held := o.Escrowed()
		want := held
		if amount != nil {
			want = *amount
		}
		if want <= 0 || want > held {
			return bursar.InvalidParam("amount", "A refund is between 0.01 and the %s yuan still held for this order.", held.Yuan())
		}
		now := s.deps.now()
		r = bursar.Refund{ID: bursar.RefundID(newID("rfd_")), Order: o.ID, Amount: money(want, o), Reason: reason,
			Status: bursar.RefundRequested, RequestedBy: actorName(actor), CreatedAt: now}
		if err := tx.RefundInsert(ctx, r); err != nil {
			return err
		}
		o.Status, o.UpdatedAt = bursar.OrderRefundRequested, now
		if err := saveOrder(ctx, tx, o, bursar.OrderPaid); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "refund.request", string(o.ID), fmt.Sprintf("%s yuan: %s", want.Yuan(), reason), now)
	})
	return r, err
}

// Approve returns a requested refund's money where it came from: for a
// wallet payment, to earnings first (as much as the payment took from
// there), then cash, at once; for a channel payment, through the channel,
// which may take a while: the refund is processing until the channel
// confirms, and goes back to requested with the channel's reason if it
// refuses. A refund of everything left ends the purchase and its access; a
// partial one resumes the hold on the rest. Only the seller or the platform
// decides.
func (s *Refunds) Approve(ctx context.Context, actor bursar.Actor, id bursar.RefundID, note string) (bursar.Refund, error) {
	if len(note) > 500 {
		return bursar.Refund{}, bursar.InvalidParam("note", "A note is at most 500 bytes.")
	}
	return s.decide(ctx, actor, id, func(tx store.Tx, r *bursar.Refund, o *bursar.Order, now time.Time) error {
		r.DecisionNote = note
		if o.Channel == bursar.ChannelWallet {
			return completeRefund(ctx, tx, r, o, now)
		}
		if _, err := s.deps.channel(o.Channel); err != nil {
			return err
		}
		r.Status, r.ChannelRefundNo = bursar.RefundProcessing, nextRefundNo(*r)
		return tx.JobSchedule(ctx, bursar.JobRefundSubmit, string(r.ID), now)
	})
}

// nextRefundNo numbers a refund's attempts at the channel: the refund's ID,
// then ID-2, ID-3 after refusals, since a channel remembers a refused
// number.
func nextRefundNo(r bursar.Refund) string {
	if r.ChannelRefundNo == "" {
		return string(r.ID)
	}
	n := 1
	if _, suffix, ok := strings.Cut(r.ChannelRefundNo, "-"); ok {
		n, _ = strconv.Atoi(suffix)
	}
	return fmt.Sprintf("%s-%d", r.ID, n+1)
}

// refundIDOf reads our refund's ID back from a channel refund number.
func refundIDOf(refundNo string) bursar.RefundID {
	id, _, _ := strings.Cut(refundNo, "-")
	return bursar.RefundID(id)
}

// completeRefund moves a refund's money out of escrow, back to the wallet
// (earnings first) or to the channel that paid, and updates the order: a
// refund of everything left ends it and its access, a partial one resumes
// the hold on the rest.
func completeRefund(ctx context.Context, tx store.Tx, r *bursar.Refund, o *bursar.Order, now time.Time) error {
	escrow := bursar.EscrowAccount(o.ID)
	var postings []bursar.Posting
	if o.Channel == bursar.ChannelWallet {
		r.ToEarnings, r.ToCash = bursar.RefundSplit(*o, r.Amount.Amount)
		if r.ToEarnings > 0 {
			postings = append(postings, bursar.Transfer(escrow, bursar.UserEarningsAccount(o.Buyer), money(r.ToEarnings, *o))...)
		}
		if r.ToCash > 0 {
			postings = append(postings, bursar.Transfer(escrow, bursar.UserCashAccount(o.Buyer), money(r.ToCash, *o))...)
		}
	} else {
		postings = bursar.Transfer(escrow, bursar.ChannelAccount(o.Channel), r.Amount)
	}
	if err := post(ctx, tx, "refund:"+string(r.ID), "refund", o.ID, now, postings); err != nil {
		return err
	}
	r.Status = bursar.RefundSucceeded
	o.Refunded += r.Amount.Amount
	if o.Refunded == o.Amount.Amount {
		o.Status = bursar.OrderRefunded
		o.AccessUntil = now // a full refund takes the purchase back
		return tx.JobCancel(ctx, bursar.JobRelease, string(o.ID))
	}
	return resumeHold(ctx, tx, o, now)
}

// Reject refuses a requested refund with a reason; the hold resumes and the
// escrow is released at the original time, or at once if that has passed.
func (s *Refunds) Reject(ctx context.Context, actor bursar.Actor, id bursar.RefundID, reason string) (bursar.Refund, error) {
	if err := bursar.ValidateReason("reason", reason); err != nil {
		return bursar.Refund{}, err
	}
	return s.decide(ctx, actor, id, func(tx store.Tx, r *bursar.Refund, o *bursar.Order, now time.Time) error {
		r.Status, r.DecisionNote = bursar.RefundRejected, reason
		return resumeHold(ctx, tx, o, now)
	})
}

func resumeHold(ctx context.Context, tx store.Tx, o *bursar.Order, now time.Time) error {
	o.Status = bursar.OrderPaid
	return tx.JobSchedule(ctx, bursar.JobRelease, string(o.ID), maxTime(o.ReleaseAt, now))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// decide loads a requested refund and its order under lock, lets apply
// decide, and stores both with an audit record.
func (s *Refunds) decide(ctx context.Context, actor bursar.Actor, id bursar.RefundID,
	apply func(tx store.Tx, r *bursar.Refund, o *bursar.Order, now time.Time) error) (bursar.Refund, error) {
	var r bursar.Refund
	err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		var err error
		r, err = tx.RefundGetForUpdate(ctx, id)
		if bursar.ErrorCode(err) == bursar.NotFound {
			return notFound("refund", id)
		}
		if err != nil {
			return err
		}
		o, err := visibleOrder(ctx, tx, actor, r.Order, true)
		if bursar.ErrorCode(err) == bursar.NotFound {
			return notFound("refund", id)
		}
		if err != nil {
			return err
		}
		if !actor.MaySee(o.Seller) {
			return bursar.Errorf(bursar.Forbidden, "Only the seller or the platform decides a refund.")
		}
		if r.Status != bursar.RefundRequested || o.Status != bursar.OrderRefundRequested {
			return bursar.Errorf(bursar.WrongState, "The refund %s was already %s.", r.ID, r.Status)
		}
		now := s.deps.now()
		if err := apply(tx, &r, &o, now); err != nil {
			return err
		}
		r.DecidedBy, r.DecidedAt = actorName(actor), now
		o.UpdatedAt = now
		if err := saveRefund(ctx, tx, r, bursar.RefundRequested, now); err != nil {
			return err
		}
		if err := saveOrder(ctx, tx, o, bursar.OrderRefundRequested); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "refund."+string(r.Status), string(r.ID),
			fmt.Sprintf("order %s, %s yuan: %s", o.ID, r.Amount.Amount.Yuan(), r.DecisionNote), now)
	})
	return r, err
}

// Get returns a refund the actor may see: the order's buyer's or seller's.
func (s *Refunds) Get(ctx context.Context, actor bursar.Actor, id bursar.RefundID) (bursar.Refund, error) {
	var r bursar.Refund
	err := s.deps.read(ctx, func(tx store.Tx) error {
		var err error
		if r, err = tx.RefundGet(ctx, id); err != nil {
			return err
		}
		_, err = visibleOrder(ctx, tx, actor, r.Order, false)
		return err
	})
	if bursar.ErrorCode(err) == bursar.NotFound {
		return bursar.Refund{}, notFound("refund", id)
	}
	return r, err
}

// List returns an order's refunds, oldest first.
func (s *Refunds) List(ctx context.Context, actor bursar.Actor, id bursar.OrderID) ([]bursar.Refund, error) {
	var rs []bursar.Refund
	err := s.deps.read(ctx, func(tx store.Tx) error {
		if _, err := visibleOrder(ctx, tx, actor, id, false); err != nil {
			return err
		}
		var err error
		rs, err = tx.RefundList(ctx, id)
		return err
	})
	return rs, err
}

// settleRefund applies the channel's word on a refund (from a notification
// or the refund job's call): success completes it, a refusal sends it back
// to requested with the channel's reason, for the seller or the platform
// to decide again. Refund numbers of duplicate payments' returns are handed
// to settleReturn.
func settleRefund(ctx context.Context, tx store.Tx, name bursar.Channel, cr channel.Refund, now time.Time) (settled, error) {
	if orderNo, ok := strings.CutPrefix(cr.RefundNo, returnPrefix); ok {
		return settleReturn(ctx, tx, name, orderNo, cr, now)
	}
	res := settled{orderNo: cr.OrderNo}
	r, err := tx.RefundGetForUpdate(ctx, refundIDOf(cr.RefundNo))
	if bursar.ErrorCode(err) == bursar.NotFound {
		res.outcome, res.detail = bursar.NoticeRejected, fmt.Sprintf("there is no refund %q", cr.RefundNo)
		return res, nil
	}
	if err != nil {
		return res, err
	}
	o, err := tx.OrderGetForUpdate(ctx, r.Order)
	if err != nil {
		return res, err
	}
	res.orderNo = o.No
	switch {
	case o.Channel != name || (cr.OrderNo != "" && cr.OrderNo != o.No):
		res.outcome, res.detail = bursar.NoticeRejected, fmt.Sprintf("the refund %s is of order %s, paid by %s", r.ID, o.No, o.Channel)
		return res, nil
	case cr.Amount.Amount != 0 && cr.Amount != r.Amount:
		res.outcome, res.detail = bursar.NoticeRejected, fmt.Sprintf("the channel's refund of %s yuan is not the %s yuan asked for",
			cr.Amount.Amount.Yuan(), r.Amount.Amount.Yuan())
		return res, nil
	case cr.Status == channel.RefundSucceeded && r.ChannelRefundNo != cr.RefundNo:
		// Money went back under a number Bursar thought refused: it must
		// not be refunded again under the new one. People check both.
		res.outcome, res.detail = bursar.NoticeIgnored, fmt.Sprintf("the channel refunded %s, which was taken for refused: see the audit log", cr.RefundNo)
		return res, audit(ctx, tx, bursar.Actor{}, "refund.superseded_success", string(r.ID),
			fmt.Sprintf("%s refunded %s for order %s after it was taken for refused; the refund is now %s under %s: check both at the channel",
				name, cr.RefundNo, o.ID, r.Status, r.ChannelRefundNo), now)
	case r.ChannelRefundNo != cr.RefundNo || r.Status != bursar.RefundProcessing:
		res.outcome, res.detail = bursar.NoticeDuplicate, fmt.Sprintf("the refund %s is %s", r.ID, r.Status)
		return res, nil
	}
	switch cr.Status {
	case channel.RefundSucceeded:
		r.ChannelRef = cmp.Or(cr.ChannelRef, r.ChannelRef)
		if err := completeRefund(ctx, tx, &r, &o, now); err != nil {
			return res, err
		}
	case channel.RefundFailed:
		r.Status = bursar.RefundRequested
		r.DecisionNote = fmt.Sprintf("%s refused the refund %s; decide again.", name, cr.RefundNo)
	default:
		res.outcome, res.detail = bursar.NoticeIgnored, "the refund is still processing"
		return res, nil
	}
	o.UpdatedAt = now
	if err := saveRefund(ctx, tx, r, bursar.RefundProcessing, now); err != nil {
		return res, err
	}
	if err := saveOrder(ctx, tx, o, bursar.OrderRefundRequested); err != nil {
		return res, err
	}
	if err := tx.JobCancel(ctx, bursar.JobRefundSubmit, string(r.ID)); err != nil {
		return res, err
	}
	res.outcome, res.detail = bursar.NoticeApplied, "refund "+string(r.Status)
	return res, audit(ctx, tx, bursar.Actor{}, "refund.channel_"+string(cr.Status), string(r.ID),
		fmt.Sprintf("order %s, %s yuan, %s refund %s", o.ID, r.Amount.Amount.Yuan(), name, cr.RefundNo), now)
}

// returnPrefix starts the refund number of a duplicate payment's return.
const returnPrefix = "dup-"

// settleReturn applies the channel's word on the return of a duplicate
// payment: once the channel has refunded it, its money leaves the
// duplicate's escrow.
func settleReturn(ctx context.Context, tx store.Tx, name bursar.Channel, orderNo string, cr channel.Refund, now time.Time) (settled, error) {
	res := settled{orderNo: orderNo}
	o, err := tx.OrderGetByNo(ctx, orderNo)
	if bursar.ErrorCode(err) == bursar.NotFound {
		res.outcome, res.detail = bursar.NoticeRejected, fmt.Sprintf("no order has the number %q", orderNo)
		return res, nil
	}
	if err != nil {
		return res, err
	}
	p, err := tx.PaymentGet(ctx, o.ID, name)
	if bursar.ErrorCode(err) == bursar.NotFound || (err == nil && p.Status != bursar.PaymentDuplicate) {
		res.outcome, res.detail = bursar.NoticeDuplicate, "no duplicate payment is waiting to be returned"
		return res, nil
	}
	if err != nil {
		return res, err
	}
	switch cr.Status {
	case channel.RefundSucceeded:
	case channel.RefundFailed:
		// Final: people take it from here, and the job stops asking.
		res.outcome, res.detail = bursar.NoticeApplied, "the channel refused to return the duplicate payment"
		p.Status, p.UpdatedAt = bursar.PaymentReturnFailed, now
		if err := tx.PaymentPut(ctx, p); err != nil {
			return res, err
		}
		if err := tx.JobCancel(ctx, bursar.JobReturnPayment, returnRef(o.ID, name)); err != nil {
			return res, err
		}
		return res, audit(ctx, tx, bursar.Actor{}, "payment.return_failed", string(o.ID),
			fmt.Sprintf("%s refused to return the duplicate payment %s; return it by hand", name, p.TradeNo), now)
	default:
		res.outcome, res.detail = bursar.NoticeIgnored, "the return is still processing"
		return res, nil
	}
	if err := post(ctx, tx, "return:"+string(o.ID)+":"+string(name), "duplicate_return", o.ID, now,
		bursar.Transfer(bursar.DuplicateEscrowAccount(o.ID, name), bursar.ChannelAccount(name), p.Amount)); err != nil {
		return res, err
	}
	p.Status, p.UpdatedAt = bursar.PaymentReturned, now
	if err := tx.PaymentPut(ctx, p); err != nil {
		return res, err
	}
	if err := tx.JobCancel(ctx, bursar.JobReturnPayment, returnRef(o.ID, name)); err != nil {
		return res, err
	}
	res.outcome, res.detail = bursar.NoticeApplied, "duplicate payment returned"
	return res, audit(ctx, tx, bursar.Actor{}, "payment.returned", string(o.ID),
		fmt.Sprintf("%s payment %s returned to the payer", name, p.TradeNo), now)
}
