package service

import (
	"cmp"
	"context"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// PayWithWallet pays a pending purchase from the buyer's wallet, checking the
// payment password. The money moves into escrow – cash first, then
// earnings – and a release job is scheduled at paid_at + hold, all in one
// transaction. The outcomes, none of which moves money:
//   - bursar.Forbidden: the payment password is wrong (or not set);
//   - bursar.Locked: it is locked after too many wrong tries;
//   - bursar.InsufficientFunds: cash and earnings together are too little;
//   - bursar.Conflict: the order is already paid;
//   - bursar.WrongState: the order is closed, expired or otherwise not payable.
//
// Only the buyer may pay, or the platform on their behalf; the password is
// checked either way.
func (s *Orders) PayWithWallet(ctx context.Context, actor bursar.Actor, id bursar.OrderID, pin string) (bursar.Order, error) {
	var o bursar.Order
	err := s.deps.inTx(ctx, func(tx store.Tx, keep *error) error {
		now := s.deps.now()
		if actor.Kind == bursar.CredentialUser {
			// The buyer is known before the order is read: lock the rows
			// the payment reads at once.
			u := actor.User
			if err := tx.Prefetch(ctx, store.Prefetch{Order: id,
				Secrets:  []store.SecretRef{{User: u, Kind: bursar.SecretPayment}},
				Accounts: []bursar.AccountID{bursar.UserCashAccount(u), bursar.UserEarningsAccount(u)}}); err != nil {
				return err
			}
		}
		var err error
		if o, err = visibleOrder(ctx, tx, actor, id, true); err != nil {
			return err
		}
		if !actor.MaySee(o.Buyer) {
			return notFound("order", id) // the seller may see the order but not pay it
		}
		if err := payable(o, now); err != nil {
			return err
		}
		if o.Type == bursar.OrderTopup {
			return bursar.Errorf(bursar.WrongState, "A top-up is paid through Alipay or WeChat Pay, not from the wallet it fills.")
		}
		if ok, err := checkPIN(ctx, tx, s.deps, o.Buyer, pin, now, keep); !ok || err != nil {
			return err
		}
		fromCash, fromEarnings, err := walletSplit(ctx, tx, o.Buyer, o.Amount.Amount)
		if err != nil {
			return err
		}
		escrow := bursar.EscrowAccount(o.ID)
		var postings []bursar.Posting
		if fromCash > 0 {
			postings = append(postings, bursar.Transfer(bursar.UserCashAccount(o.Buyer), escrow, money(fromCash, o))...)
		}
		if fromEarnings > 0 {
			postings = append(postings, bursar.Transfer(bursar.UserEarningsAccount(o.Buyer), escrow, money(fromEarnings, o))...)
		}
		if _, err := tx.EntryPost(ctx, bursar.Entry{Key: "pay:" + string(o.ID), Kind: "wallet_pay", Ref: string(o.ID),
			Postings: postings, PostedAt: now}); err != nil {
			return err
		}
		markPaid(&o, bursar.ChannelWallet, now)
		o.PaidFromCash, o.PaidFromEarnings = fromCash, fromEarnings
		if err := saveOrder(ctx, tx, o, bursar.OrderPending); err != nil {
			return err
		}
		if err := tx.JobCancel(ctx, bursar.JobExpire, string(o.ID)); err != nil {
			return err
		}
		if pending, err := pendingPayments(ctx, tx, o.ID); err != nil || len(pending) > 0 {
			// Payments the buyer started at a channel must not be paid too.
			if err := cmp.Or(err, tx.JobSchedule(ctx, bursar.JobChannelClose, string(o.ID), now)); err != nil {
				return err
			}
		}
		return tx.JobSchedule(ctx, bursar.JobRelease, string(o.ID), o.ReleaseAt)
	})
	return o, err
}

func money(a bursar.Amount, o bursar.Order) bursar.Money {
	return bursar.Money{Amount: a, Currency: o.Amount.Currency}
}

// payable says why an order cannot be paid now, or nil.
func payable(o bursar.Order, now time.Time) error {
	switch {
	case o.Type != bursar.OrderPurchase && o.Type != bursar.OrderTopup:
		return bursar.Errorf(bursar.WrongState, "The order %s is a %s, which is not paid.", o.ID, o.Type)
	case o.Status == bursar.OrderPaid || o.Status == bursar.OrderCompleted || o.Status == bursar.OrderRefundRequested ||
		o.Status == bursar.OrderRefunded:
		return bursar.Errorf(bursar.Conflict, "The order %s is already paid.", o.ID)
	case o.Status != bursar.OrderPending:
		return bursar.OrderWrongState(o, "paid")
	case !now.Before(o.ExpiresAt):
		return bursar.Errorf(bursar.WrongState, "The order %s expired at %s and can no longer be paid.", o.ID, o.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

// markPaid moves an order to paid at now and sets when its escrow is
// released and how long a session's access lasts.
func markPaid(o *bursar.Order, ch bursar.Channel, now time.Time) {
	o.Status, o.Channel = bursar.OrderPaid, ch
	o.PaidAt, o.UpdatedAt = now, now
	o.ReleaseAt = now.Add(o.Hold)
	if o.Duration > 0 {
		o.AccessUntil = now.Add(o.Duration)
	}
}

// walletSplit decides how much of amount comes from the user's cash and how
// much from earnings: cash first, because cash cannot be withdrawn. Both
// balances are locked until the transaction ends.
func walletSplit(ctx context.Context, tx store.Tx, user bursar.UserID, amount bursar.Amount) (bursar.Amount, bursar.Amount, error) {
	cash, err := balanceForUpdate(ctx, tx, bursar.UserCashAccount(user))
	if err != nil {
		return 0, 0, err
	}
	earnings, err := balanceForUpdate(ctx, tx, bursar.UserEarningsAccount(user))
	if err != nil {
		return 0, 0, err
	}
	if total, _ := cash.Add(earnings); total < amount {
		return 0, 0, bursar.Errorf(bursar.InsufficientFunds,
			"The wallet holds %s yuan, less than the %s yuan to pay.", total.Yuan(), amount.Yuan())
	}
	fromCash := min(cash, amount)
	return fromCash, amount - fromCash, nil
}

func balanceForUpdate(ctx context.Context, tx store.Tx, id bursar.AccountID) (bursar.Amount, error) {
	a, err := tx.AccountGetForUpdate(ctx, id)
	if bursar.ErrorCode(err) == bursar.NotFound {
		return 0, nil
	}
	return a.Balance, err
}

// checkPIN checks a user's payment password under its row lock, so tries
// that arrive at once are counted one after another. A wrong or locked
// password is not an error of the transaction: checkPIN puts it in *keep
// and reports false, and the caller returns nil so that the counted try
// commits and no money moves. Past d.Tries, a try is refused unchecked.
func checkPIN(ctx context.Context, tx store.Tx, d Deps, user bursar.UserID, pin string, now time.Time, keep *error) (bool, error) {
	if err := d.tryLimit(userKey(user)); err != nil {
		*keep = err
		return false, nil
	}
	secret, err := tx.SecretGetForUpdate(ctx, user, bursar.SecretPayment)
	if bursar.ErrorCode(err) == bursar.NotFound {
		return false, bursar.Errorf(bursar.Forbidden, "Set a payment password first.")
	}
	if err != nil {
		return false, err
	}
	next, tryErr := secret.Try(verifyPIN(d.Pepper, user, secret.Hash, pin), now)
	if next != secret {
		if err := tx.SecretPut(ctx, next); err != nil {
			return false, err
		}
	}
	if tryErr != nil {
		// Counted as it happens: should the transaction run again, the
		// limit only gets one try stricter.
		d.tried(userKey(user), tryErr)
		*keep = tryErr
		return false, nil
	}
	return true, nil
}
