package service

import (
	"cmp"
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/store"
)

// jobLease is how long a job that calls a channel is hidden from other
// runners: longer than any channel call's timeout.
const jobLease = 2 * time.Minute

func isRemote(k bursar.JobKind) bool {
	switch k {
	case bursar.JobPaymentCheck, bursar.JobChannelClose, bursar.JobRefundSubmit, bursar.JobReturnPayment, bursar.JobTransfer, bursar.JobRecon:
		return true
	}
	return false
}

// busyDelay is how long a channel job waits when every worker is busy.
const busyDelay = 5 * time.Second

// runRemoteSafely is runRemote that turns a panic (in an adapter or an SDK)
// into the job's error, so it is retried and recorded instead of taking the
// process down.
func (j *Jobs) runRemoteSafely(ctx context.Context, job bursar.Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			j.deps.log().ErrorContext(ctx, "channel job panicked", "kind", job.Kind, "ref", job.Ref, "panic", v,
				"stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return j.runRemote(ctx, job)
}

// runRemote runs a leased job that calls a channel: the call happens
// outside any transaction, and its result is applied in one, by the same
// settle functions the channel's notifications use, so whichever comes
// first wins and the other changes nothing. Then the job is finished, or
// moved to when it should look again.
func (j *Jobs) runRemote(ctx context.Context, job bursar.Job) error {
	var next time.Time
	var err error
	switch job.Kind {
	case bursar.JobPaymentCheck:
		next, err = j.checkPayments(ctx, bursar.OrderID(job.Ref))
	case bursar.JobChannelClose:
		err = j.closePayments(ctx, bursar.OrderID(job.Ref))
	case bursar.JobRefundSubmit:
		next, err = j.submitRefund(ctx, bursar.RefundID(job.Ref))
	case bursar.JobReturnPayment:
		id, name, _ := strings.Cut(job.Ref, "/")
		next, err = j.returnPayment(ctx, bursar.OrderID(id), bursar.Channel(name))
	case bursar.JobTransfer:
		next, err = j.transfer(ctx, bursar.OrderID(job.Ref))
	case bursar.JobRecon:
		next, err = j.reconcile(ctx, bursar.Channel(job.Ref))
	}
	if err != nil {
		return err
	}
	return j.deps.DB.InTx(ctx, func(tx store.Tx) error {
		if next.IsZero() {
			// Someone may have given the job new work since it looked (a
			// refund refused by the channel and approved again): finish it
			// only if its object no longer waits for the channel.
			waiting, err := j.waitsForChannel(ctx, tx, job)
			if err != nil || !waiting {
				return cmp.Or(err, tx.JobCancel(ctx, job.Kind, job.Ref))
			}
			next = j.deps.now().Add(time.Minute) // not sooner: the channel may keep disagreeing
		}
		return tx.JobSchedule(ctx, job.Kind, job.Ref, next)
	})
}

// waitsForChannel reports whether a finished channel job's object still
// needs the channel: a refund or a payout processing, a duplicate payment
// not yet returned, an expired order with a payment still open.
func (j *Jobs) waitsForChannel(ctx context.Context, tx store.Tx, job bursar.Job) (bool, error) {
	var err error
	waiting := false
	switch job.Kind {
	case bursar.JobRefundSubmit:
		var r bursar.Refund
		r, err = tx.RefundGet(ctx, bursar.RefundID(job.Ref))
		waiting = err == nil && r.Status == bursar.RefundProcessing
	case bursar.JobTransfer:
		var o bursar.Order
		o, err = tx.OrderGet(ctx, bursar.OrderID(job.Ref))
		waiting = err == nil && o.Status == bursar.OrderProcessing
	case bursar.JobChannelClose:
		// An expired order whose payment started at a channel while the job
		// was closing the others: close that one too.
		var o bursar.Order
		if o, err = tx.OrderGet(ctx, bursar.OrderID(job.Ref)); err == nil && o.Status == bursar.OrderPending &&
			!j.deps.now().Before(o.ExpiresAt) {
			var pending []bursar.Payment
			pending, err = pendingPayments(ctx, tx, o.ID)
			waiting = len(pending) > 0
		}
	case bursar.JobReturnPayment:
		id, name, _ := strings.Cut(job.Ref, "/")
		var p bursar.Payment
		p, err = tx.PaymentGet(ctx, bursar.OrderID(id), bursar.Channel(name))
		waiting = err == nil && p.Status == bursar.PaymentDuplicate
	}
	if bursar.ErrorCode(err) == bursar.NotFound {
		return false, nil
	}
	return waiting, err
}

// again says when to look again at something the channel is still working
// on, which started at since: soon at first, then less often.
func again(now, since time.Time, least, most time.Duration) time.Time {
	return now.Add(min(max(now.Sub(since)/2, least), most))
}

func pendingPayments(ctx context.Context, tx store.Tx, id bursar.OrderID) ([]bursar.Payment, error) {
	ps, err := tx.PaymentList(ctx, id)
	if err != nil {
		return nil, err
	}
	var pending []bursar.Payment
	for _, p := range ps {
		if p.Status == bursar.PaymentPending {
			pending = append(pending, p)
		}
	}
	return pending, nil
}

// orderAndPending reads an order and its payments still pending.
func (j *Jobs) orderAndPending(ctx context.Context, id bursar.OrderID) (bursar.Order, []bursar.Payment, error) {
	var o bursar.Order
	var pending []bursar.Payment
	err := j.deps.read(ctx, func(tx store.Tx) error {
		var err error
		if o, err = tx.OrderGet(ctx, id); err != nil {
			return err
		}
		pending, err = pendingPayments(ctx, tx, id)
		return err
	})
	return o, pending, err
}

// settleTrade applies a trade the channel reported.
func (j *Jobs) settleTrade(ctx context.Context, name bursar.Channel, t channel.Trade) error {
	return j.deps.DB.InTx(ctx, func(tx store.Tx) error {
		res, err := j.orders.settlePayment(ctx, tx, name, t, j.deps.now())
		if err == nil && res.outcome == bursar.NoticeRejected {
			j.deps.log().WarnContext(ctx, "channel query disagrees with the order", "channel", name, "order_no", t.OrderNo, "why", res.detail)
		}
		return err
	})
}

// checkPayments is active repair: it queries the channels for an order's
// pending payments and settles what they say, so an order is paid even when
// its notification never arrives. It looks again while the order is pending.
func (j *Jobs) checkPayments(ctx context.Context, id bursar.OrderID) (time.Time, error) {
	o, pending, err := j.orderAndPending(ctx, id)
	if bursar.ErrorCode(err) == bursar.NotFound {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	for _, p := range pending {
		ch, err := j.deps.channel(p.Channel)
		if err != nil {
			return time.Time{}, err
		}
		t, err := ch.Query(ctx, o.No)
		if bursar.ErrorCode(err) == bursar.NotFound {
			continue // the buyer has not opened the payment yet
		}
		if err != nil {
			return time.Time{}, err
		}
		if err := j.settleTrade(ctx, p.Channel, t); err != nil {
			return time.Time{}, err
		}
	}
	now := j.deps.now()
	if o, _, err = j.orderAndPending(ctx, id); err != nil {
		return time.Time{}, err
	}
	if o.Status != bursar.OrderPending || !now.Before(o.ExpiresAt) {
		return time.Time{}, nil // paid, or the expiry closes it at the channels
	}
	return again(now, o.CreatedAt, 30*time.Second, 10*time.Minute), nil
}

// closePayments closes an order's pending payments at their channels: when
// the order expired, and when it was paid through another one. A payment
// the channel says is already paid is settled instead. An expired order is
// closed once none of its payments can still be paid.
func (j *Jobs) closePayments(ctx context.Context, id bursar.OrderID) error {
	o, pending, err := j.orderAndPending(ctx, id)
	if bursar.ErrorCode(err) == bursar.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	for _, p := range pending {
		ch, err := j.deps.channel(p.Channel)
		if err != nil {
			return err
		}
		err = ch.Close(ctx, o.No)
		if bursar.ErrorCode(err) == bursar.WrongState {
			t, err := ch.Query(ctx, o.No)
			if err != nil {
				return err
			}
			if err := j.settleTrade(ctx, p.Channel, t); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		err = j.deps.DB.InTx(ctx, func(tx store.Tx) error {
			now := j.deps.now()
			if _, err := tx.OrderGetForUpdate(ctx, id); err != nil {
				return err
			}
			p, err := tx.PaymentGet(ctx, id, p.Channel)
			if err != nil || p.Status != bursar.PaymentPending {
				return err
			}
			p.Status, p.UpdatedAt = bursar.PaymentClosed, now
			return tx.PaymentPut(ctx, p)
		})
		if err != nil {
			return err
		}
	}
	return j.deps.DB.InTx(ctx, func(tx store.Tx) error {
		now := j.deps.now()
		o, err := tx.OrderGetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if o.Status != bursar.OrderPending || now.Before(o.ExpiresAt) {
			return nil
		}
		if pending, err := pendingPayments(ctx, tx, id); err != nil || len(pending) > 0 {
			return err // a payment started meanwhile: the job looks again (waitsForChannel)
		}
		o.Status, o.UpdatedAt = bursar.OrderClosed, now
		return saveOrder(ctx, tx, o, bursar.OrderPending)
	})
}

// submitRefund sends an approved refund to the channel, or asks again how
// it is going; the channel never refunds one refund number twice.
func (j *Jobs) submitRefund(ctx context.Context, id bursar.RefundID) (time.Time, error) {
	var r bursar.Refund
	var o bursar.Order
	err := j.deps.read(ctx, func(tx store.Tx) error {
		var err error
		if r, err = tx.RefundGet(ctx, id); err != nil {
			return err
		}
		o, err = tx.OrderGet(ctx, r.Order)
		return err
	})
	if bursar.ErrorCode(err) == bursar.NotFound || (err == nil && r.Status != bursar.RefundProcessing) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	ch, err := j.deps.channel(o.Channel)
	if err != nil {
		return time.Time{}, err
	}
	cr, err := ch.Refund(ctx, channel.RefundRequest{OrderNo: o.No, RefundNo: r.ChannelRefundNo, Amount: r.Amount,
		Total: o.Amount, Reason: r.Reason})
	cr, err = refundOutcome(ctx, ch, o.No, r.ChannelRefundNo, cr, err)
	if err != nil {
		return time.Time{}, err
	}
	cr.RefundNo, cr.OrderNo = r.ChannelRefundNo, o.No
	if err := j.deps.DB.InTx(ctx, func(tx store.Tx) error {
		_, err := settleRefund(ctx, tx, o.Channel, cr, j.deps.now())
		return err
	}); err != nil {
		return time.Time{}, err
	}
	if cr.Status == channel.RefundProcessing {
		return again(j.deps.now(), r.DecidedAt, 10*time.Second, 30*time.Minute), nil
	}
	return time.Time{}, nil
}

// refundOutcome reads what a refund call did. A refusal counts as final
// only once the channel, asked for the refund by its number, does not show
// it succeeded: an adapter also refuses an answer it could not read, about a
// refund that may have gone through, and sending it again under a new number
// would pay the buyer twice. Other errors stay errors and the job retries.
func refundOutcome(ctx context.Context, ch channel.Channel, orderNo, refundNo string, cr channel.Refund, err error) (channel.Refund, error) {
	if bursar.ErrorCode(err) != bursar.ChannelFailed {
		return cr, err
	}
	q, qerr := ch.QueryRefund(ctx, orderNo, refundNo)
	switch {
	case qerr == nil && q.Status == channel.RefundSucceeded:
		return q, nil
	case qerr == nil, bursar.ErrorCode(qerr) == bursar.NotFound:
		return channel.Refund{Status: channel.RefundFailed}, nil
	}
	return channel.Refund{}, qerr
}

// returnPayment refunds a duplicate payment to its payer.
func (j *Jobs) returnPayment(ctx context.Context, id bursar.OrderID, name bursar.Channel) (time.Time, error) {
	var o bursar.Order
	var p bursar.Payment
	err := j.deps.read(ctx, func(tx store.Tx) error {
		var err error
		if o, err = tx.OrderGet(ctx, id); err != nil {
			return err
		}
		p, err = tx.PaymentGet(ctx, id, name)
		return err
	})
	if bursar.ErrorCode(err) == bursar.NotFound || (err == nil && p.Status != bursar.PaymentDuplicate) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	ch, err := j.deps.channel(name)
	if err != nil {
		return time.Time{}, err
	}
	cr, err := ch.Refund(ctx, channel.RefundRequest{OrderNo: o.No, RefundNo: returnPrefix + o.No, Amount: p.Amount,
		Total: p.Amount, Reason: "paid twice"})
	cr, err = refundOutcome(ctx, ch, o.No, returnPrefix+o.No, cr, err)
	if err != nil {
		return time.Time{}, err
	}
	cr.RefundNo, cr.OrderNo = returnPrefix+o.No, o.No
	if err := j.deps.DB.InTx(ctx, func(tx store.Tx) error {
		_, err := settleRefund(ctx, tx, name, cr, j.deps.now())
		return err
	}); err != nil {
		return time.Time{}, err
	}
	if cr.Status == channel.RefundProcessing {
		return again(j.deps.now(), p.UpdatedAt, 10*time.Second, 30*time.Minute), nil
	}
	return time.Time{}, nil
}

// transfer pays a withdrawal out, or asks again how it is going; the
// channel never pays one transfer number twice. A refusal fails the
// withdrawal and returns its money to earnings.
func (j *Jobs) transfer(ctx context.Context, id bursar.OrderID) (time.Time, error) {
	var o bursar.Order
	err := j.deps.read(ctx, func(tx store.Tx) error {
		var err error
		o, err = tx.OrderGet(ctx, id)
		return err
	})
	if bursar.ErrorCode(err) == bursar.NotFound || (err == nil && o.Status != bursar.OrderProcessing) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	ch, err := j.deps.channel(o.Channel)
	if err != nil {
		return time.Time{}, err
	}
	t, err := ch.Transfer(ctx, channel.TransferRequest{TransferNo: o.No, Amount: o.Amount, Account: o.PayoutAccount,
		Name: o.PayoutName, Title: o.Subject})
	if bursar.ErrorCode(err) == bursar.ChannelFailed {
		// As for refunds: a refusal is final only if the channel, asked by
		// the transfer's number, did not pay it out after all.
		q, qerr := ch.QueryTransfer(ctx, o.No)
		switch {
		case qerr == nil && q.Status != channel.TransferFailed:
			t, err = q, nil
		case qerr == nil, bursar.ErrorCode(qerr) == bursar.NotFound:
			t, err = channel.Transfer{Status: channel.TransferFailed, Reason: bursar.ErrorMessage(err)}, nil
		default:
			err = qerr
		}
	}
	if err != nil {
		return time.Time{}, err
	}
	t.TransferNo = o.No
	if err := j.deps.DB.InTx(ctx, func(tx store.Tx) error {
		_, err := settleTransfer(ctx, tx, o.Channel, t, j.deps.now())
		return err
	}); err != nil {
		return time.Time{}, err
	}
	if t.Status == channel.TransferProcessing {
		return again(j.deps.now(), o.UpdatedAt, 10*time.Second, 30*time.Minute), nil
	}
	return time.Time{}, nil
}
