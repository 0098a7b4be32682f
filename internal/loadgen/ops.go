package loadgen

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// awaitLimit bounds the wait for a channel's word that an order is paid.
const awaitLimit = 10 * time.Second

func (w *worker) createOrder(ctx context.Context) (object, error) {
	w.c.body = jsonBody(w.c.body, "buyer_id", w.r.buyers[w.buyer], "item_id", w.r.items[w.buyer])
	var o object
	err := w.c.call(ctx, "POST", "/v1/orders", w.c.body, &o)
	return o, err
}

func (w *worker) payWallet(ctx context.Context, id string) error {
	w.c.body = jsonBody(w.c.body, "method", "wallet", "payment_password", pin)
	return w.c.call(ctx, "POST", "/v1/orders/"+id+"/pay", w.c.body, nil)
}

// pay pays a pending order; creating more when none is left is measured as
// order_create, apart from the payment.
func (w *worker) pay(ctx context.Context) {
	id, buyer, ok := w.r.pending.take(w.buyer)
	for !ok {
		for range refill {
			var o object
			if w.measure(ctx, OpOrderCreate, func() (err error) { o, err = w.createOrder(ctx); return err }) != nil {
				return
			}
			w.r.pending.put(w.buyer, o.ID)
		}
		id, buyer, ok = w.r.pending.take(w.buyer)
	}
	err := w.measure(ctx, OpPay, func() error { return w.payWallet(ctx, id) })
	w.observe(OpPay, id, w.r.buyers[buyer], err)
	if err == nil {
		w.r.paid.put(id)
	}
}

// buy creates an order and pays it from the wallet, measured as purchase.
func (w *worker) buy(ctx context.Context) (string, error) {
	var o object
	err := w.measure(ctx, OpPurchase, func() (err error) {
		if o, err = w.createOrder(ctx); err != nil {
			return err
		}
		return w.payWallet(ctx, o.ID)
	})
	w.observe(OpPurchase, o.ID, w.r.buyers[w.buyer], err)
	return o.ID, err
}

func (w *worker) purchase(ctx context.Context) {
	if id, err := w.buy(ctx); err == nil {
		w.r.paid.put(id)
	}
}

// paidOrder takes a paid order from the pool, or buys one when the pool is
// empty (measured as a purchase).
func (w *worker) paidOrder(ctx context.Context) (string, bool) {
	if id, ok := w.r.paid.take(); ok {
		return id, true
	}
	id, err := w.buy(ctx)
	return id, err == nil
}

func (w *worker) confirm(ctx context.Context) {
	id, ok := w.paidOrder(ctx)
	if !ok {
		return
	}
	err := w.measure(ctx, OpConfirm, func() error {
		return w.c.call(ctx, "POST", "/v1/orders/"+id+"/confirm", nil, nil)
	})
	w.observe(OpConfirm, id, "", err)
}

// refund asks for all of a paid order's money back, as the buyer, and
// approves it, as the platform.
func (w *worker) refund(ctx context.Context) {
	id, ok := w.paidOrder(ctx)
	if !ok {
		return
	}
	err := w.measure(ctx, OpRefund, func() error {
		var rf object
		w.c.body = jsonBody(w.c.body, "reason", "load test")
		if err := w.c.call(ctx, "POST", "/v1/orders/"+id+"/refunds", w.c.body, &rf); err != nil {
			return err
		}
		return w.c.call(ctx, "POST", "/v1/refunds/"+rf.ID+"/approve", nil, nil)
	})
	w.observe(OpRefund, id, "", err)
}

// channelPay buys through Alipay or WeChat Pay, at random: the order, the
// payment's start, the sandbox's buyer paying, and Bursar learning of it
// from the channel's notification.
func (w *worker) channelPay(ctx context.Context) {
	method, ch := "alipay_qr", "alipay"
	if w.rng.IntN(2) == 1 {
		method, ch = "wechat_native", "wechat"
	}
	var o object
	err := w.measure(ctx, OpChannel, func() (err error) {
		if o, err = w.createOrder(ctx); err != nil {
			return err
		}
		w.c.body = jsonBody(w.c.body, "method", method)
		if err := w.c.call(ctx, "POST", "/v1/orders/"+o.ID+"/pay", w.c.body, nil); err != nil {
			return err
		}
		if err := w.c.control(ctx, "/"+ch+"/sandbox/pay", url.Values{"out_trade_no": {o.OrderNo}}); err != nil {
			return err
		}
		return w.await(ctx, o.ID, "paid")
	})
	w.observe(OpChannel, o.ID, w.r.buyers[w.buyer], err)
	if err == nil {
		w.r.paid.put(o.ID)
	}
}

// topup tops the client's buyer up by 10 yuan through the Alipay sandbox.
func (w *worker) topup(ctx context.Context) {
	var o object
	err := w.measure(ctx, OpTopup, func() error {
		w.c.body = jsonBody(w.c.body, "user_id", w.r.buyers[w.buyer], "amount", 1000, "method", "alipay_qr")
		if err := w.c.call(ctx, "POST", "/v1/topups", w.c.body, &o); err != nil {
			return err
		}
		if err := w.c.control(ctx, "/alipay/sandbox/pay", url.Values{"out_trade_no": {o.OrderNo}}); err != nil {
			return err
		}
		return w.await(ctx, o.ID, "completed")
	})
	w.observe(OpTopup, o.ID, w.r.buyers[w.buyer], err)
}

// withdraw takes the smallest withdrawal from the sellers in turn: each
// may withdraw only a few times a day, so a long run meets the limit and
// counts rate_limited refusals.
func (w *worker) withdraw(ctx context.Context) {
	seller := w.r.sellers[int(w.r.nextSeller.Add(1)-1)%len(w.r.sellers)]
	var o object
	err := w.measure(ctx, OpWithdraw, func() error {
		w.c.body = jsonBody(w.c.body, "user_id", seller, "amount", withdrawal, "account", "seller@example.com",
			"name", "Load Test", "payment_password", pin)
		return w.c.call(ctx, "POST", "/v1/withdrawals", w.c.body, &o)
	})
	w.observe(OpWithdraw, o.ID, seller, err)
}

// await reads the order until it has the wanted status. Past awaitLimit it
// asks Bursar to query the channel once, as Bursar itself would later, and
// gives up if that does not settle it.
func (w *worker) await(ctx context.Context, id, want string) error {
	path := "/v1/orders/" + id
	deadline := time.Now().Add(awaitLimit)
	pause := time.Millisecond
	for {
		var o object
		if err := w.c.call(ctx, "GET", path, nil, &o); err != nil {
			return err
		}
		switch {
		case o.Status == want:
			return nil
		case o.Status != "pending":
			return &apiError{code: "order_" + o.Status, msg: fmt.Sprintf("order %s is %s, not %s", id, o.Status, want)}
		case time.Now().After(deadline):
			if err := w.c.call(ctx, "POST", path+"/sync", nil, &o); err != nil {
				return err
			}
			if o.Status == want {
				return nil
			}
			return &apiError{code: "timeout", msg: fmt.Sprintf("order %s still %s %s after the buyer paid", id, o.Status, awaitLimit)}
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		// Short at first, since the notification usually lands within
		// milliseconds; longer later, so a slow one is not polled hard.
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// verify asks the server to check every ledger invariant.
func (r *runner) verify(ctx context.Context) (LedgerVerification, error) {
	var v LedgerVerification
	err := newConn(r.http, r.base, r.cfg.Key).call(ctx, "GET", "/v1/ledger/verification", nil, &v)
	return v, err
}
