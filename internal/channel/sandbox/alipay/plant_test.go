package alipay_test

import (
	"net/http"
	"testing"

	sdk "github.com/smartwalle/alipay/v3"

	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

func TestBillPlantControl(t *testing.T) {
	b := setup(t)
	b.precreateAndPay(t, b.cert, alipaysandbox.CertAppID, "PAID", "1.00", "")
	rsp, err := b.cert.TradePreCreate(t.Context(), sdk.TradePreCreate{Trade: sdk.Trade{Subject: "unpaid", OutTradeNo: "UNPAID",
		TotalAmount: "1.00"}})
	if err != nil || rsp.IsFailure() {
		t.Fatalf("precreate: %v %+v", err, rsp)
	}
	const date = "2026-01-01"
	tests := []struct {
		name   string
		in     map[string]any
		status int
	}{
		{"an unknown kind", map[string]any{"kind": "swap", "date": date}, http.StatusBadRequest},
		{"no date", map[string]any{"kind": "drop", "out_trade_no": "PAID"}, http.StatusBadRequest},
		{"a date of another form", map[string]any{"kind": "drop", "out_trade_no": "PAID", "date": "2026/01/01"}, http.StatusBadRequest},
		{"an unknown app", map[string]any{"kind": "extra_payment", "amount": 1, "date": date, "app_id": "1"}, http.StatusBadRequest},
		{"drop without a trade", map[string]any{"kind": "drop", "date": date}, http.StatusBadRequest},
		{"drop of a trade nobody made", map[string]any{"kind": "drop", "out_trade_no": "NOPE", "date": date}, http.StatusNotFound},
		{"amount without an amount", map[string]any{"kind": "amount", "out_trade_no": "PAID", "date": date}, http.StatusBadRequest},
		{"an amount in yuan", map[string]any{"kind": "amount", "out_trade_no": "PAID", "amount": "19.90", "date": date}, http.StatusBadRequest},
		{"a zero amount", map[string]any{"kind": "extra_payment", "amount": 0, "date": date}, http.StatusBadRequest},
		{"a refund of an unpaid trade", map[string]any{"kind": "extra_refund", "out_trade_no": "UNPAID", "amount": 1, "date": date}, http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := b.post(t, "/alipay/sandbox/bill/plant", tt.in)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, out)
			}
			if e, _ := out["error"].(map[string]any); e == nil || e["message"] == "" {
				t.Fatalf("answer %v: errors carry {\"error\":{\"code\",\"message\"}}", out)
			}
		})
	}

	status, out := b.post(t, "/alipay/sandbox/bill/plant", map[string]any{"kind": "extra_refund", "out_trade_no": "PAID",
		"amount": 1000000, "date": date})
	p, _ := out["plant"].(map[string]any)
	if status != http.StatusOK || p["amount"] != float64(1000000) || p["app_id"] != alipaysandbox.CertAppID ||
		p["refund_no"] == "" || p["trade_no"] == "" {
		t.Fatalf("planting a refund: %d %v", status, out)
	}
	if status, out := b.post(t, "/alipay/sandbox/bill/plant", map[string]any{"kind": "clear", "date": "2026-01-02"}); status != http.StatusOK ||
		len(out["plants"].([]any)) != 0 {
		t.Fatalf("clearing another day: %d %v", status, out)
	}
	status, out = b.post(t, "/alipay/sandbox/bill/plant", map[string]any{"kind": "clear", "date": date})
	if status != http.StatusOK || len(out["plants"].([]any)) != 0 {
		t.Fatalf("clearing: %d %v", status, out)
	}
}
