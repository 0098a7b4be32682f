package wechat_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
)

func TestPayEachMethod(t *testing.T) {
	b := setup(t)
	merchantKey := files.Gateway.MerchantKey
	tests := []struct {
		method channel.Method
		req    func(*channel.PayRequest)
		check  func(t *testing.T, p channel.Payment)
	}{
		{channel.WeChatNative, nil, func(t *testing.T, p channel.Payment) {
			if !strings.HasPrefix(p.URL, b.srv.URL+"/wechat/cashier?prepay_id=wx") {
				t.Errorf("URL = %q, want the sandbox cashier", p.URL)
			}
		}},
		{channel.WeChatH5, func(r *channel.PayRequest) { r.ClientIP = "203.0.113.7" }, func(t *testing.T, p channel.Payment) {
			if !strings.HasPrefix(p.URL, b.srv.URL+"/wechat/cashier?prepay_id=wx") {
				t.Errorf("URL = %q, want the sandbox cashier", p.URL)
			}
		}},
		{channel.WeChatJSAPI, func(r *channel.PayRequest) { r.OpenID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" }, func(t *testing.T, p channel.Payment) {
			m := p.Params
			if m["appId"] != b.cfg.AppID || m["signType"] != "RSA" || !strings.HasPrefix(m["package"], "prepay_id=wx") ||
				m["timeStamp"] == "" || m["nonceStr"] == "" {
				t.Fatalf("Params = %v", m)
			}
			verifySHA256RSA(t, merchantKey, m["appId"]+"\n"+m["timeStamp"]+"\n"+m["nonceStr"]+"\n"+m["package"]+"\n", m["paySign"])
		}},
		{channel.WeChatApp, nil, func(t *testing.T, p channel.Payment) {
			m := p.Params
			if m["appid"] != b.cfg.AppID || m["partnerid"] != b.cfg.MchID || m["package"] != "Sign=WXPay" ||
				!strings.HasPrefix(m["prepayid"], "wx") || m["timestamp"] == "" || m["noncestr"] == "" {
				t.Fatalf("Params = %v", m)
			}
			verifySHA256RSA(t, merchantKey, m["appid"]+"\n"+m["timestamp"]+"\n"+m["noncestr"]+"\n"+m["prepayid"]+"\n", m["sign"])
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.method), func(t *testing.T) {
			req := channel.PayRequest{OrderNo: newNo("PAY"), Amount: cny(1990), Subject: "24 h chat, 19.90",
				Method: tt.method, ExpiresAt: time.Now().Add(time.Hour), NotifyURL: "https://bursar.example/v1/notify/wechat"}
			if tt.req != nil {
				tt.req(&req)
			}
			p, err := b.ch.Pay(t.Context(), req)
			if err != nil {
				t.Fatalf("Pay() error = %v", err)
			}
			if p.Method != tt.method {
				t.Errorf("Method = %q, want %q", p.Method, tt.method)
			}
			tt.check(t, p)

			// The same order again is the same payment.
			again, err := b.ch.Pay(t.Context(), req)
			if err != nil {
				t.Fatalf("Pay() again error = %v", err)
			}
			if again.URL != p.URL || again.Params["package"] != p.Params["package"] || again.Params["prepayid"] != p.Params["prepayid"] {
				t.Errorf("Pay() again = %+v, want the same payment as %+v", again, p)
			}

			tr, err := b.ch.Query(t.Context(), req.OrderNo)
			if err != nil {
				t.Fatalf("Query() error = %v", err)
			}
			if tr.Status != channel.TradePending || tr.Amount != req.Amount || tr.OrderNo != req.OrderNo || tr.TradeNo != "" {
				t.Errorf("Query() = %+v, want pending %s", tr, req.Amount)
			}
		})
	}
}

