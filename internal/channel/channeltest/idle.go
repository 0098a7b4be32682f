// Package channeltest holds payment channels for tests of the layers above
// the channel contract.
//
// Import it only from tests.
package channeltest

import (
	"context"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// Idle is an Alipay that is configured but must never be called: withdrawals
// need the payout channel to exist before they are taken, but one that
// waits for approval, or whose transfer job never runs, sends nothing. Every
// call fails with ErrIdle.
type Idle struct{}

// ErrIdle is every answer of Idle.
var ErrIdle = bursar.Errorf(bursar.ChannelFailed, "This test's channel takes no calls.")

var _ channel.Channel = Idle{}

func (Idle) Name() bursar.Channel { return bursar.ChannelAlipay }
func (Idle) Pay(context.Context, channel.PayRequest) (channel.Payment, error) {
	return channel.Payment{}, ErrIdle
}
func (Idle) Query(context.Context, string) (channel.Trade, error) { return channel.Trade{}, ErrIdle }
func (Idle) Close(context.Context, string) error                  { return ErrIdle }
func (Idle) Refund(context.Context, channel.RefundRequest) (channel.Refund, error) {
	return channel.Refund{}, ErrIdle
}
func (Idle) QueryRefund(context.Context, string, string) (channel.Refund, error) {
	return channel.Refund{}, ErrIdle
}
func (Idle) Transfer(context.Context, channel.TransferRequest) (channel.Transfer, error) {
	return channel.Transfer{}, ErrIdle
}
func (Idle) QueryTransfer(context.Context, string) (channel.Transfer, error) {
	return channel.Transfer{}, ErrIdle
}
func (Idle) Bill(context.Context, time.Time) ([]byte, error)   { return nil, ErrIdle }
func (Idle) ParseBill(time.Time, []byte) (channel.Bill, error) { return channel.Bill{}, ErrIdle }
func (Idle) Answer(error) channel.Answer                       { return channel.Answer{} }
func (Idle) ParseNotification(context.Context, channel.Inbound) (channel.Notification, error) {
	return channel.Notification{}, ErrIdle
}
