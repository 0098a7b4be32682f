package wechat_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// paid places and pays an order of total fen, draining its payment
// notification from rcv.
func (b *bundle) paid(t *testing.T, rcv *receiver, total bursar.Amount) string {
	t.Helper()
	no := b.payNative(t, rcv, total)
	b.mustControl(t, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
	if d := rcv.next(t); d.err != nil || d.n.Kind != channel.NotifyPayment {
		t.Fatalf("payment notification = %+v, %v", d.n, d.err)
	}
	return no
}

// settled waits until the refund leaves processing.
func (b *bundle) settled(t *testing.T, orderNo, refundNo string) channel.Refund {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := b.ch.QueryRefund(t.Context(), orderNo, refundNo)
		if err != nil {
			t.Fatalf("QueryRefund(%s) error = %v", refundNo, err)
		}
		if r.Status != channel.RefundProcessing || time.Now().After(deadline) {
			return r
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRefund(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t, b.ch)
	no := b.paid(t, rcv, 1000)
	refund := func(refundNo string, amount bursar.Amount) (channel.Refund, error) {
		return b.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: no, RefundNo: refundNo, Amount: cny(amount),
			Total: cny(1000), Reason: "不想要了"})
	}

	// A partial refund: processing, then succeeded with a notification.
	r1, err := refund("R1-"+no, 300)
	if err != nil {
		t.Fatalf("Refund() error = %v", err)
	}
	if r1.Status != channel.RefundProcessing || r1.Amount != cny(300) || r1.ChannelRef == "" || r1.OrderNo != no {
		t.Errorf("Refund() = %+v, want processing 3.00 with WeChat's refund id", r1)
	}
	d := rcv.next(t)
	if d.err != nil {
		t.Fatalf("refund notification: %v", d.err)
	}
	if n := d.n; n.Kind != channel.NotifyRefund || n.Event != "REFUND.SUCCESS" || n.Refund.RefundNo != "R1-"+no ||
		n.Refund.OrderNo != no || n.Refund.Status != channel.RefundSucceeded || n.Refund.Amount != cny(300) ||
		n.Refund.ChannelRef != r1.ChannelRef || n.Refund.At.IsZero() {
		t.Errorf("notification = %+v, want REFUND.SUCCESS of R1 for 3.00", n)
	}
	if got := b.settled(t, no, "R1-"+no); got.Status != channel.RefundSucceeded || got.At.IsZero() {
		t.Errorf("QueryRefund() = %+v, want succeeded", got)
	}

	// A replay never refunds twice: the same refund comes back.
	again, err := refund("R1-"+no, 300)
	if err != nil || again.ChannelRef != r1.ChannelRef || again.Status != channel.RefundSucceeded {
		t.Errorf("Refund() replayed = %+v, %v; want refund %s, succeeded", again, err, r1.ChannelRef)
	}
	if _, err := refund("R1-"+no, 400); bursar.ErrorCode(err) != bursar.ChannelFailed {
		t.Errorf("Refund() replayed with another amount: error = %v, want channel_failed", err)
	}

	// More than is left is refused; exactly what is left is not.
	if _, err := refund("R2-"+no, 701); bursar.ErrorCode(err) != bursar.ChannelFailed ||
		!strings.Contains(bursar.ErrorMessage(err), "INVALID_REQUEST") {
		t.Errorf("over-refund: error = %v, want channel_failed INVALID_REQUEST", err)
	}
	if _, err := refund("R3-"+no, 700); err != nil {
		t.Fatalf("refund of the rest: %v", err)
	}
	if d := rcv.next(t); d.err != nil || d.n.Refund.RefundNo != "R3-"+no || d.n.Refund.Status != channel.RefundSucceeded {
		t.Errorf("notification = %+v, %v; want R3 succeeded", d.n, d.err)
	}
	if _, err := refund("R4-"+no, 1); bursar.ErrorCode(err) != bursar.ChannelFailed {
		t.Errorf("refund after a full refund: error = %v, want channel_failed", err)
	}
	tr, err := b.ch.Query(t.Context(), no)
	if err != nil || tr.Status != channel.TradePaid {
		t.Errorf("Query() after refunds = %+v, %v; want paid (WeChat's REFUND)", tr, err)
	}

	t.Run("queries", func(t *testing.T) {
		if _, err := b.ch.QueryRefund(t.Context(), no, "NO-SUCH-REFUND"); bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("QueryRefund(unknown) error = %v, want not_found", err)
		}
		if _, err := b.ch.QueryRefund(t.Context(), "ANOTHER-ORDER", "R1-"+no); bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("QueryRefund(another order's refund) error = %v, want not_found", err)
		}
	})
}

