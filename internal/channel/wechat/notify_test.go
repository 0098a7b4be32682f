package wechat_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
)

func TestNotificationIsRetriedUntilTaken(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t, b.ch)
	rcv.fail = func(n int) bool { return n <= 2 } // the merchant is down twice
	no := b.payNative(t, rcv, 1990)
	b.mustControl(t, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}, "openid": {"oBuyer"}})

	first, second, third := rcv.next(t), rcv.next(t), rcv.next(t)
	if first.status != http.StatusServiceUnavailable || second.status != http.StatusServiceUnavailable {
		t.Fatalf("first answers = %d, %d; want the receiver's 503s", first.status, second.status)
	}
	if third.err != nil || third.status != http.StatusNoContent {
		t.Fatalf("third delivery: ParseNotification() error = %v, answered %d; want taken with 204", third.err, third.status)
	}
	if !bytes.Equal(first.in.Body, third.in.Body) || !bytes.Equal(second.in.Body, third.in.Body) {
		t.Error("retries sent a different body")
	}
	if http.Header(first.in.Header).Get("Wechatpay-Nonce") == http.Header(third.in.Header).Get("Wechatpay-Nonce") {
		t.Error("retries reused the signature nonce; each delivery is signed anew")
	}
	n := third.n
	if n.Kind != channel.NotifyPayment || n.Event != "TRANSACTION.SUCCESS" || !strings.HasPrefix(n.ID, "EV-") {
		t.Errorf("notification = %+v, want a TRANSACTION.SUCCESS payment", n)
	}
	var env struct{ ID string }
	if err := json.Unmarshal(first.in.Body, &env); err != nil || env.ID != n.ID {
		t.Errorf("first delivery's id = %q, want %q on every retry", env.ID, n.ID)
	}
	tr := n.Trade
	if tr.OrderNo != no || tr.Status != channel.TradePaid || tr.Amount != cny(1990) || tr.Payer != "oBuyer" || tr.TradeNo == "" {
		t.Errorf("Trade = %+v, want order %s paid 19.90 by oBuyer", tr, no)
	}
	rcv.quiet(t, 200*time.Millisecond)

	// What the service does with a duplicate: the same event again.
	again, err := b.ch.ParseNotification(t.Context(), third.in)
	if err != nil || again.ID != n.ID || again.Trade != n.Trade {
		t.Errorf("ParseNotification() of the same delivery = %+v, %v; want the same event", again, err)
	}
}

