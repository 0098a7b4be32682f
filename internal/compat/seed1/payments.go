package seed1

import (
	"context"
	"errors"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/clientip"
	"bursar.dev/bursar/internal/service"
)

// handleOrderPayWallet is payByWallet: the payer pays the order oid from
// the wallet with the payment password. userId, when given, must be the
// order's payer: another's order answers as a missing one.
func (s *Server) handleOrderPayWallet(ctx context.Context, c *call) (any, error) {
	pass, err := c.p.need("payPass")
	if err != nil {
		return nil, err
	}
	o, err := s.order(ctx, c, "oid")
	if err != nil {
		return nil, err
	}
	payer, err := s.user(ctx, c, "userId")
	if err != nil {
		return nil, err
	}
	if o.Buyer != payer {
		return nil, &fault{code: bursar.NotFound}
	}
	o, err = s.deps.Orders.PayWithWallet(ctx, c.actor, o.ID, pass)
	if err != nil {
		return nil, recast(noPayPass(err), bursar.Conflict, "", "订单已支付")
	}
	return orderAnswer{ok: success, Order: orderJSON(o)}, nil
}

// noPayPass words the service's refusal of a user with no payment
// password (Forbidden without a param) as the seed's code 4.
func noPayPass(err error) error {
	if e, ok := errors.AsType[*bursar.Error](err); ok && e.Code == bursar.Forbidden && e.Param == "" {
		return &fault{code: bursar.Forbidden, about: aboutPayPass, msg: "请先设置支付密码", cause: err}
	}
	return err
}

type chargeAnswer struct {
	ok
	Charge *chargeObject `json:"charge"`
}

// handleOrderPayChannel is payByPing: it starts paying the order oid with
// the Alipay or WeChat app and answers the charge the app's Ping++ SDK
// opens. The order is paid when the channel's notification reaches
// Bursar (or Bursar's query finds the payment), never on the app's word.
func (s *Server) handleOrderPayChannel(ctx context.Context, c *call) (any, error) {
	id, err := c.p.id("oid")
	if err != nil {
		return nil, err
	}
	name, err := c.p.str("channel")
	if err != nil {
		return nil, err
	}
	m, err := payMethod(name)
	if err != nil {
		return nil, err
	}
	_, charge, err := s.charge(ctx, c, bursar.OrderID(id), m)
	if err != nil {
		return nil, err
	}
	return chargeAnswer{ok: success, Charge: charge}, nil
}

// payMethod is the payment a seed channel name stands for: the seed's apps
// pay in the Alipay or WeChat app, through Ping++'s client SDK.
func payMethod(name string) (channel.Method, error) {
	switch name {
	case "alipay":
		return channel.AlipayApp, nil
	case "wx":
		return channel.WeChatApp, nil
	case "":
		return "", invalid("缺少参数 channel")
	}
	return "", invalid("channel 须为 alipay 或 wx")
}

// charge starts a channel payment of an order and returns it as a Ping++
// charge.
func (s *Server) charge(ctx context.Context, c *call, id bursar.OrderID, m channel.Method) (bursar.Order, *chargeObject, error) {
	ip := clientip.Of(c.r)
	o, pay, err := s.deps.Orders.PayWithChannel(ctx, c.actor, id, m, service.PayOptions{ClientIP: ip})
	if err != nil {
		return bursar.Order{}, nil, recast(err, bursar.Conflict, "", "订单已支付或正在以其他方式支付")
	}
	ch, err := s.chargeJSON(o, pay, ip)
	return o, ch, err
}