func TestRefundRefused(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t, b.ch)

	t.Run("closed by WeChat", func(t *testing.T) {
		no := b.paid(t, rcv, 500)
		b.mustControl(t, "/wechat/sandbox/next-refund", url.Values{"status": {"CLOSED"}})
		if _, err := b.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: no, RefundNo: "RC-" + no,
			Amount: cny(500), Total: cny(500)}); err != nil {
			t.Fatal(err)
		}
		d := rcv.next(t)
		if d.err != nil || d.n.Event != "REFUND.CLOSED" || d.n.Refund.Status != channel.RefundFailed {
			t.Errorf("notification = %+v, %v; want REFUND.CLOSED, failed", d.n, d.err)
		}
		if r := b.settled(t, no, "RC-"+no); r.Status != channel.RefundFailed {
			t.Errorf("QueryRefund() = %+v, want failed", r)
		}
	})
	t.Run("abnormal stays processing", func(t *testing.T) {
		no := b.paid(t, rcv, 500)
		b.mustControl(t, "/wechat/sandbox/next-refund", url.Values{"status": {"ABNORMAL"}})
		if _, err := b.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: no, RefundNo: "RA-" + no,
			Amount: cny(100), Total: cny(500)}); err != nil {
			t.Fatal(err)
		}
		d := rcv.next(t)
		if d.err != nil || d.n.Event != "REFUND.ABNORMAL" || d.n.Refund.Status != channel.RefundProcessing {
			t.Errorf("notification = %+v, %v; want REFUND.ABNORMAL, processing", d.n, d.err)
		}
	})
	t.Run("checked before WeChat", func(t *testing.T) {
		for _, r := range []channel.RefundRequest{
			{OrderNo: "O", RefundNo: "R", Amount: cny(0), Total: cny(5)},
			{OrderNo: "O", RefundNo: "R", Amount: cny(6), Total: cny(5)},
			{OrderNo: "O", RefundNo: "R", Amount: bursar.Money{Amount: 1, Currency: "USD"}, Total: cny(5)},
			{OrderNo: "O", Amount: cny(1), Total: cny(5)},
		} {
			if _, err := b.ch.Refund(t.Context(), r); bursar.ErrorCode(err) != bursar.Invalid {
				t.Errorf("Refund(%+v) error = %v, want invalid", r, err)
			}
		}
	})
	t.Run("an unpaid order", func(t *testing.T) {
		no := b.payNative(t, rcv, 500)
		_, err := b.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: no, RefundNo: "RU-" + no, Amount: cny(1), Total: cny(500)})
		if bursar.ErrorCode(err) != bursar.ChannelFailed {
			t.Errorf("Refund() error = %v, want channel_failed", err)
		}
	})
	t.Run("a wrong total", func(t *testing.T) {
		no := b.paid(t, rcv, 500)
		_, err := b.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: no, RefundNo: "RT-" + no, Amount: cny(1), Total: cny(600)})
		if bursar.ErrorCode(err) != bursar.ChannelFailed {
			t.Errorf("Refund() error = %v, want channel_failed", err)
		}
	})
	t.Run("an unknown order", func(t *testing.T) {
		_, err := b.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: "NEVER-PLACED", RefundNo: "RX", Amount: cny(1), Total: cny(5)})
		if bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("Refund() error = %v, want not_found", err)
		}
	})
}
