package seed1

import (
	"context"
	"slices"
	"strconv"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/service"
)

type orderAnswer struct {
	ok
	Order  orderObject   `json:"order"`
	Charge *chargeObject `json:"charge,omitempty"`
}

// handleOrderCreate is initOrder: a deal (a purchase of the skill skillId
// in the chat chatId) or, with type=recharge, a top-up of the payer's
// wallet. With channel=alipay or wx the answer carries the charge to pay
// it, as payByPing's; with channel=wallet or none it does not, as the seed
// says.
func (s *Server) handleOrderCreate(ctx context.Context, c *call) (any, error) {
	buyer, err := s.user(ctx, c, "userId")
	if err != nil {
		return nil, err
	}
	typ, err := c.p.str("type")
	if err != nil {
		return nil, err
	}
	chName, err := c.p.str("channel")
	if err != nil {
		return nil, err
	}
	var method channel.Method
	if chName != "" && chName != "wallet" {
		if method, err = payMethod(chName); err != nil {
			return nil, err
		}
	}
	var o bursar.Order
	switch typ {
	case "", "deal":
		o, err = s.createDeal(ctx, c, buyer)
	case "recharge":
		o, err = s.createRecharge(ctx, c, buyer, chName)
	default:
		err = invalid("type 须为 deal 或 recharge")
	}
	if err != nil {
		return nil, err
	}
	answer := orderAnswer{ok: success, Order: orderJSON(o)}
	if method != "" && o.Status == bursar.OrderPending {
		o, charge, err := s.charge(ctx, c, o.ID, method)
		if err != nil {
			return nil, err
		}
		answer.Order, answer.Charge = orderJSON(o), charge
	}
	return answer, nil
}

// createDeal creates a purchase. With skillId the price is the skill's: an
// amount that differs is refused (the app shows a stale price), and so is a
// receiverId that is not the skill's seller. Without skillId only the
// platform may name a receiverId and an amount.
func (s *Server) createDeal(ctx context.Context, c *call, buyer bursar.UserID) (bursar.Order, error) {
	var v struct{ subject, skill, receiver, chat string }
	for _, f := range []struct {
		name string
		dst  *string
	}{{"subject", &v.subject}, {"skillId", &v.skill}, {"receiverId", &v.receiver}, {"chatId", &v.chat}} {
		var err error
		if *f.dst, err = c.p.str(f.name); err != nil {
			return bursar.Order{}, err
		}
	}
	amount, hasAmount, err := c.p.int("amount")
	if err != nil {
		return bursar.Order{}, err
	}
	switch {
	case utf8.RuneCountInString(v.subject) > 128:
		return bursar.Order{}, invalid("subject 不能超过 128 个字")
	case len(v.chat) > 500:
		return bursar.Order{}, invalid("chatId 不能超过 500 个字节")
	}
	in := service.PurchaseInput{Buyer: buyer, Subject: v.subject}
	if v.chat != "" {
		in.Metadata = map[string]string{chatKey: v.chat}
	}
	if v.skill != "" {
		it, err := s.deps.Items.Get(ctx, bursar.ItemID(v.skill))
		switch {
		case bursar.ErrorCode(err) == bursar.NotFound || (err == nil && it.Kind != bursar.ItemSession):
			return bursar.Order{}, invalid("找不到此技能：" + v.skill)
		case err != nil:
			return bursar.Order{}, err
		case v.receiver != "" && v.receiver != string(it.Seller):
			return bursar.Order{}, invalid("receiverId 不是此技能的卖家")
		case hasAmount && bursar.Amount(amount) != it.Price.Amount:
			return bursar.Order{}, invalid("amount 与技能价格不符，现价 " + strconv.FormatInt(int64(it.Price.Amount), 10) + " 分")
		case it.Seller == buyer:
			return bursar.Order{}, invalid("不能购买自己的技能")
		}
		in.Item = it.ID
	} else {
		seller, err := s.dealSeller(ctx, c, v.receiver, v.subject, hasAmount)
		if err != nil {
			return bursar.Order{}, err
		}
		if amount < 1 || amount > 1_000_000_000 {
			return bursar.Order{}, invalid("amount 须为 1 到 1000000000 之间的整数（单位：分）")
		}
		if seller == buyer {
			return bursar.Order{}, invalid("不能向自己付款")
		}
		a := bursar.Amount(amount)
		in.Seller, in.Amount = seller, &a
	}
	o, _, err := s.deps.Orders.CreatePurchase(ctx, c.actor, in)
	return o, err
}

