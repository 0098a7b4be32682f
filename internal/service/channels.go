package service

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/store"
)

// PayOptions are what some channel methods need besides the order.
type PayOptions struct {
	ReturnURL string // where the browser returns after an Alipay page or wap payment
	OpenID    string // the payer's openid, for WeChat JSAPI
	ClientIP  string // the buyer's IP address, for WeChat H5
}

// PayWithChannel starts paying a pending purchase or top-up through Alipay
// or WeChat Pay and returns what the buyer's client needs to finish it. The
// order is paid when the channel says so: by its notification, or by the
// payment check that queries the channel while the order is pending.
//
// The payment is recorded, and its check scheduled, before the channel is
// called, so a payment the channel accepts is never unknown to Bursar.
func (s *Orders) PayWithChannel(ctx context.Context, actor bursar.Actor, id bursar.OrderID, m channel.Method, opt PayOptions) (bursar.Order, channel.Payment, error) {
	name := m.Channel()
	if name == "" {
		return bursar.Order{}, channel.Payment{}, bursar.InvalidParam("method",
			"A payment method is wallet or one of %s.", channel.MethodList())
	}
	if err := CheckPayOptions(m, opt); err != nil {
		return bursar.Order{}, channel.Payment{}, err
	}
	ch, err := s.deps.channel(name)
	if err != nil {
		return bursar.Order{}, channel.Payment{}, err
	}
	var o bursar.Order
	err = s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		now := s.deps.now()
		var err error
		if o, err = visibleOrder(ctx, tx, actor, id, true); err != nil {
			return err
		}
		if !actor.MaySee(o.Buyer) {
			return notFound("order", id)
		}
		if err := payable(o, now); err != nil {
			return err
		}
		p, err := tx.PaymentGet(ctx, o.ID, name)
		switch {
		case bursar.ErrorCode(err) == bursar.NotFound:
			p = bursar.Payment{Order: o.ID, Channel: name, Amount: o.Amount, CreatedAt: now}
		case err != nil:
			return err
		case p.Method != string(m) && p.Status == bursar.PaymentPending:
			// The order number is the channel's trade number, and both
			// channels refuse it again with another method.
			return bursar.Errorf(bursar.Conflict, "The order %s is already being paid with %s; pay it that way or use the other channel.", o.ID, p.Method)
		}
		p.Method, p.Status, p.UpdatedAt = string(m), bursar.PaymentPending, now
		if err := tx.PaymentPut(ctx, p); err != nil {
			return err
		}
		return tx.JobSchedule(ctx, bursar.JobPaymentCheck, string(o.ID), now.Add(s.deps.paymentCheckAfter()))
	})
	if err != nil {
		return bursar.Order{}, channel.Payment{}, err
	}
	pay, err := ch.Pay(ctx, channel.PayRequest{
		OrderNo: o.No, Amount: o.Amount, Subject: o.Subject, Method: m, ExpiresAt: o.ExpiresAt,
		NotifyURL: s.deps.notifyURL(name), ReturnURL: opt.ReturnURL, OpenID: opt.OpenID, ClientIP: opt.ClientIP,
	})
	return o, pay, err
}

// CheckPayOptions says what a method is missing, before anything is
// created: an edge that makes an order and pays it in one call checks first,
// so bad input leaves nothing behind.
func CheckPayOptions(m channel.Method, opt PayOptions) error {
	switch {
	case m == channel.WeChatJSAPI && opt.OpenID == "":
		return bursar.InvalidParam("openid", "Paying with wechat_jsapi needs the payer's openid.")
	case m == channel.WeChatH5:
		if _, err := netip.ParseAddr(opt.ClientIP); err != nil {
			return bursar.InvalidParam("client_ip", "Paying with wechat_h5 needs the buyer's IP address.")
		}
	}
	return nil
}

func (d Deps) notifyURL(name bursar.Channel) string {
	return d.PublicURL + "/v1/notify/" + string(name)
}

// settled is what settling a channel's word about a payment did.
type settled struct {
	outcome bursar.NoticeOutcome
	detail  string
	orderNo string
}

