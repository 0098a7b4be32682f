package wechat_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestBillPlantControl(t *testing.T) {
	_, srv := start(t, testConfig())
	h := newHook(t, always(204))
	paid := placeNative(t, srv, 100, h.url())
	if a := control(t, srv, "/wechat/sandbox/pay", url.Values{"out_trade_no": {paid}}); a.status != http.StatusOK {
		t.Fatalf("pay = %d %s", a.status, a.body)
	}
	h.next(t)
	unpaid := placeNative(t, srv, 100, h.url())
	const date = "2026-01-01"
	tests := []struct {
		name   string
		form   url.Values
		status int
	}{
		{"an unknown kind", url.Values{"kind": {"swap"}, "date": {date}}, http.StatusBadRequest},
		{"no date", url.Values{"kind": {"drop"}, "out_trade_no": {paid}}, http.StatusBadRequest},
		{"a date of another form", url.Values{"kind": {"drop"}, "out_trade_no": {paid}, "date": {"20260101"}}, http.StatusBadRequest},
		{"drop without a trade", url.Values{"kind": {"drop"}, "date": {date}}, http.StatusBadRequest},
		{"drop of a trade nobody made", url.Values{"kind": {"drop"}, "out_trade_no": {"NOPE"}, "date": {date}}, http.StatusNotFound},
		{"amount without an amount", url.Values{"kind": {"amount"}, "out_trade_no": {paid}, "date": {date}}, http.StatusBadRequest},
		{"an amount in yuan", url.Values{"kind": {"amount"}, "out_trade_no": {paid}, "amount": {"19.90"}, "date": {date}}, http.StatusBadRequest},
		{"a negative amount", url.Values{"kind": {"extra_payment"}, "amount": {"-1"}, "date": {date}}, http.StatusBadRequest},
		{"a refund of an unpaid trade", url.Values{"kind": {"extra_refund"}, "out_trade_no": {unpaid}, "amount": {"1"}, "date": {date}}, http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := control(t, srv, "/wechat/sandbox/bill/plant", tt.form)
			if a.status != tt.status {
				t.Fatalf("status = %d %s, want %d", a.status, a.body, tt.status)
			}
			if e, _ := a.json(t)["error"].(map[string]any); e == nil || e["message"] == "" {
				t.Errorf("body = %s, want an error with a message", a.body)
			}
		})
	}

	// JSON numbers are read exactly, not as floats.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/wechat/sandbox/bill/plant",
		strings.NewReader(`{"kind":"extra_refund","out_trade_no":"`+paid+`","amount":10000000000,"date":"`+date+`"}`))
	req.Header.Set("Content-Type", "application/json")
	a := do(t, req)
	var out struct {
		Plant struct {
			Amount        int64  `json:"amount"`
			TransactionID string `json:"transaction_id"`
			OutRefundNo   string `json:"out_refund_no"`
			RefundID      string `json:"refund_id"`
		}
		Plants []json.RawMessage
	}
	if err := json.Unmarshal(a.body, &out); err != nil || a.status != http.StatusOK || out.Plant.Amount != 10000000000 ||
		out.Plant.TransactionID == "" || out.Plant.OutRefundNo == "" || out.Plant.RefundID == "" || len(out.Plants) != 1 {
		t.Fatalf("planting a refund = %d %s", a.status, a.body)
	}
	if st := state(t, srv); len(st.BillPlants) != 1 {
		t.Errorf("the state shows %d plants, want 1", len(st.BillPlants))
	}
	a = control(t, srv, "/wechat/sandbox/bill/plant", url.Values{"kind": {"clear"}, "date": {date}})
	if err := json.Unmarshal(a.body, &out); err != nil || a.status != http.StatusOK || len(out.Plants) != 0 {
		t.Fatalf("clearing = %d %s", a.status, a.body)
	}
}