// dealSeller checks a deal without a skill: the platform's, to a payee
// that exists, for an amount, with a subject.
func (s *Server) dealSeller(ctx context.Context, c *call, receiver, subject string, hasAmount bool) (bursar.UserID, error) {
	switch {
	case receiver == "":
		return "", &fault{code: bursar.Invalid, about: aboutReceiver, msg: "缺少收款人 receiverId"}
	case !c.actor.IsPlatform():
		return "", invalid("缺少参数 skillId")
	case !hasAmount:
		return "", invalid("缺少参数 amount")
	case subject == "":
		return "", invalid("缺少参数 subject")
	}
	id, err := bursar.ParseUserID(receiver)
	if err != nil {
		return "", noUser()
	}
	if _, err := s.deps.Users.Get(ctx, c.actor, id); err != nil {
		return "", recast(err, bursar.NotFound, aboutUser, "")
	}
	return id, nil
}

// createRecharge creates a top-up of the payer's wallet cash; it is paid
// through Alipay or WeChat Pay, never from the wallet it fills.
func (s *Server) createRecharge(ctx context.Context, c *call, user bursar.UserID, chName string) (bursar.Order, error) {
	amount, ok, err := c.p.amount("amount")
	switch {
	case err != nil:
		return bursar.Order{}, err
	case !ok:
		return bursar.Order{}, invalid("缺少参数 amount")
	case chName == "wallet":
		return bursar.Order{}, invalid("充值须用支付宝（alipay）或微信（wx）支付")
	}
	subject, err := c.p.str("subject")
	switch {
	case err != nil:
		return bursar.Order{}, err
	case utf8.RuneCountInString(subject) > 128:
		return bursar.Order{}, invalid("subject 不能超过 128 个字")
	}
	return s.deps.Orders.CreateTopup(ctx, c.actor, service.TopupInput{User: user, Amount: amount, Subject: subject})
}

type orderDetailAnswer struct {
	ok
	Order    orderObject    `json:"order"`
	Receiver *profileObject `json:"receiver"`
}

