package service

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/store"
)

// Withdrawals pays sellers' earnings out to their Alipay accounts.
type Withdrawals struct{ deps Deps }

// NewWithdrawals returns the withdrawal use cases.
func NewWithdrawals(d Deps) *Withdrawals { return &Withdrawals{deps: d} }

// WithdrawalInput is a seller's request to take earnings out.
type WithdrawalInput struct {
	User            bursar.UserID
	Amount          bursar.Amount
	Account         string // an Alipay login (phone or e-mail) or 2088… user id
	Name            string // the account holder's real name, which Alipay checks
	PaymentPassword string
}

// payoutChannel is where withdrawals go: Alipay pays out to an account and
// name; WeChat Pay's transfers need the user to confirm in WeChat.
const payoutChannel = bursar.ChannelAlipay

// Request takes a withdrawal: with the payment password, it moves the amount
// from earnings to payout:pending at once, so it cannot be spent twice. A
// withdrawal over the approval threshold waits for the platform; others go
// to the channel straight away. Outcomes besides the password's:
// bursar.InsufficientFunds when earnings are too little (cash cannot be
// withdrawn), bursar.RateLimited when the day's count or amount would be
// exceeded.
func (s *Withdrawals) Request(ctx context.Context, actor bursar.Actor, in WithdrawalInput) (bursar.Order, error) {
	if !actor.MaySee(in.User) {
		return bursar.Order{}, bursar.InvalidParam("user_id", "A user may withdraw only their own earnings.")
	}
	lim := s.deps.withdrawalLimits()
	switch {
	case in.Amount < lim.Min:
		return bursar.Order{}, bursar.InvalidParam("amount", "A withdrawal is at least %s yuan.", lim.Min.Yuan())
	case in.Amount > lim.DailyAmount:
		return bursar.Order{}, bursar.InvalidParam("amount", "A withdrawal is at most %s yuan.", lim.DailyAmount.Yuan())
	case !validPayee(in.Account, 100):
		return bursar.Order{}, bursar.InvalidParam("account", "Give the Alipay account to pay: a phone number, an e-mail address or a 2088… user id.")
	case !validPayee(in.Name, 50):
		return bursar.Order{}, bursar.InvalidParam("name", "Give the real name of the Alipay account's holder.")
	}
	if _, err := s.deps.channel(payoutChannel); err != nil {
		return bursar.Order{}, err
	}
	now := s.deps.now()
	o := bursar.Order{
		ID: bursar.OrderID(newID("wdr_")), No: newOrderNo(now), Type: bursar.OrderWithdrawal, Status: bursar.OrderProcessing,
		Buyer: in.User, Subject: "Withdrawal to Alipay", Amount: bursar.Money{Amount: in.Amount, Currency: bursar.CNY},
		Channel: payoutChannel, PayoutAccount: in.Account, PayoutName: in.Name,
		NeedsApproval: in.Amount > lim.ApprovalOver, CreatedAt: now, UpdatedAt: now,
	}
	if o.NeedsApproval {
		o.Status = bursar.OrderRequested
	}
	err := s.deps.inTx(ctx, func(tx store.Tx, keep *error) error {
		if _, err := tx.UserGet(ctx, in.User); err != nil {
			if bursar.ErrorCode(err) == bursar.NotFound {
				return bursar.InvalidParam("user_id", "There is no user %s.", in.User)
			}
			return err
		}
		if ok, err := checkPIN(ctx, tx, s.deps, in.User, in.PaymentPassword, now, keep); !ok || err != nil {
			return err
		}
		count, sum, err := tx.WithdrawalTotals(ctx, in.User, beijingDay(now))
		if err != nil {
			return err
		}
		if count >= lim.DailyCount {
			return bursar.Errorf(bursar.RateLimited, "You can withdraw %d times a day; try again tomorrow.", lim.DailyCount)
		}
		if total, _ := sum.Add(in.Amount); total > lim.DailyAmount {
			return bursar.Errorf(bursar.RateLimited, "You can withdraw %s yuan a day and have withdrawn %s today.",
				lim.DailyAmount.Yuan(), sum.Yuan())
		}
		earnings, err := balanceForUpdate(ctx, tx, bursar.UserEarningsAccount(in.User))
		if err != nil {
			return err
		}
		if earnings < in.Amount {
			return bursar.Errorf(bursar.InsufficientFunds, "Your earnings are %s yuan, less than the %s yuan to withdraw.",
				earnings.Yuan(), in.Amount.Yuan())
		}
		if err := insertOrder(ctx, tx, o); err != nil {
			return err
		}
		if err := post(ctx, tx, "withdraw:"+string(o.ID), "withdrawal", o.ID, now,
			bursar.Transfer(bursar.UserEarningsAccount(in.User), bursar.PayoutPending, o.Amount)); err != nil {
			return err
		}
		if err := audit(ctx, tx, actor, "withdrawal.request", string(o.ID),
			fmt.Sprintf("%s yuan to %s (%s)", in.Amount.Yuan(), in.Account, in.Name), now); err != nil {
			return err
		}
		if o.NeedsApproval {
			return nil
		}
		return tx.JobSchedule(ctx, bursar.JobTransfer, string(o.ID), now)
	})
	if err != nil {
		return bursar.Order{}, err
	}
	return o, nil
}

