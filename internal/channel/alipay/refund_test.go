package alipay_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/alipay"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

// paidTrade makes a paid trade and consumes its payment notification.
func paidTrade(t *testing.T, b *bundle, ch *alipay.Channel, appID, orderNo string, amount bursar.Amount, r *receiver) {
	t.Helper()
	p, err := ch.Pay(t.Context(), channel.PayRequest{OrderNo: orderNo, Amount: cny(amount), Subject: "退款 test + 1",
		Method: channel.AlipayWap, NotifyURL: r.url})
	if err != nil {
		t.Fatal(err)
	}
	b.open(t, p)
	b.payControl(t, appID, orderNo)
	if n := r.ok(t); n.Kind != channel.NotifyPayment {
		t.Fatalf("first notification = %+v", n)
	}
}

func TestRefundPartialThenFull(t *testing.T) {
	b := setup(t)
	for _, m := range b.modes() {
		t.Run(m.name, func(t *testing.T) {
			r := newReceiver(t, m.ch)
			order := "REFUND-" + m.appID[len(m.appID)-1:]
			paidTrade(t, b, m.ch, m.appID, order, 1990, r)

			got, err := m.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: order, RefundNo: order + "-R1",
				Amount: cny(980), Total: cny(1990), Reason: "部分退款"})
			if err != nil {
				t.Fatalf("partial Refund: %v", err)
			}
			if got.Status != channel.RefundSucceeded || got.Amount != cny(980) || got.At.IsZero() || got.ChannelRef == "" {
				t.Fatalf("partial Refund = %+v", got)
			}
			// A partial refund re-sends TRADE_SUCCESS, with out_biz_no: a refund, not a new payment.
			n := r.ok(t)
			if n.Kind != channel.NotifyRefund || n.Event != "TRADE_SUCCESS" || n.Refund.RefundNo != order+"-R1" ||
				n.Refund.Status != channel.RefundSucceeded || n.Refund.At.IsZero() || n.Trade.Status != channel.TradePaid ||
				n.Trade.Refunded != 980 || n.Trade.Amount != cny(1990) {
				t.Fatalf("partial refund notification = %+v", n)
			}

			// The same refund again is answered fund_change=N: the query proves it was done, once.
			again, err := m.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: order, RefundNo: order + "-R1",
				Amount: cny(980), Total: cny(1990)})
			if err != nil || again.Status != channel.RefundSucceeded || again.Amount != cny(980) {
				t.Fatalf("Refund replay = %+v, %v", again, err)
			}
			if tr := b.sandboxTrade(t, m.appID, order); tr["refunded"] != float64(980) {
				t.Fatalf("after the replay the sandbox refunded %v, want 980", tr["refunded"])
			}
			r.none(t, 100*time.Millisecond)
			_, err = m.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: order, RefundNo: order + "-R1",
				Amount: cny(990), Total: cny(1990)})
			wantCode(t, "Refund replay with another amount", err, bursar.ChannelFailed)
			_, err = m.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: order, RefundNo: order + "-R2",
				Amount: cny(1011), Total: cny(1990)})
			wantCode(t, "Refund of more than is left", err, bursar.ChannelFailed)

			got, err = m.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: order, RefundNo: order + "-R2",
				Amount: cny(1010), Total: cny(1990)})
			if err != nil || got.Status != channel.RefundSucceeded {
				t.Fatalf("Refund of the rest = %+v, %v", got, err)
			}
			// Refunded in full: TRADE_CLOSED, still a refund.
			n = r.ok(t)
			if n.Kind != channel.NotifyRefund || n.Event != "TRADE_CLOSED" || n.Refund.RefundNo != order+"-R2" ||
				n.Trade.Status != channel.TradeClosed || n.Trade.Refunded != 1990 {
				t.Fatalf("full refund notification = %+v", n)
			}
			q, err := m.ch.Query(t.Context(), order)
			if err != nil || q.Status != channel.TradeClosed {
				t.Fatalf("Query after the full refund = %+v, %v", q, err)
			}
			_, err = m.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: order, RefundNo: order + "-R3",
				Amount: cny(1), Total: cny(1990)})
			wantCode(t, "Refund of a closed trade", err, bursar.ChannelFailed)

			qr, err := m.ch.QueryRefund(t.Context(), order, order+"-R1")
			if err != nil || qr.Status != channel.RefundSucceeded || qr.Amount != cny(980) || qr.At.IsZero() {
				t.Fatalf("QueryRefund = %+v, %v", qr, err)
			}
			_, err = m.ch.QueryRefund(t.Context(), order, order+"-R9")
			wantCode(t, "QueryRefund of an unknown refund", err, bursar.NotFound)
		})
	}
}