// settlePayment applies the channel's view of an order's payment, whatever
// told it (a notification, a query): a paid trade pays the order once and
// only once, with the amount checked against the order. A late payment for
// a closed order re-opens it as paid (the buyer paid; they may still ask for
// a refund), and a payment for an order already paid another way is
// refunded to the payer through its channel. The caller holds no lock; the
// order's row lock is taken here.
func (s *Orders) settlePayment(ctx context.Context, tx store.Tx, name bursar.Channel, t channel.Trade, now time.Time) (settled, error) {
	res := settled{orderNo: t.OrderNo}
	reject := func(format string, args ...any) (settled, error) {
		res.outcome, res.detail = bursar.NoticeRejected, fmt.Sprintf(format, args...)
		return res, nil
	}
	o, err := tx.OrderGetByNo(ctx, t.OrderNo)
	if bursar.ErrorCode(err) == bursar.NotFound {
		return reject("no order has the number %q", t.OrderNo)
	}
	if err != nil {
		return res, err
	}
	if o, err = tx.OrderGetForUpdate(ctx, o.ID); err != nil {
		return res, err
	}
	p, err := tx.PaymentGet(ctx, o.ID, name)
	switch {
	case bursar.ErrorCode(err) == bursar.NotFound && t.Status == channel.TradePaid:
		// The channel, whose word this is, took money for the order without
		// Bursar having started the payment (a client's own integration, or a
		// payment made twice): it is settled like any other, never dropped.
		p = externalPayment(o.ID, name, t.Amount, now)
	case bursar.ErrorCode(err) == bursar.NotFound:
		return settled{bursar.NoticeIgnored, fmt.Sprintf("the order %s was never paid at %s", o.ID, name), t.OrderNo}, nil
	case err != nil:
		return res, err
	}
	if t.Amount != o.Amount {
		res, err := reject("the channel's amount %s %s differs from the order's %s %s",
			t.Amount.Amount.Yuan(), t.Amount.Currency, o.Amount.Amount.Yuan(), o.Amount.Currency)
		if t.Status != channel.TradePaid || p.Status == bursar.PaymentMismatch {
			return res, err
		}
		// Money the order does not account for arrived at the channel: the
		// payment ends here, so the order can close, and people return or
		// book the money; reconciliation shows it too.
		p.Status, p.TradeNo, p.Payer, p.Amount, p.UpdatedAt = bursar.PaymentMismatch, t.TradeNo, t.Payer, t.Amount, now
		if err := tx.PaymentPut(ctx, p); err != nil {
			return res, err
		}
		return res, audit(ctx, tx, bursar.Actor{}, "payment.mismatch", string(o.ID),
			fmt.Sprintf("%s trade %s paid %s yuan for an order of %s yuan; return or book it by hand", name, t.TradeNo,
				t.Amount.Amount.Yuan(), o.Amount.Amount.Yuan()), now)
	}
	switch t.Status {
	case channel.TradePaid:
	case channel.TradeClosed, channel.TradeFailed:
		if p.Status != bursar.PaymentPending {
			return settled{bursar.NoticeIgnored, "the payment is already " + string(p.Status), t.OrderNo}, nil
		}
		p.Status, p.UpdatedAt = bursar.PaymentClosed, now
		if t.Status == channel.TradeFailed {
			p.Status = bursar.PaymentFailed
		}
		return settled{bursar.NoticeApplied, "payment " + string(p.Status), t.OrderNo}, tx.PaymentPut(ctx, p)
	default:
		return settled{bursar.NoticeIgnored, "not paid yet", t.OrderNo}, nil
	}
	if p.Status != bursar.PaymentPending && p.Status != bursar.PaymentClosed && p.Status != bursar.PaymentFailed {
		return settled{bursar.NoticeDuplicate, "the payment was already " + string(p.Status), t.OrderNo}, nil
	}
	p.TradeNo, p.Payer, p.UpdatedAt = t.TradeNo, t.Payer, now
	p.PaidAt = t.PaidAt
	if p.PaidAt.IsZero() {
		p.PaidAt = now
	}
	from := o.Status
	if from != bursar.OrderPending && from != bursar.OrderClosed {
		// Paid twice: the order keeps its first payment, this one goes back.
		p.Status = bursar.PaymentDuplicate
		dup := bursar.DuplicateEscrowAccount(o.ID, name)
		if err := post(ctx, tx, "dup:"+string(o.ID)+":"+string(name), "duplicate_payment", o.ID, now,
			bursar.Transfer(bursar.ChannelAccount(name), dup, o.Amount)); err != nil {
			return res, err
		}
		if err := tx.PaymentPut(ctx, p); err != nil {
			return res, err
		}
		if err := tx.JobSchedule(ctx, bursar.JobReturnPayment, returnRef(o.ID, name), now); err != nil {
			return res, err
		}
		return settled{bursar.NoticeApplied, "paid twice: the " + string(name) + " payment is being returned", t.OrderNo}, nil
	}
	p.Status = bursar.PaymentPaid
	if err := tx.PaymentPut(ctx, p); err != nil {
		return res, err
	}
	switch o.Type {
	case bursar.OrderTopup:
		if err := post(ctx, tx, "pay:"+string(o.ID), "topup", o.ID, now,
			bursar.Transfer(bursar.ChannelAccount(name), bursar.UserCashAccount(o.Buyer), o.Amount)); err != nil {
			return res, err
		}
		o.Status, o.Channel = bursar.OrderCompleted, name
		o.PaidAt, o.CompletedAt, o.UpdatedAt = now, now, now // as for purchases: when Bursar learnt of it
	default:
		if err := post(ctx, tx, "pay:"+string(o.ID), "channel_pay", o.ID, now,
			bursar.Transfer(bursar.ChannelAccount(name), bursar.EscrowAccount(o.ID), o.Amount)); err != nil {
			return res, err
		}
		markPaid(&o, name, now)
		if err := tx.JobSchedule(ctx, bursar.JobRelease, string(o.ID), o.ReleaseAt); err != nil {
			return res, err
		}
	}
	if err := saveOrder(ctx, tx, o, from); err != nil {
		return res, err
	}
	if err := tx.JobCancel(ctx, bursar.JobExpire, string(o.ID)); err != nil {
		return res, err
	}
	// Payments the buyer started at other channels must not be paid too.
	if err := tx.JobSchedule(ctx, bursar.JobChannelClose, string(o.ID), now); err != nil {
		return res, err
	}
	res.outcome, res.detail = bursar.NoticeApplied, "order "+string(o.Status)
	if from == bursar.OrderClosed {
		res.detail = "a late payment re-opened the closed order: " + string(o.Status)
		if err := audit(ctx, tx, bursar.Actor{}, "order.reopened", string(o.ID),
			fmt.Sprintf("%s payment %s arrived after the order closed", name, t.TradeNo), now); err != nil {
			return res, err
		}
	}
	return res, nil
}

