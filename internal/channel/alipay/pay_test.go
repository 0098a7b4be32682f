package alipay_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/alipay"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

// Amounts that floats get wrong and subjects that naive encodings break.
var payCases = []struct {
	method  channel.Method
	amount  bursar.Amount
	subject string
}{
	{channel.AlipayPage, 1990, "Course: Go + SQL / lesson=1"},
	{channel.AlipayWap, 980, "一对一咨询 24h (专家) a+b=c"},
	{channel.AlipayApp, 167, "Album  two spaces + 专辑/第1期"},
	{channel.AlipayQR, 1, "充值 0.01 元 & <test>"},
}

func TestPayOpenPayQuery(t *testing.T) {
	b := setup(t)
	for _, m := range b.modes() {
		for i, tc := range payCases {
			t.Run(fmt.Sprintf("%s %s %s", m.name, tc.method, tc.amount.Yuan()), func(t *testing.T) {
				r := newReceiver(t, m.ch)
				orderNo := fmt.Sprintf("PAY%d-%s", i, m.appID[len(m.appID)-1:])
				p, err := m.ch.Pay(t.Context(), channel.PayRequest{OrderNo: orderNo, Amount: cny(tc.amount),
					Subject: tc.subject, Method: tc.method, ExpiresAt: time.Now().Add(time.Hour),
					NotifyURL: r.url, ReturnURL: "https://shop.example/return"})
				if err != nil {
					t.Fatalf("Pay: %v", err)
				}
				if p.Method != tc.method || (p.URL == "") == (p.OrderString == "") {
					t.Fatalf("Pay = %+v: want exactly one of URL and OrderString", p)
				}
				// The trade exists at Alipay only once the cashier opens (page,
				// wap and app payments were not even sent; a QR code is not yet scanned).
				_, err = m.ch.Query(t.Context(), orderNo)
				wantCode(t, "Query before the cashier opened", err, bursar.NotFound)
				page := b.open(t, p)
				if !strings.Contains(page, tc.amount.Yuan()) {
					t.Errorf("the cashier does not show the amount %s", tc.amount.Yuan())
				}
				got, err := m.ch.Query(t.Context(), orderNo)
				if err != nil {
					t.Fatalf("Query: %v", err)
				}
				if got.Status != channel.TradePending || got.Amount != cny(tc.amount) || got.TradeNo == "" {
					t.Fatalf("Query before paying = %+v, want pending %s", got, tc.amount.Yuan())
				}
				b.payControl(t, m.appID, orderNo)
				got, err = m.ch.Query(t.Context(), orderNo)
				if err != nil {
					t.Fatalf("Query: %v", err)
				}
				if got.Status != channel.TradePaid || got.Amount != cny(tc.amount) || got.PaidAt.IsZero() ||
					!strings.HasPrefix(got.Payer, "2088") {
					t.Fatalf("Query after paying = %+v", got)
				}
				n := r.ok(t)
				if n.Kind != channel.NotifyPayment || n.Event != "TRADE_SUCCESS" || n.Trade.OrderNo != orderNo ||
					n.Trade.Amount != cny(tc.amount) || n.Trade.Status != channel.TradePaid || n.Trade.TradeNo != got.TradeNo {
					t.Fatalf("notification = %+v", n)
				}
				if n.ID == "" {
					t.Error("the notification has no notify_id")
				}
			})
		}
	}
}

func TestPayAgainGivesTheSameQRCode(t *testing.T) {
	b := setup(t)
	req := channel.PayRequest{OrderNo: "QR-AGAIN", Amount: cny(1990), Subject: "QR", Method: channel.AlipayQR}
	p1, err := b.cert.Pay(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := b.cert.Pay(t.Context(), req)
	if err != nil || p2.URL != p1.URL {
		t.Fatalf("Pay again = %+v, %v; want %s", p2, err, p1.URL)
	}
	req.Amount = cny(2000)
	_, err = b.cert.Pay(t.Context(), req)
	wantCode(t, "Pay with another amount", err, bursar.ChannelFailed)
}

func TestPayRefusesBadRequests(t *testing.T) {
	b := setup(t)
	good := channel.PayRequest{OrderNo: "BAD-1", Amount: cny(100), Subject: "x", Method: channel.AlipayQR}
	tests := []struct {
		name   string
		change func(*channel.PayRequest)
	}{
		{"an order number with a space", func(r *channel.PayRequest) { r.OrderNo = "BAD 1" }},
		{"an order number of 33 characters", func(r *channel.PayRequest) { r.OrderNo = strings.Repeat("A", 33) }},
		{"a zero amount", func(r *channel.PayRequest) { r.Amount = cny(0) }},
		{"another currency", func(r *channel.PayRequest) { r.Amount = bursar.Money{Amount: 100, Currency: "USD"} }},
		{"no subject", func(r *channel.PayRequest) { r.Subject = "" }},
		{"a notify URL with a query", func(r *channel.PayRequest) { r.NotifyURL = "https://shop.example/notify?x=1" }},
		{"a WeChat method", func(r *channel.PayRequest) { r.Method = channel.WeChatNative }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := good
			tt.change(&req)
			_, err := b.cert.Pay(t.Context(), req)
			wantCode(t, "Pay", err, bursar.Invalid)
		})
	}
}

