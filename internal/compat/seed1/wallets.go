package seed1

import (
	"context"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
)

type cashAnswer struct {
	ok
	Info cashInfo `json:"info"`
}

// cashInfo is the seed's wallet: cash is everything the user may spend
// (Bursar's cash and earnings), withdrawCash the part that may be
// withdrawn (earnings).
type cashInfo struct {
	ID           bursar.UserID `json:"_id"`
	WithdrawCash bursar.Amount `json:"withdrawCash"`
	Cash         bursar.Amount `json:"cash"`
}

// handleWalletGet is getCash.
func (s *Server) handleWalletGet(ctx context.Context, c *call) (any, error) {
	user, err := s.user(ctx, c, "uid")
	if err != nil {
		return nil, err
	}
	w, err := s.deps.Wallets.Get(ctx, c.actor, user)
	if err != nil {
		return nil, recast(err, bursar.NotFound, aboutUser, "")
	}
	return cashAnswer{ok: success, Info: cashInfo{ID: user, WithdrawCash: w.Earnings.Amount, Cash: w.Total.Amount}}, nil
}

// handleWithdrawalCreate is withdrawCash: with the payment password, all
// of the user's withdrawable money that today's limits allow (or amount,
// in fen, when given) goes to
// the Alipay account alipayNo held by alipayName. The answer carries the
// withdrawal as order, which getOrder lists as type withdrawals.
func (s *Server) handleWithdrawalCreate(ctx context.Context, c *call) (any, error) {
	pass, err := c.p.need("payPass")
	if err != nil {
		return nil, err
	}
	user, err := s.user(ctx, c, "userId")
	if err != nil {
		return nil, err
	}
	account, err := c.p.str("alipayNo")
	if err != nil {
		return nil, err
	}
	name, err := c.p.str("alipayName")
	if err != nil {
		return nil, err
	}
	if account == "" || name == "" {
		return nil, &fault{code: bursar.Invalid, about: aboutReceiver, msg: "缺少收款人：alipayNo 和 alipayName 都要填"}
	}
	amount, ok, err := c.p.amount("amount")
	if err != nil {
		return nil, err
	}
	if !ok {
		// Everything withdrawable, as far as today's limits allow.
		if amount, err = s.deps.Withdrawals.Allowance(ctx, c.actor, user); err != nil {
			return nil, recast(err, bursar.NotFound, aboutUser, "")
		}
		if amount <= 0 {
			return nil, &fault{code: bursar.InsufficientFunds, msg: "用户余额不足：没有可提现的金额"}
		}
	}
	o, err := s.deps.Withdrawals.Request(ctx, c.actor, service.WithdrawalInput{
		User: user, Amount: amount, Account: account, Name: name, PaymentPassword: pass})
	if err != nil {
		return nil, noPayPass(err)
	}
	return orderAnswer{ok: success, Order: orderJSON(o)}, nil
}