// handleOrderGet is getOrderDetail: the order with the payer's name and
// the payee's profile, which the seed shows both inside the order (userOJ)
// and beside it (receiver).
func (s *Server) handleOrderGet(ctx context.Context, c *call) (any, error) {
	o, err := s.order(ctx, c, "oid")
	if err != nil {
		return nil, err
	}
	obj := orderJSON(o)
	if err := s.decorate(ctx, c, s.people(c.actor), o, &obj); err != nil {
		return nil, err
	}
	obj.UserOJ = obj.Receiver
	// The seed's server kept a bcrypt hash of the order number; any
	// bcrypt library verifies this one. The lowest cost keeps a detail
	// view cheap: the hash protects nothing secret.
	hash, err := bcrypt.GenerateFromPassword([]byte(o.No), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	obj.OrderNoHash = string(hash)
	return orderDetailAnswer{ok: success, Order: obj, Receiver: obj.Receiver}, nil
}

type orderListAnswer struct {
	ok
	Orders []orderObject `json:"orders"`
}

// Paging limits of getOrder.
const (
	defaultPageSize = 10
	maxPageSize     = 100
	maxOffset       = 10_000 // how deep number paging may go
)

// handleOrderList is getOrder: the caller's orders, newest first, filtered
// by type, status (the seed's strings), payer (uid) and payee
// (receiverId), a page of pageSize at page pageNo (from 1).
func (s *Server) handleOrderList(ctx context.Context, c *call) (any, error) {
	f, err := orderFilter(c.p)
	if err != nil {
		return nil, err
	}
	orders, _, err := s.deps.Orders.List(ctx, c.actor, f)
	if err != nil {
		return nil, err
	}
	answer := orderListAnswer{ok: success, Orders: make([]orderObject, 0, len(orders))}
	p := s.people(c.actor)
	for _, o := range orders {
		obj := orderJSON(o)
		if err := s.decorate(ctx, c, p, o, &obj); err != nil {
			return nil, err
		}
		answer.Orders = append(answer.Orders, obj)
	}
	return answer, nil
}

func orderFilter(p params) (bursar.OrderFilter, error) {
	var f bursar.OrderFilter
	typ, err := p.str("type")
	if err != nil {
		return f, err
	}
	if typ != "" {
		if f.Type = typeOf(typ); f.Type == "" {
			return f, invalid("type 须为 deal、recharge 或 withdrawals")
		}
	}
	status, err := p.str("status")
	if err != nil {
		return f, err
	}
	if status != "" {
		if f.Statuses = statusesOf(status); len(f.Statuses) == 0 {
			return f, invalid("status 须为 未支付、已付款、已完成、退款申请中、退款成功、提现申请中、提现成功、已关闭 或 提现失败")
		}
	}
	uid, err := p.str("uid")
	if err != nil {
		return f, err
	}
	receiver, err := p.str("receiverId")
	if err != nil {
		return f, err
	}
	f.Buyer, f.Seller = bursar.UserID(uid), bursar.UserID(receiver)
	pageNo, hasNo, err := p.int("pageNo")
	if err != nil {
		return f, err
	}
	pageSize, hasSize, err := p.int("pageSize")
	if err != nil {
		return f, err
	}
	if !hasNo {
		pageNo = 1
	}
	if !hasSize {
		pageSize = defaultPageSize
	}
	switch {
	case pageNo < 1:
		return f, invalid("pageNo 从 1 开始")
	case pageSize < 1 || pageSize > maxPageSize:
		return f, invalid("pageSize 须为 1 到 100")
	case pageNo-1 > maxOffset/pageSize:
		return f, invalid("pageNo 太大")
	}
	f.Limit, f.Offset = int(pageSize), int((pageNo-1)*pageSize)
	return f, nil
}

func typeOf(name string) bursar.OrderType {
	for t, n := range typeNames {
		if n == name {
			return t
		}
	}
	return ""
}

// statusesOf returns the Bursar states a seed status string stands for:
// 提现申请中 is both requested and processing.
func statusesOf(name string) []bursar.OrderStatus {
	var out []bursar.OrderStatus
	for st, n := range statusNames {
		if n == name {
			out = append(out, st)
		}
	}
	slices.Sort(out)
	return out
}

// handleOrderConfirm is confirmOrder: the buyer confirms, the escrow goes
// to the seller at once and the chat window closes. The seed names the
// order id; oid is taken too, as every other endpoint calls it.
func (s *Server) handleOrderConfirm(ctx context.Context, c *call) (any, error) {
	name := "id"
	if v, _ := c.p.str("id"); v == "" {
		if v, _ := c.p.str("oid"); v != "" {
			name = "oid"
		}
	}
	id, err := c.p.id(name)
	if err != nil {
		return nil, err
	}
	o, err := s.deps.Orders.Confirm(ctx, c.actor, bursar.OrderID(id))
	if err != nil {
		return nil, recast(err, bursar.WrongState, "", "只有已付款的订单可以确认")
	}
	return orderAnswer{ok: success, Order: orderJSON(o)}, nil
}