func TestPayRefused(t *testing.T) {
	b := setup(t)
	ok := channel.PayRequest{OrderNo: newNo("BAD"), Amount: cny(100), Subject: "x", Method: channel.WeChatNative,
		NotifyURL: "https://bursar.example/v1/notify/wechat"}
	tests := []struct {
		name   string
		change func(*channel.PayRequest)
		want   bursar.Code
	}{
		{"another currency", func(r *channel.PayRequest) { r.Amount.Currency = "USD" }, bursar.Invalid},
		{"a zero amount", func(r *channel.PayRequest) { r.Amount.Amount = 0 }, bursar.Invalid},
		{"an Alipay method", func(r *channel.PayRequest) { r.Method = channel.AlipayQR }, bursar.Invalid},
		{"JSAPI without openid", func(r *channel.PayRequest) { r.Method = channel.WeChatJSAPI }, bursar.Invalid},
		{"H5 without the client IP", func(r *channel.PayRequest) { r.Method = channel.WeChatH5 }, bursar.Invalid},
		{"no notify URL", func(r *channel.PayRequest) { r.NotifyURL = "" }, bursar.Invalid},
		// Checked by the gateway, as WeChat does.
		{"an order number under 6 characters", func(r *channel.PayRequest) { r.OrderNo = "T1" }, bursar.ChannelFailed},
		{"a notify URL with a query", func(r *channel.PayRequest) { r.NotifyURL += "?a=1" }, bursar.ChannelFailed},
		{"an expiry in the past", func(r *channel.PayRequest) { r.ExpiresAt = time.Now().Add(-time.Minute) }, bursar.ChannelFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ok
			req.OrderNo = newNo("BAD")
			tt.change(&req)
			_, err := b.ch.Pay(t.Context(), req)
			if got := bursar.ErrorCode(err); got != tt.want {
				t.Errorf("Pay() error = %v, want code %s", err, tt.want)
			}
		})
	}

	t.Run("the same order number with another amount", func(t *testing.T) {
		req := ok
		if _, err := b.ch.Pay(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		req.Amount = cny(101)
		_, err := b.ch.Pay(t.Context(), req)
		if bursar.ErrorCode(err) != bursar.ChannelFailed || !strings.Contains(bursar.ErrorMessage(err), "INVALID_REQUEST") {
			t.Errorf("Pay() error = %v, want channel_failed INVALID_REQUEST", err)
		}
	})
}

func TestQueryAfterThePayerPays(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t, b.ch)
	no := b.payNative(t, rcv, 8888)
	b.mustControl(t, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}, "openid": {"oBuyer0001"}})

	tr, err := b.ch.Query(t.Context(), no)
	if err != nil {
		t.Fatalf("Query() error = %v", err)
	}
	if tr.Status != channel.TradePaid || tr.Amount != cny(8888) || tr.Payer != "oBuyer0001" || len(tr.TradeNo) != 28 ||
		tr.PaidAt.IsZero() || time.Since(tr.PaidAt) > time.Minute {
		t.Errorf("Query() = %+v, want paid 88.88 by oBuyer0001 with a 28-digit transaction id", tr)
	}
	if _, offset := tr.PaidAt.Zone(); offset != 8*3600 {
		t.Errorf("PaidAt = %v, want Beijing time as WeChat sends it", tr.PaidAt)
	}
	if d := rcv.next(t); d.err != nil || d.n.Trade.TradeNo != tr.TradeNo {
		t.Errorf("notification = %+v, %v; want the payment %s", d.n, d.err, tr.TradeNo)
	}

	t.Run("paying twice is refused", func(t *testing.T) {
		if status, body := b.control(t, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}}); status != http.StatusConflict {
			t.Errorf("pay again = %d %s, want 409", status, body)
		}
	})
	t.Run("an unknown order is not found", func(t *testing.T) {
		_, err := b.ch.Query(t.Context(), "NEVER-PLACED")
		if bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("Query() error = %v, want not_found", err)
		}
	})
}