// Allowance is how much a user may withdraw now: their earnings, capped by
// what the day's limits still allow (zero when the day's count is used up).
// Clients that withdraw "everything" ask for this.
func (s *Withdrawals) Allowance(ctx context.Context, actor bursar.Actor, user bursar.UserID) (bursar.Amount, error) {
	if !actor.MaySee(user) {
		return 0, notFound("user", user)
	}
	lim := s.deps.withdrawalLimits()
	var allowed bursar.Amount
	err := s.deps.read(ctx, func(tx store.Tx) error {
		if _, err := tx.UserGet(ctx, user); err != nil {
			return err
		}
		count, sum, err := tx.WithdrawalTotals(ctx, user, beijingDay(s.deps.now()))
		if err != nil || count >= lim.DailyCount {
			return err
		}
		earnings, err := balance(ctx, tx, bursar.UserEarningsAccount(user))
		if err != nil {
			return err
		}
		allowed = max(min(earnings.Amount, lim.DailyAmount-sum), 0)
		return nil
	})
	return allowed, err
}

func validPayee(s string, max int) bool {
	return s != "" && len(s) <= max && bursar.ValidateSubject(s) == nil
}

// beijing is the time zone Chinese channels and users count days in.
var beijing = time.FixedZone("CST", 8*3600)

// beijingDay returns the start of t's day in Beijing.
func beijingDay(t time.Time) time.Time {
	y, m, d := t.In(beijing).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, beijing)
}

// Approve lets a withdrawal that waits for approval go to the channel.
// Platform only; the seller gets bursar.Forbidden, anyone else
// bursar.NotFound.
func (s *Withdrawals) Approve(ctx context.Context, actor bursar.Actor, id bursar.OrderID, note string) (bursar.Order, error) {
	if len(note) > 500 {
		return bursar.Order{}, bursar.InvalidParam("note", "A note is at most 500 bytes.")
	}
	return s.decide(ctx, actor, id, "approve", note, func(tx store.Tx, o *bursar.Order, now time.Time) error {
		o.Status = bursar.OrderProcessing
		return tx.JobSchedule(ctx, bursar.JobTransfer, string(o.ID), now)
	})
}

// Reject refuses a withdrawal that waits for approval, with a reason; the
// money goes back to earnings. Platform only.
func (s *Withdrawals) Reject(ctx context.Context, actor bursar.Actor, id bursar.OrderID, reason string) (bursar.Order, error) {
	if err := bursar.ValidateReason("reason", reason); err != nil {
		return bursar.Order{}, err
	}
	return s.decide(ctx, actor, id, "reject", reason, func(tx store.Tx, o *bursar.Order, now time.Time) error {
		return failWithdrawal(ctx, tx, o, "Rejected: "+reason, now)
	})
}

func (s *Withdrawals) decide(ctx context.Context, actor bursar.Actor, id bursar.OrderID, action, note string,
	apply func(tx store.Tx, o *bursar.Order, now time.Time) error) (bursar.Order, error) {
	var o bursar.Order
	err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		var err error
		o, err = visibleOrder(ctx, tx, actor, id, true)
		if bursar.ErrorCode(err) == bursar.NotFound || (err == nil && o.Type != bursar.OrderWithdrawal) {
			return notFound("withdrawal", id)
		}
		if err != nil {
			return err
		}
		if err := platformOnly(actor); err != nil {
			return err // the seller sees their withdrawal but does not decide it
		}
		if o.Status != bursar.OrderRequested {
			return bursar.Errorf(bursar.WrongState, "The withdrawal %s is %s, so it cannot be %sd.", o.ID, o.Status, action)
		}
		now := s.deps.now()
		if err := apply(tx, &o, now); err != nil {
			return err
		}
		o.UpdatedAt = now
		if err := saveOrder(ctx, tx, o, bursar.OrderRequested); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "withdrawal."+action, string(o.ID), note, now)
	})
	return o, err
}