func TestClose(t *testing.T) {
	b := setup(t)
	for _, m := range b.modes() {
		t.Run(m.name, func(t *testing.T) {
			no := "CLOSE-" + m.appID[len(m.appID)-1:]
			p, err := m.ch.Pay(t.Context(), channel.PayRequest{OrderNo: no + "U", Amount: cny(980), Subject: "unpaid", Method: channel.AlipayQR})
			if err != nil {
				t.Fatal(err)
			}
			b.open(t, p)
			if err := m.ch.Close(t.Context(), no+"U"); err != nil {
				t.Fatalf("Close of an unpaid trade: %v", err)
			}
			if err := m.ch.Close(t.Context(), no+"U"); err != nil {
				t.Fatalf("Close again: %v", err)
			}
			got, err := m.ch.Query(t.Context(), no+"U")
			if err != nil || got.Status != channel.TradeClosed {
				t.Fatalf("Query after Close = %+v, %v; want closed", got, err)
			}
			resp := b.control(t, "/alipay/sandbox/pay", map[string]string{"app_id": m.appID, "out_trade_no": no + "U"}, http.StatusConflict)
			if resp["error"] == nil {
				t.Errorf("paying a closed trade answered %v", resp)
			}

			p, err = m.ch.Pay(t.Context(), channel.PayRequest{OrderNo: no + "P", Amount: cny(980), Subject: "paid", Method: channel.AlipayPage})
			if err != nil {
				t.Fatal(err)
			}
			b.open(t, p)
			b.payControl(t, m.appID, no+"P")
			wantCode(t, "Close of a paid trade", m.ch.Close(t.Context(), no+"P"), bursar.WrongState)

			if err := m.ch.Close(t.Context(), no+"X"); err != nil {
				t.Fatalf("Close of a trade Alipay never saw: %v", err)
			}
			// A page payment nobody opened does not exist at Alipay either.
			if _, err := m.ch.Pay(t.Context(), channel.PayRequest{OrderNo: no + "N", Amount: cny(1), Subject: "never opened", Method: channel.AlipayWap}); err != nil {
				t.Fatal(err)
			}
			if err := m.ch.Close(t.Context(), no+"N"); err != nil {
				t.Fatalf("Close of a wap trade never opened: %v", err)
			}
		})
	}
}

func TestQueryUnknownTrade(t *testing.T) {
	b := setup(t)
	_, err := b.cert.Query(t.Context(), "NOPE")
	wantCode(t, "Query", err, bursar.NotFound)
}

func TestExpiredTradeCloses(t *testing.T) {
	b := setup(t, func(c *alipaysandbox.Config) { c.TimestampSkew = time.Hour })
	r := newReceiver(t, b.cert)
	// The wap case also checks that time_expire reaches Alipay: the SDK's
	// TradeWapPay hides the embedded Trade's field of that name.
	for _, m := range []channel.Method{channel.AlipayApp, channel.AlipayWap} {
		p, err := b.cert.Pay(t.Context(), channel.PayRequest{OrderNo: "EXPIRE-" + string(m), Amount: cny(1990),
			Subject: "soon gone", Method: m, ExpiresAt: b.clock.Now().Add(10 * time.Minute), NotifyURL: r.url})
		if err != nil {
			t.Fatal(err)
		}
		b.open(t, p)
	}
	b.clock.Advance(11 * time.Minute)
	for _, m := range []channel.Method{channel.AlipayApp, channel.AlipayWap} {
		got, err := b.cert.Query(t.Context(), "EXPIRE-"+string(m))
		if err != nil || got.Status != channel.TradeClosed {
			t.Fatalf("%s: Query after expiry = %+v, %v; want closed", m, got, err)
		}
		// An app or wap payment that closes unpaid is notified as TRADE_CLOSED.
		n := r.ok(t)
		if n.Kind != channel.NotifyPayment || n.Event != "TRADE_CLOSED" || n.Trade.Status != channel.TradeClosed {
			t.Fatalf("notification = %+v", n)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	answer := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	node := func(code, sub, msg string) string {
		return `{"alipay_trade_query_response":{"code":"` + code + `","msg":"m","sub_code":"` + sub + `","sub_msg":"` + msg + `"}}`
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    bursar.Code
		says    string
	}{
		{"a 502 page", answer(http.StatusBadGateway, "<html>502 Bad Gateway</html>"), bursar.Unavailable, ""},
		{"code 20000", answer(http.StatusOK, node("20000", "isp.unknow-error", "系统繁忙")), bursar.Unavailable, ""},
		{"ACQ.SYSTEM_ERROR", answer(http.StatusOK, node("40004", "ACQ.SYSTEM_ERROR", "系统错误")), bursar.Unavailable, ""},
		{"ACQ.TRADE_NOT_EXIST", answer(http.StatusOK, node("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")), bursar.NotFound, ""},
		{"a business failure", answer(http.StatusOK, node("40004", "ACQ.INVALID_PARAMETER", "参数无效")), bursar.ChannelFailed,
			"ACQ.INVALID_PARAMETER (参数无效)"},
		{"a forged signature", answer(http.StatusOK, `{"alipay_trade_query_response":{"code":"10000","msg":"Success",`+
			`"trade_status":"TRADE_SUCCESS","total_amount":"19.90"},"sign":"AAAA"}`), bursar.Unavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			cfg, err := alipay.LoadConfig(files.PublicKeyConfig)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Gateway = srv.URL + "/gateway.do"
			ch, err := alipay.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ch.Query(t.Context(), "T1")
			wantCode(t, "Query", err, tt.want)
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %v does not say %q", err, tt.says)
			}
		})
	}
	t.Run("a gateway that does not answer", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		cfg, err := alipay.LoadConfig(files.PublicKeyConfig)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Gateway = srv.URL + "/gateway.do"
		ch, err := alipay.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ch.Query(t.Context(), "T1")
		wantCode(t, "Query", err, bursar.Unavailable)
	})
}