func TestClose(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t, b.ch)

	t.Run("an unpaid order", func(t *testing.T) {
		no := b.payNative(t, rcv, 100)
		if err := b.ch.Close(t.Context(), no); err != nil {
			t.Fatalf("Close() error = %v", err)
		}
		if err := b.ch.Close(t.Context(), no); err != nil {
			t.Errorf("Close() again error = %v", err)
		}
		tr, err := b.ch.Query(t.Context(), no)
		if err != nil || tr.Status != channel.TradeClosed {
			t.Errorf("Query() = %+v, %v; want closed", tr, err)
		}
		if status, _ := b.control(t, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}}); status != http.StatusConflict {
			t.Errorf("paying a closed order = %d, want 409", status)
		}
	})
	t.Run("a paid order", func(t *testing.T) {
		no := b.payNative(t, rcv, 100)
		b.mustControl(t, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
		if err := b.ch.Close(t.Context(), no); bursar.ErrorCode(err) != bursar.WrongState {
			t.Errorf("Close() error = %v, want wrong_state", err)
		}
	})
	t.Run("an order WeChat never saw", func(t *testing.T) {
		if err := b.ch.Close(t.Context(), "NEVER-PLACED"); err != nil {
			t.Errorf("Close() error = %v, want nil", err)
		}
	})
}

func TestErrors(t *testing.T) {
	b := setup(t)
	tests := []struct {
		status int
		code   string
		want   bursar.Code
	}{
		{500, "SYSTEM_ERROR", bursar.Unavailable},
		{503, "SYSTEM_ERROR", bursar.Unavailable},
		{429, "FREQUENCY_LIMITED", bursar.Unavailable},
		{403, "NO_AUTH", bursar.ChannelFailed},
		{400, "PARAM_ERROR", bursar.ChannelFailed},
		{404, "ORDER_NOT_EXIST", bursar.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			b.mustControl(t, "/wechat/sandbox/next-error", url.Values{"status": {strconv.Itoa(tt.status)}, "code": {tt.code}, "message": {"测试"}})
			_, err := b.ch.Query(t.Context(), "ANY-ORDER")
			if got := bursar.ErrorCode(err); got != tt.want {
				t.Errorf("Query() error = %v, want %s", err, tt.want)
			}
			if tt.want == bursar.ChannelFailed && !strings.Contains(bursar.ErrorMessage(err), tt.code) {
				t.Errorf("message %q does not carry WeChat's code %s", bursar.ErrorMessage(err), tt.code)
			}
		})
	}

	t.Run("an answer signed with another key", func(t *testing.T) {
		wrong := setup(t, func(c *wechatsandbox.Config) { c.PublicKey = files.Gateway.PlatformKey })
		_, err := wrong.ch.Pay(t.Context(), channel.PayRequest{OrderNo: newNo("SIG"), Amount: cny(1), Subject: "x",
			Method: channel.WeChatNative, NotifyURL: "https://bursar.example/n"})
		if bursar.ErrorCode(err) != bursar.Unavailable {
			t.Errorf("Pay() error = %v, want unavailable (the answer did not verify)", err)
		}
	})
	t.Run("no gateway", func(t *testing.T) {
		srv := setup(t)
		srv.srv.Close()
		_, err := srv.ch.Query(t.Context(), "ANY-ORDER")
		if bursar.ErrorCode(err) != bursar.Unavailable {
			t.Errorf("Query() error = %v, want unavailable", err)
		}
	})
}

func TestTransferIsRefused(t *testing.T) {
	b := setup(t)
	_, err := b.ch.Transfer(t.Context(), channel.TransferRequest{TransferNo: "W1", Amount: cny(100), Account: "a", Name: "n"})
	if bursar.ErrorCode(err) != bursar.ChannelFailed {
		t.Errorf("Transfer() error = %v, want channel_failed", err)
	}
	if _, err := b.ch.QueryTransfer(t.Context(), "W1"); bursar.ErrorCode(err) != bursar.ChannelFailed {
		t.Errorf("QueryTransfer() error = %v, want channel_failed", err)
	}
}
