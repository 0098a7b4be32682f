package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/service"
)

// The demo's last part, on the real clock: payments through the channels'
// sandboxes, a channel refund, top-ups and withdrawals.

// live pays through the channels' sandboxes and takes the withdrawals, on
// the real clock.
func (r *demoRun) live() error {
	if r.opt.sandbox == "" {
		return nil
	}
	session := func(seller int) bursar.Item { // each seller's first item is a session
		for _, it := range r.catalogue {
			if it.Seller == r.sellers[seller].ID {
				return it
			}
		}
		return bursar.Item{}
	}
	// Purchases: paid through Alipay and WeChat Pay; one confirmed, one
	// refunded through Alipay, one left paying.
	var paid []bursar.Order
	for i, m := range []channel.Method{channel.AlipayQR, channel.WeChatNative, channel.AlipayQR, channel.AlipayQR} {
		b := r.buyers[2+i].ID
		o, _, err := r.orders.CreatePurchase(r.ctx, userActor(b), service.PurchaseInput{Buyer: b, Item: session(i % 4).ID})
		if err != nil {
			return err
		}
		if o, err = r.payAtChannel(o, m); err != nil {
			return err
		}
		paid = append(paid, o)
	}
	if err := r.confirm(paid[2], true); err != nil {
		return err
	}
	rf, err := r.refunds.Request(r.ctx, userActor(paid[3].Buyer), paid[3].ID, nil, "时间冲突，无法参加")
	if err != nil {
		return err
	}
	if _, err := r.refunds.Approve(r.ctx, operator, rf.ID, "refunded through Alipay"); err != nil {
		return err
	}
	if err := r.until(func() (bool, error) {
		rf, err := r.refunds.Get(r.ctx, operator, rf.ID)
		return rf.Status == bursar.RefundSucceeded, err
	}); err != nil {
		return fmt.Errorf("the Alipay refund: %w", err)
	}
	b := r.buyers[7].ID
	pending, _, err := r.orders.CreatePurchase(r.ctx, userActor(b), service.PurchaseInput{Buyer: b, Item: session(1).ID})
	if err != nil {
		return err
	}
	if _, _, err := r.orders.PayWithChannel(r.ctx, userActor(b), pending.ID, channel.WeChatNative, service.PayOptions{}); err != nil {
		return err
	}

	// Top-ups: one through each channel, one left unpaid.
	for i, m := range []channel.Method{channel.AlipayQR, channel.WeChatNative, channel.AlipayQR} {
		b := r.buyers[8+i].ID
		o, err := r.orders.CreateTopup(r.ctx, userActor(b), service.TopupInput{User: b, Amount: bursar.Amount(20_000 * (i + 1))})
		if err != nil {
			return err
		}
		if i == 2 {
			_, _, err = r.orders.PayWithChannel(r.ctx, userActor(b), o.ID, m, service.PayOptions{})
		} else {
			_, err = r.payAtChannel(o, m)
		}
		if err != nil {
			return err
		}
	}
	return r.withdraw()
}

// withdraw takes the consultant's earnings out to Alipay: one refused (an
// unknown payee), one paid, one Alipay is still dealing with, and one large
// enough to wait for the platform's approval.
func (r *demoRun) withdraw() error {
	seller := r.sellers[len(r.sellers)-1]
	if err := r.control("/alipay/sandbox/payees/bad", url.Values{"account": {"nobody@example.com"}}); err != nil {
		return err
	}
	steps := []struct {
		account string
		amount  bursar.Amount
		want    bursar.OrderStatus
	}{
		{"nobody@example.com", 3000, bursar.OrderFailed},
		{"chenjing@example.com", 10000, bursar.OrderSucceeded},
		{"chenjing@example.com", 5000, bursar.OrderProcessing},
		{"chenjing@example.com", 600000, bursar.OrderRequested},
	}
	for _, s := range steps {
		if s.want == bursar.OrderProcessing {
			if err := r.control("/alipay/sandbox/transfers/dealing", url.Values{"outcome": {"SUCCESS"}, "after": {"2h"}, "count": {"1"}}); err != nil {
				return err
			}
		}
		o, err := r.withdrawals.Request(r.ctx, userActor(seller.ID), service.WithdrawalInput{User: seller.ID, Amount: s.amount,
			Account: s.account, Name: "陈静", PaymentPassword: demoPIN})
		if err != nil {
			return fmt.Errorf("withdrawal of %s yuan: %w", s.amount.Yuan(), err)
		}
		if s.want == bursar.OrderRequested {
			continue
		}
		if s.want == bursar.OrderProcessing {
			// Dealing: the payout has gone to Alipay once the job ran.
			if _, err := r.jobs.RunDue(r.ctx); err != nil {
				return err
			}
			continue
		}
		if err := r.until(func() (bool, error) {
			got, err := r.orders.Get(r.ctx, operator, o.ID)
			return got.Status == s.want, err
		}); err != nil {
			return fmt.Errorf("withdrawal to %s: %w", s.account, err)
		}
	}
	return nil
}

// payAtChannel starts paying o through a channel, has the sandbox's buyer
// pay, and waits for the channel's notification (asking the channel itself
// if it is slow).
func (r *demoRun) payAtChannel(o bursar.Order, m channel.Method) (bursar.Order, error) {
	if _, _, err := r.orders.PayWithChannel(r.ctx, userActor(o.Buyer), o.ID, m, service.PayOptions{}); err != nil {
		return o, fmt.Errorf("pay %s with %s: %w", o.ID, m, err)
	}
	if err := r.control("/"+string(m.Channel())+"/sandbox/pay", url.Values{"out_trade_no": {o.No}}); err != nil {
		return o, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := r.orders.Get(r.ctx, operator, o.ID)
		if err != nil || got.Status != bursar.OrderPending {
			return got, err
		}
		if time.Now().After(deadline) {
			return r.orders.Sync(r.ctx, operator, o.ID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// until runs due jobs until cond holds, for ten seconds at most.
func (r *demoRun) until(cond func() (bool, error)) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := r.jobs.RunDue(r.ctx); err != nil {
			return err
		}
		ok, err := cond()
		if ok || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// control makes a sandbox control call.
func (r *demoRun) control(path string, form url.Values) error {
	req, err := http.NewRequestWithContext(r.ctx, http.MethodPost, r.opt.sandbox+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sandbox %s: %d %s", path, resp.StatusCode, body)
	}
	return nil
}
