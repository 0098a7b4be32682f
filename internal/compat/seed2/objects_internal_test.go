package seed2

import (
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// TestPayStatus covers every order state, since the seed has three numbers
// for Bursar's six purchase states.
func TestPayStatus(t *testing.T) {
	t0 := time.Date(2018, 7, 5, 2, 57, 18, 0, time.UTC)
	failed := []bursar.Payment{
		{Channel: bursar.ChannelAlipay, Status: bursar.PaymentClosed, UpdatedAt: t0},
		{Channel: bursar.ChannelWeChat, Status: bursar.PaymentFailed, UpdatedAt: t0.Add(time.Second)},
	}
	retried := []bursar.Payment{failed[1], {Channel: bursar.ChannelAlipay, Status: bursar.PaymentPending, UpdatedAt: t0.Add(2 * time.Second)}}
	tests := []struct {
		name   string
		status bursar.OrderStatus
		ps     []bursar.Payment
		want   string
	}{
		{"pending, never sent to a channel", bursar.OrderPending, nil, "0"},
		{"pending, its last payment failed", bursar.OrderPending, failed, "4"},
		{"pending, paying again after a failure", bursar.OrderPending, retried, "0"},
		{"closed unpaid", bursar.OrderClosed, failed, "0"},
		{"paid, in escrow", bursar.OrderPaid, nil, "2"},
		{"paid, a refund asked", bursar.OrderRefundRequested, nil, "2"},
		{"completed", bursar.OrderCompleted, nil, "2"},
		{"refunded in full", bursar.OrderRefunded, nil, "4"},
	}
	for _, tt := range tests {
		if got := payStatus(bursar.Order{Status: tt.status}, tt.ps); got != tt.want {
			t.Errorf("%s: pay_status %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestOrderJSON checks the fields that depend on how an order was paid.
func TestOrderJSON(t *testing.T) {
	created := time.Date(2018, 7, 5, 2, 57, 18, 0, time.UTC)
	o := bursar.Order{ID: "ord_1", No: "201807050257180000000001", Buyer: "8", Seller: "1", Item: "3", Subject: "x",
		Amount: bursar.Money{Amount: 8888, Currency: bursar.CNY}, Status: bursar.OrderRefunded, Channel: bursar.ChannelWeChat,
		CreatedAt: created, PaidAt: created.Add(90 * time.Second)}
	ps := []bursar.Payment{
		{Channel: bursar.ChannelAlipay, Status: bursar.PaymentReturned, TradeNo: "A", Payer: "a"},
		{Channel: bursar.ChannelWeChat, Status: bursar.PaymentPaid, TradeNo: "W", Payer: "w"},
	}
	it := bursar.Item{ID: "3", Title: "Go 语言入门", Price: bursar.Money{Amount: 9999, Currency: bursar.CNY}}
	v := orderJSON(o, ps, &it)
	if *v.Servicer != "1" || *v.ThirdTradeNo != "W" || *v.ThirdBuyerID != "w" || v.PayStatus != "4" {
		t.Errorf("servicer %v, third %v/%v, pay_status %s", *v.Servicer, *v.ThirdTradeNo, *v.ThirdBuyerID, v.PayStatus)
	}
	if v.AddTime != "2018-07-05 10:57:18" || v.PayTime != "2018-07-05 10:58:48" {
		t.Errorf("add_time %s, pay_time %s: want Beijing time", v.AddTime, v.PayTime)
	}
	if v.Price != "99.99" || v.Amount != "88.88" || v.Title != "Go 语言入门" || *v.AlbumID != "3" {
		t.Errorf("price %s amount %s title %s album %v", v.Price, v.Amount, v.Title, *v.AlbumID)
	}
	// Paid from the wallet (through another API): no platform to name.
	o.Channel, o.Status = bursar.ChannelWallet, bursar.OrderPaid
	if v := orderJSON(o, nil, nil); v.Servicer != nil || v.ThirdTradeNo != nil || v.AlbumID != nil || v.Price != "88.88" || v.Title != "x" {
		t.Errorf("a wallet payment of an order with no album: %+v", v)
	}
}

// TestEveryCodeIsMapped checks that the one table covers every Bursar code,
// and that 0, the seed's success, is never an error.
func TestEveryCodeIsMapped(t *testing.T) {
	all := []bursar.Code{bursar.Invalid, bursar.Unauthenticated, bursar.Forbidden, bursar.NotFound, bursar.Conflict,
		bursar.WrongState, bursar.InsufficientFunds, bursar.Locked, bursar.RateLimited, bursar.Unavailable,
		bursar.ChannelFailed, bursar.Internal}
	if len(codes) != len(all) {
		t.Errorf("the table has %d codes, Bursar %d", len(codes), len(all))
	}
	for _, c := range all {
		if m, ok := codes[c]; !ok || m.N == 0 || m.Desc == "" {
			t.Errorf("%s maps to %+v", c, m)
		}
	}
	if codes[bursar.Invalid].N != 4 {
		t.Errorf("a bad parameter is %d, the seed says 4", codes[bursar.Invalid].N)
	}
	if got := bursar.ErrorCode(fail(bursar.NotFound, "订单不存在")); got != bursar.NotFound {
		t.Errorf("a failure's code is %s", got)
	}
}