func TestRefundFailures(t *testing.T) {
	b := setup(t)
	r := newReceiver(t, b.cert)
	paidTrade(t, b, b.cert, alipaysandbox.CertAppID, "RFAIL", 1990, r)

	_, err := b.cert.Refund(t.Context(), channel.RefundRequest{OrderNo: "NOPE", RefundNo: "NOPE-R1", Amount: cny(1)})
	wantCode(t, "Refund of an unknown order", err, bursar.NotFound)
	_, err = b.cert.QueryRefund(t.Context(), "NOPE", "NOPE-R1")
	wantCode(t, "QueryRefund of an unknown order", err, bursar.NotFound)

	b.control(t, "/alipay/sandbox/fail-next", map[string]string{"what": "refund"}, http.StatusOK)
	_, err = b.cert.Refund(t.Context(), channel.RefundRequest{OrderNo: "RFAIL", RefundNo: "RFAIL-R1", Amount: cny(100)})
	wantCode(t, "Refund the sandbox fails", err, bursar.ChannelFailed)
	_, err = b.cert.QueryRefund(t.Context(), "RFAIL", "RFAIL-R1")
	wantCode(t, "QueryRefund of the failed refund", err, bursar.NotFound)
	got, err := b.cert.Refund(t.Context(), channel.RefundRequest{OrderNo: "RFAIL", RefundNo: "RFAIL-R1", Amount: cny(100)})
	if err != nil || got.Status != channel.RefundSucceeded {
		t.Fatalf("Refund retried after the failure = %+v, %v", got, err)
	}

	p, err := b.cert.Pay(t.Context(), channel.PayRequest{OrderNo: "RUNPAID", Amount: cny(100), Subject: "x", Method: channel.AlipayQR})
	if err != nil {
		t.Fatal(err)
	}
	b.open(t, p)
	_, err = b.cert.Refund(t.Context(), channel.RefundRequest{OrderNo: "RUNPAID", RefundNo: "RUNPAID-R1", Amount: cny(100)})
	wantCode(t, "Refund of an unpaid trade", err, bursar.ChannelFailed)
}

// signingStub is a gateway that answers each method with a fixed node,
// signed with the sandbox's Alipay key: for answers the sandbox never gives.
func signingStub(t *testing.T, nodes map[string]string) *alipay.Channel {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(files.Dir, "sandbox_alipay_private_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		method := r.Form.Get("method")
		n := nodes[method]
		sum := sha256.Sum256([]byte(n))
		sig, _ := rsa.SignPKCS1v15(nil, k.(*rsa.PrivateKey), crypto.SHA256, sum[:])
		fmt.Fprintf(w, `{"%s_response":%s,"sign":"%s"}`, strings.ReplaceAll(method, ".", "_"), n,
			base64.StdEncoding.EncodeToString(sig))
	}))
	t.Cleanup(srv.Close)
	cfg, err := alipay.LoadConfig(files.PublicKeyConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Gateway = srv.URL + "/gateway.do"
	ch, err := alipay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestRefundWithoutFundChange(t *testing.T) {
	const refundN = `{"code":"10000","msg":"Success","trade_no":"2026010122001400000000000001","out_trade_no":"O1",` +
		`"fund_change":"N","refund_fee":"0.00"}`
	tests := []struct {
		name  string
		query string
		want  channel.RefundStatus
		code  bursar.Code
	}{
		{"and no such refund: nothing is known to have moved", `{"code":"10000","msg":"Success","out_trade_no":"O1","out_request_no":"R1"}`,
			channel.RefundProcessing, ""},
		{"and the refund done before", `{"code":"10000","msg":"Success","out_trade_no":"O1","out_request_no":"R1",` +
			`"refund_amount":"1.67","refund_status":"REFUND_SUCCESS","gmt_refund_pay":"2026-01-01 12:00:00"}`, channel.RefundSucceeded, ""},
		{"and a refund of another amount", `{"code":"10000","msg":"Success","out_trade_no":"O1","out_request_no":"R1",` +
			`"refund_amount":"1.66","refund_status":"REFUND_SUCCESS","gmt_refund_pay":"2026-01-01 12:00:00"}`, "", bursar.ChannelFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := signingStub(t, map[string]string{"alipay.trade.refund": refundN, "alipay.trade.fastpay.refund.query": tt.query})
			got, err := ch.Refund(t.Context(), channel.RefundRequest{OrderNo: "O1", RefundNo: "R1", Amount: cny(167)})
			if tt.code != "" {
				wantCode(t, "Refund", err, tt.code)
				return
			}
			if err != nil || got.Status != tt.want {
				t.Fatalf("Refund = %+v, %v; want %s", got, err, tt.want)
			}
		})
	}
}