// externalPayment is a payment someone else started at the channel with the
// order's number: a client's own integration, or a second payment.
func externalPayment(o bursar.OrderID, name bursar.Channel, amount bursar.Money, now time.Time) bursar.Payment {
	return bursar.Payment{Order: o, Channel: name, Method: "external", Amount: amount,
		Status: bursar.PaymentPending, CreatedAt: now, UpdatedAt: now}
}

func returnRef(o bursar.OrderID, name bursar.Channel) string { return string(o) + "/" + string(name) }

// post posts a ledger entry about an order.
func post(ctx context.Context, tx store.Tx, key string, kind bursar.EntryKind, o bursar.OrderID, now time.Time, ps []bursar.Posting) error {
	_, err := tx.EntryPost(ctx, bursar.Entry{Key: key, Kind: kind, Ref: string(o), Postings: ps, PostedAt: now})
	return err
}

// TopupInput is money a user puts into their wallet's cash.
type TopupInput struct {
	User     bursar.UserID
	Amount   bursar.Amount
	Subject  string // what the buyer sees at the channel; "Wallet top-up" when empty
	Metadata map[string]string
}

// maxTopup bounds one top-up: 50,000 yuan.
const maxTopup bursar.Amount = 5_000_000

// CreateTopup creates a pending top-up order, paid through a channel with
// PayWithChannel; once paid its money is in the user's cash, which can be
// spent but not withdrawn.
func (s *Orders) CreateTopup(ctx context.Context, actor bursar.Actor, in TopupInput) (bursar.Order, error) {
	if !actor.MaySee(in.User) {
		return bursar.Order{}, bursar.InvalidParam("user_id", "A user may top up only their own wallet.")
	}
	if in.Amount <= 0 || in.Amount > maxTopup {
		return bursar.Order{}, bursar.InvalidParam("amount", "A top-up is between 1 and %d fen.", maxTopup)
	}
	if err := bursar.ValidateMetadata(in.Metadata); err != nil {
		return bursar.Order{}, err
	}
	if in.Subject != "" {
		if err := bursar.ValidateSubject(in.Subject); err != nil {
			return bursar.Order{}, err
		}
	}
	now := s.deps.now()
	o := bursar.Order{
		ID: bursar.OrderID(newID("top_")), No: newOrderNo(now), Type: bursar.OrderTopup, Status: bursar.OrderPending,
		Buyer: in.User, Subject: cmp.Or(in.Subject, "Wallet top-up"), Amount: bursar.Money{Amount: in.Amount, Currency: bursar.CNY},
		Metadata: in.Metadata, CreatedAt: now, ExpiresAt: now.Add(s.deps.orderExpiry()), UpdatedAt: now,
	}
	err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.UserGet(ctx, in.User); err != nil {
			if bursar.ErrorCode(err) == bursar.NotFound {
				return bursar.InvalidParam("user_id", "There is no user %s.", in.User)
			}
			return err
		}
		if err := insertOrder(ctx, tx, o); err != nil {
			return err
		}
		return tx.JobSchedule(ctx, bursar.JobExpire, string(o.ID), o.ExpiresAt)
	})
	if err != nil {
		return bursar.Order{}, err
	}
	return o, nil
}