func TestNotificationRejected(t *testing.T) {
	b := setup(t)

	// capture pays an order of g's merchant notifying a receiver that
	// parses with ch, and returns the first delivery.
	capture := func(t *testing.T, g *bundle, before func()) delivery {
		t.Helper()
		rcv := newReceiver(t, b.ch)
		no := g.payNative(t, rcv, 500)
		if before != nil {
			before()
		}
		g.mustControl(t, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
		return rcv.next(t)
	}
	wantInvalid := func(t *testing.T, d delivery, why string) {
		t.Helper()
		if !d.parsed {
			t.Fatal("the receiver did not parse the delivery")
		}
		if bursar.ErrorCode(d.err) != bursar.Invalid {
			t.Errorf("ParseNotification() error = %v, want invalid (%s)", d.err, why)
		}
		t.Logf("rejected: %v", d.err)
		if d.status != http.StatusInternalServerError {
			t.Errorf("answered %d, want 500 so that WeChat sends it again", d.status)
		}
	}

	good := capture(t, b, nil)
	if good.err != nil {
		t.Fatalf("a genuine notification: %v", good.err)
	}
	tampered := func(change func(channel.Inbound) channel.Inbound) channel.Inbound {
		in := channel.Inbound{Header: http.Header(good.in.Header).Clone(), Body: bytes.Clone(good.in.Body)}
		return change(in)
	}
	tests := []struct {
		name string
		in   channel.Inbound
	}{
		{"a changed body", tampered(func(in channel.Inbound) channel.Inbound {
			in.Body = bytes.Replace(in.Body, []byte(`"支付成功"`), []byte(`"支付成功 "`), 1)
			return in
		})},
		{"a changed ciphertext", tampered(func(in channel.Inbound) channel.Inbound {
			var m map[string]any
			_ = json.Unmarshal(in.Body, &m)
			res := m["resource"].(map[string]any)
			ct := res["ciphertext"].(string)
			res["ciphertext"] = "A" + ct[1:]
			in.Body, _ = json.Marshal(m)
			return in
		})},
		{"a changed timestamp", tampered(func(in channel.Inbound) channel.Inbound {
			http.Header(in.Header).Set("Wechatpay-Timestamp", "1")
			return in
		})},
		{"another key's serial", tampered(func(in channel.Inbound) channel.Inbound {
			http.Header(in.Header).Set("Wechatpay-Serial", "PUB_KEY_ID_0000000000000000000000000000000001")
			return in
		})},
		{"no signature", tampered(func(in channel.Inbound) channel.Inbound {
			http.Header(in.Header).Del("Wechatpay-Signature")
			return in
		})},
		{"an empty body", channel.Inbound{Header: good.in.Header}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.ch.ParseNotification(t.Context(), tt.in)
			if bursar.ErrorCode(err) != bursar.Invalid {
				t.Errorf("ParseNotification() error = %v, want invalid", err)
			}
			t.Logf("rejected: %v", err)
		})
	}

	t.Run("ten minutes old", func(t *testing.T) {
		g := setup(t)
		d := capture(t, g, func() { g.clock.Set(-10 * time.Minute) })
		wantInvalid(t, d, "the timestamp is outside the 5-minute window")
	})
	t.Run("signed with another key", func(t *testing.T) {
		// The merchant's own key: the classic mix-up of the two key pairs.
		g := setup(t, func(c *wechatsandbox.Config) { c.PublicKey = files.Gateway.PlatformKey })
		rcv := newReceiver(t, b.ch)
		no := newNo("KEY")
		// The gateway's answer does not verify, but the order is placed.
		_, _ = g.ch.Pay(t.Context(), channel.PayRequest{OrderNo: no, Amount: cny(500), Subject: "x",
			Method: channel.WeChatNative, NotifyURL: rcv.url()})
		g.mustControl(t, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
		wantInvalid(t, rcv.next(t), "the signature is not WeChat Pay's")
	})
	t.Run("encrypted with another APIv3 key", func(t *testing.T) {
		g := setup(t, func(c *wechatsandbox.Config) { c.APIv3Key = strings.Repeat("k", 32) })
		wantInvalid(t, capture(t, g, nil), "the resource does not decrypt")
	})
	t.Run("for another merchant", func(t *testing.T) {
		g := setup(t, func(c *wechatsandbox.Config) { c.MchID = "1900000999" })
		cfg := g.cfg
		cfg.MchID = "1900000999"
		g.ch = g.adapter(t, cfg)
		wantInvalid(t, capture(t, g, nil), "the mchid is not ours")
	})
	t.Run("a signature probe", func(t *testing.T) {
		rcv := newReceiver(t, b.ch)
		var res struct {
			Status   int
			Rejected bool
		}
		body := b.mustControl(t, "/wechat/sandbox/probe", url.Values{"notify_url": {rcv.url()}})
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatal(err)
		}
		d := rcv.next(t)
		if !strings.HasPrefix(http.Header(d.in.Header).Get("Wechatpay-Signature"), "WECHATPAY/SIGNTEST/") {
			t.Fatalf("the probe's signature is %q", http.Header(d.in.Header).Get("Wechatpay-Signature"))
		}
		wantInvalid(t, d, "a probe must be rejected")
		if !res.Rejected || res.Status != http.StatusInternalServerError {
			t.Errorf("probe control = %s, want rejected with 500", body)
		}
	})
}

func TestAnswer(t *testing.T) {
	b := setup(t)
	if a := b.ch.Answer(nil); a.Status != http.StatusNoContent || len(a.Body) != 0 {
		t.Errorf("Answer(nil) = %+v, want 204 with no body", a)
	}
	a := b.ch.Answer(bursar.Errorf(bursar.Invalid, "no"))
	if a.Status != http.StatusInternalServerError || string(a.Body) != `{"code":"FAIL","message":"失败"}` ||
		!strings.HasPrefix(a.ContentType, "application/json") {
		t.Errorf("Answer(err) = %d %s %s, want 500 with WeChat's FAIL body", a.Status, a.ContentType, a.Body)
	}
}

// FuzzParseNotification feeds changed notifications to the parser: it must
// never panic, must reject with bursar.Invalid only, and must accept
// nothing but the genuine body.
func FuzzParseNotification(f *testing.F) {
	b := setup(f)
	rcv := newReceiver(f, b.ch)
	no := b.payNative(f, rcv, 1990)
	b.mustControl(f, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
	good := rcv.next(f)
	if good.err != nil {
		f.Fatalf("the genuine notification: %v", good.err)
	}
	header, sig0 := http.Header(good.in.Header), http.Header(good.in.Header).Get("Wechatpay-Signature")
	f.Add(good.in.Body, sig0)
	f.Add([]byte(`{"resource":null}`), "")
	f.Add([]byte(`{"resource":{}}`), sig0)
	f.Add(bytes.Replace(good.in.Body, []byte("TRANSACTION.SUCCESS"), []byte("REFUND.SUCCESS"), 1), sig0)
	f.Add([]byte(`not json`), "WECHATPAY/SIGNTEST/abc")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := header.Clone()
		h.Set("Wechatpay-Signature", sig)
		n, err := b.ch.ParseNotification(t.Context(), channel.Inbound{Header: h, Body: body})
		if err != nil {
			if bursar.ErrorCode(err) != bursar.Invalid {
				t.Fatalf("ParseNotification() error = %v, want code invalid", err)
			}
			return
		}
		if !bytes.Equal(body, good.in.Body) || sig != sig0 {
			t.Fatalf("ParseNotification() accepted a body it was not sent: %q", body)
		}
		if n.Kind != channel.NotifyPayment {
			t.Fatalf("ParseNotification() = %+v, want the payment", n)
		}
	})
}
