package alipay_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

func TestTransfer(t *testing.T) {
	b := setup(t)
	appGateway := newReceiver(t, b.cert)
	b.control(t, "/alipay/sandbox/app-gateway", map[string]string{"app_id": alipaysandbox.CertAppID, "url": appGateway.url}, http.StatusOK)
	tests := []struct {
		name    string
		account string
		payee   string
	}{
		{"to a phone number with the payee's name", "13800138000", "张三"},
		{"to an e-mail address", "seller+1@example.com", "Li Si"},
		{"to a user id", "2088102177000002", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			no := "W" + string(rune('A'+i))
			req := channel.TransferRequest{TransferNo: no, Amount: cny(1990), Account: tt.account, Name: tt.payee, Title: "提现 withdrawal"}
			got, err := b.cert.Transfer(t.Context(), req)
			if err != nil {
				t.Fatalf("Transfer: %v", err)
			}
			if got.Status != channel.TransferSucceeded || got.ChannelRef == "" || got.At.IsZero() || got.Amount != cny(1990) {
				t.Fatalf("Transfer = %+v", got)
			}
			n := appGateway.ok(t)
			if n.Kind != channel.NotifyTransfer || n.Transfer.TransferNo != no || n.Transfer.Status != channel.TransferSucceeded ||
				n.Transfer.ChannelRef != got.ChannelRef || n.Transfer.Amount != cny(1990) {
				t.Fatalf("payout message = %+v", n)
			}
			again, err := b.cert.Transfer(t.Context(), req)
			if err != nil || again.ChannelRef != got.ChannelRef || again.Status != channel.TransferSucceeded {
				t.Fatalf("Transfer replay = %+v, %v; want the same payout %s", again, err, got.ChannelRef)
			}
			q, err := b.cert.QueryTransfer(t.Context(), no)
			if err != nil || q.Status != channel.TransferSucceeded || q.ChannelRef != got.ChannelRef || q.Amount != cny(1990) || q.At.IsZero() {
				t.Fatalf("QueryTransfer = %+v, %v", q, err)
			}
		})
	}
	appGateway.none(t, 100*time.Millisecond)
}

func TestTransferRefused(t *testing.T) {
	b := setup(t)
	b.control(t, "/alipay/sandbox/payees/bad", map[string]string{"account": "nobody@example.com"}, http.StatusOK)
	b.control(t, "/alipay/sandbox/payees/bad", map[string]string{"name": "王五"}, http.StatusOK)
	tests := []struct {
		name    string
		req     channel.TransferRequest
		code    bursar.Code
		subCode string
	}{
		{"an account Alipay does not know", channel.TransferRequest{TransferNo: "F1", Amount: cny(100), Account: "nobody@example.com", Name: "Zhao"},
			bursar.ChannelFailed, "PAYEE_NOT_EXIST"},
		{"a name that does not match", channel.TransferRequest{TransferNo: "F2", Amount: cny(100), Account: "13900000000", Name: "王五"},
			bursar.ChannelFailed, "PAYEE_USERINFO_ERROR"},
		{"a logon id without a name", channel.TransferRequest{TransferNo: "F3", Amount: cny(100), Account: "13900000000"},
			bursar.Invalid, ""},
		{"less than 0.10 yuan", channel.TransferRequest{TransferNo: "F4", Amount: cny(9), Account: "13900000000", Name: "Zhao"},
			bursar.Invalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.cert.Transfer(t.Context(), tt.req)
			wantCode(t, "Transfer", err, tt.code)
			if !strings.Contains(err.Error(), tt.subCode) {
				t.Errorf("Transfer error %v does not carry %s", err, tt.subCode)
			}
			_, err = b.cert.QueryTransfer(t.Context(), tt.req.TransferNo)
			wantCode(t, "QueryTransfer of a refused payout", err, bursar.NotFound)
		})
	}
	b.control(t, "/alipay/sandbox/fail-next", map[string]string{"what": "transfer"}, http.StatusOK)
	_, err := b.cert.Transfer(t.Context(), channel.TransferRequest{TransferNo: "F5", Amount: cny(100), Account: "13900000001", Name: "Zhao"})
	wantCode(t, "Transfer the sandbox fails", err, bursar.ChannelFailed)
	if !strings.Contains(err.Error(), "PAYER_BALANCE_NOT_ENOUGH") {
		t.Errorf("error %v", err)
	}
	// Payouts need certificate mode.
	_, err = b.pk.Transfer(t.Context(), channel.TransferRequest{TransferNo: "F6", Amount: cny(100), Account: "13900000001", Name: "Zhao"})
	wantCode(t, "Transfer in public-key mode", err, bursar.ChannelFailed)
}

func TestTransferDealingThenFails(t *testing.T) {
	b := setup(t)
	appGateway := newReceiver(t, b.cert)
	b.control(t, "/alipay/sandbox/app-gateway", map[string]string{"app_id": alipaysandbox.CertAppID, "url": appGateway.url}, http.StatusOK)
	b.control(t, "/alipay/sandbox/transfers/dealing", map[string]string{"outcome": "FAIL", "after": "50ms"}, http.StatusOK)
	got, err := b.cert.Transfer(t.Context(), channel.TransferRequest{TransferNo: "SLOW", Amount: cny(167), Account: "13800138000", Name: "张三"})
	if err != nil || got.Status != channel.TransferProcessing {
		t.Fatalf("Transfer = %+v, %v; want processing", got, err)
	}
	n := appGateway.ok(t)
	if n.Kind != channel.NotifyTransfer || n.Transfer.TransferNo != "SLOW" || n.Transfer.Status != channel.TransferFailed ||
		n.Transfer.Reason == "" {
		t.Fatalf("payout message = %+v", n)
	}
	q, err := b.cert.QueryTransfer(t.Context(), "SLOW")
	if err != nil || q.Status != channel.TransferFailed || q.Reason == "" || q.Amount != cny(167) {
		t.Fatalf("QueryTransfer = %+v, %v", q, err)
	}
}