// Payments returns an order's payments at the channels.
func (s *Orders) Payments(ctx context.Context, actor bursar.Actor, id bursar.OrderID) ([]bursar.Payment, error) {
	var ps []bursar.Payment
	err := s.deps.read(ctx, func(tx store.Tx) error {
		if _, err := visibleOrder(ctx, tx, actor, id, false); err != nil {
			return err
		}
		var err error
		ps, err = tx.PaymentList(ctx, id)
		return err
	})
	return ps, err
}

// Sync asks the channels about an order's pending payments now and settles
// what they say, instead of waiting for a notification or the next payment
// check: for a client whose buyer just came back from the cashier, or for a
// payment result that cannot be trusted by itself (an unsigned callback).
func (s *Orders) Sync(ctx context.Context, actor bursar.Actor, id bursar.OrderID) (bursar.Order, error) {
	if _, err := s.Get(ctx, actor, id); err != nil {
		return bursar.Order{}, err
	}
	jobs := NewJobs(s.deps)
	if _, err := jobs.checkPayments(ctx, id); err != nil {
		return bursar.Order{}, err
	}
	return s.Get(ctx, actor, id)
}

// GetByNo returns the order with a merchant order number, if the actor is
// its buyer or seller.
func (s *Orders) GetByNo(ctx context.Context, actor bursar.Actor, no string) (bursar.Order, error) {
	var o bursar.Order
	err := s.deps.read(ctx, func(tx store.Tx) error {
		var err error
		if o, err = tx.OrderGetByNo(ctx, no); err != nil {
			return err
		}
		if !actor.MaySee(o.Buyer, o.Seller) {
			return notFound("order", no)
		}
		return nil
	})
	if bursar.ErrorCode(err) == bursar.NotFound {
		return bursar.Order{}, notFound("order", no)
	}
	return o, err
}

// ConfirmChannelPayment settles an order from what the channel says about
// it, for a client that paid at the channel by itself with the order number
// as out_trade_no and reports the result (seed 2's apps do). The report is
// never trusted: only the channel's answer to Bursar's own query settles the
// order, with the amount checked. A payment for an order that closed
// meanwhile re-opens it, as a late notification would. A channel that has no such payment gives
// bursar.NotFound; one whose payment disagrees with the order,
// bursar.Invalid with the reason.
func (s *Orders) ConfirmChannelPayment(ctx context.Context, actor bursar.Actor, id bursar.OrderID, name bursar.Channel) (bursar.Order, error) {
	ch, err := s.deps.channel(name)
	if err != nil {
		return bursar.Order{}, err
	}
	o, err := s.Get(ctx, actor, id)
	if err != nil {
		return bursar.Order{}, err
	}
	// Ask first: a report of a payment the channel does not know records
	// nothing, so it cannot block paying the order another way.
	t, err := ch.Query(ctx, o.No)
	if bursar.ErrorCode(err) == bursar.NotFound {
		return bursar.Order{}, bursar.Errorf(bursar.NotFound, "%s has no payment for the order %s.", name, o.ID)
	}
	if err != nil {
		return bursar.Order{}, err
	}
	var res settled
	err = s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		now := s.deps.now()
		o, err := tx.OrderGetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if t.Status == channel.TradePending && (o.Status == bursar.OrderPending || o.Status == bursar.OrderClosed) {
			// Started at the channel but not paid yet: record it, so the
			// payment checks and the expiry take care of it.
			if _, err := tx.PaymentGet(ctx, o.ID, name); bursar.ErrorCode(err) == bursar.NotFound {
				if err := tx.PaymentPut(ctx, externalPayment(o.ID, name, t.Amount, now)); err != nil {
					return err
				}
				if err := tx.JobSchedule(ctx, bursar.JobPaymentCheck, string(o.ID), now.Add(s.deps.paymentCheckAfter())); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
		}
		res, err = s.settlePayment(ctx, tx, name, t, now)
		return err
	})
	if err != nil {
		return bursar.Order{}, err
	}
	if res.outcome == bursar.NoticeRejected {
		s.deps.log().WarnContext(ctx, "payment report refused", "channel", name, "order", o.ID, "why", res.detail)
		return bursar.Order{}, bursar.Errorf(bursar.Invalid, "The payment at %s does not match the order: %s.", name, res.detail)
	}
	return s.Get(ctx, actor, id)
}