// failWithdrawal returns a withdrawal's money to earnings.
func failWithdrawal(ctx context.Context, tx store.Tx, o *bursar.Order, reason string, now time.Time) error {
	if err := post(ctx, tx, "withdraw-back:"+string(o.ID), "withdrawal_failed", o.ID, now,
		bursar.Transfer(bursar.PayoutPending, bursar.UserEarningsAccount(o.Buyer), o.Amount)); err != nil {
		return err
	}
	o.Status, o.FailureReason, o.CompletedAt = bursar.OrderFailed, reason, now
	return tx.JobCancel(ctx, bursar.JobTransfer, string(o.ID))
}

// settleTransfer applies the channel's word on a withdrawal's payout.
func settleTransfer(ctx context.Context, tx store.Tx, name bursar.Channel, t channel.Transfer, now time.Time) (settled, error) {
	res := settled{orderNo: t.TransferNo}
	o, err := tx.OrderGetByNo(ctx, t.TransferNo)
	if bursar.ErrorCode(err) == bursar.NotFound || (err == nil && (o.Type != bursar.OrderWithdrawal || o.Channel != name)) {
		res.outcome, res.detail = bursar.NoticeRejected, fmt.Sprintf("no %s withdrawal has the number %q", name, t.TransferNo)
		return res, nil
	}
	if err != nil {
		return res, err
	}
	if o, err = tx.OrderGetForUpdate(ctx, o.ID); err != nil {
		return res, err
	}
	if o.Status == bursar.OrderFailed && t.Status == channel.TransferSucceeded {
		// Paid out after all, though its money went back to earnings: the
		// seller may have it twice. People must settle it.
		res.outcome, res.detail = bursar.NoticeIgnored, "the channel paid out a withdrawal Bursar took for failed: see the audit log"
		return res, audit(ctx, tx, bursar.Actor{}, "withdrawal.paid_after_failure", string(o.ID),
			fmt.Sprintf("%s paid out %s yuan to %s after the withdrawal failed: recover it from the seller's earnings",
				name, o.Amount.Amount.Yuan(), o.PayoutAccount), now)
	}
	if o.Status != bursar.OrderProcessing {
		res.outcome, res.detail = bursar.NoticeDuplicate, "the withdrawal is already "+string(o.Status)
		return res, nil
	}
	if t.Amount.Amount != 0 && t.Amount != o.Amount {
		res.outcome, res.detail = bursar.NoticeRejected, fmt.Sprintf("the channel's amount %s differs from the withdrawal's %s",
			t.Amount.Amount.Yuan(), o.Amount.Amount.Yuan())
		return res, nil
	}
	o.ChannelRef = cmp.Or(t.ChannelRef, o.ChannelRef)
	switch t.Status {
	case channel.TransferSucceeded:
		if err := post(ctx, tx, "payout:"+string(o.ID), "payout", o.ID, now,
			bursar.Transfer(bursar.PayoutPending, bursar.ChannelAccount(name), o.Amount)); err != nil {
			return res, err
		}
		o.Status, o.CompletedAt = bursar.OrderSucceeded, now
		if err := tx.JobCancel(ctx, bursar.JobTransfer, string(o.ID)); err != nil {
			return res, err
		}
	case channel.TransferFailed:
		if err := failWithdrawal(ctx, tx, &o, cmp.Or(t.Reason, "The channel refused the payout."), now); err != nil {
			return res, err
		}
	default:
		res.outcome, res.detail = bursar.NoticeIgnored, "the payout is still processing"
		return res, nil
	}
	o.UpdatedAt = now
	if err := saveOrder(ctx, tx, o, bursar.OrderProcessing); err != nil {
		return res, err
	}
	res.outcome, res.detail = bursar.NoticeApplied, "withdrawal "+string(o.Status)
	return res, audit(ctx, tx, bursar.Actor{}, "withdrawal."+string(o.Status), string(o.ID), o.FailureReason, now)
}
