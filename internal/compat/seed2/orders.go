package seed2

import (
	"net/url"
	"strconv"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/clientip"
	"bursar.dev/bursar/internal/service"
)

// handleOrderCreate is 6.1: the caller buys an album (a course item). The
// answer's status is 0 when the order is to be paid and 2 when it is
// already complete: a free album, one the buyer owns (its earlier order
// comes back), or a platform discount to zero.
func (s *Server) handleOrderCreate(c call) (any, error) {
	id := c.p["album_id"]
	if id == "" {
		return nil, fail(bursar.Invalid, "缺少订购内容参数") // the seed's own text
	}
	if !validID(id) {
		return nil, fail(bursar.Invalid, "订购内容参数错误")
	}
	buyer, err := user(c)
	if err != nil {
		return nil, err
	}
	amount, err := c.p.yuan("amount")
	if err != nil {
		return nil, err
	}
	if amount != nil && !c.actor.IsPlatform() {
		return nil, fail(bursar.Invalid, "只有平台密钥可以指定金额")
	}
	method, opt, err := payMethod(c)
	if err != nil {
		return nil, err
	}
	it, err := s.deps.Items.Get(c.ctx, bursar.ItemID(id))
	if bursar.ErrorCode(err) == bursar.NotFound || (err == nil && it.Kind != bursar.ItemCourse) {
		return nil, fail(bursar.NotFound, "课程不存在")
	}
	if err != nil {
		return nil, err
	}
	if it.Seller == buyer {
		return nil, fail(bursar.Invalid, "不能购买自己的课程")
	}
	o, _, err := s.deps.Orders.CreatePurchase(c.ctx, c.actor, service.PurchaseInput{Buyer: buyer, Item: it.ID, Amount: amount})
	if err != nil {
		return nil, err
	}
	item := createdJSON(o)
	if method != "" && o.Status == bursar.OrderPending {
		_, pay, err := s.deps.Orders.PayWithChannel(c.ctx, c.actor, o.ID, method, opt)
		if err != nil {
			return nil, err
		}
		item.PayURL, item.OrderString, item.PayParams = pay.URL, pay.OrderString, pay.Params
	}
	return s.list(item), nil
}

// user is the user a call acts for: the token's own, or for a platform
// key the user_id parameter, which a user token may give only as its own.
func user(c call) (bursar.UserID, error) {
	u, err := c.p.id("user_id")
	switch {
	case err != nil:
		return "", err
	case c.actor.IsPlatform() && u == "":
		return "", fail(bursar.Invalid, "使用平台密钥时须提供 user_id")
	case c.actor.IsPlatform():
		return bursar.UserID(u), nil
	case u != "" && bursar.UserID(u) != c.actor.User:
		return "", fail(bursar.Invalid, "user_id 只能是当前登录用户")
	}
	return c.actor.User, nil
}

// defaultMethods are how an app pays at each servicer when create is asked
// to start the payment without a method: the platforms' app SDKs.
var defaultMethods = map[string]channel.Method{"1": channel.WeChatApp, "2": channel.AlipayApp}

// payMethod reads create's optional servicer and method (not in the seed)
// and what some methods need: return_url (Alipay page and wap), openid
// (WeChat JSAPI); WeChat H5 gets the caller's IP address. No servicer and
// no method: the app pays by itself, as in the seed.
func payMethod(c call) (channel.Method, service.PayOptions, error) {
	sv, m := c.p["servicer"], channel.Method(c.p["method"])
	if sv != "" && defaultMethods[sv] == "" {
		return "", service.PayOptions{}, fail(bursar.Invalid, "servicer 只能是 1(微信)或 2(支付宝)")
	}
	switch {
	case m != "" && m.Channel() == "":
		return "", service.PayOptions{}, fail(bursar.Invalid, "method 只能是 "+channel.MethodList()+" 之一")
	case m != "" && sv != "" && m.Channel() != defaultMethods[sv].Channel():
		return "", service.PayOptions{}, fail(bursar.Invalid, "method 与 servicer 不符")
	case m == "":
		m = defaultMethods[sv]
	}
	if m == "" {
		return "", service.PayOptions{}, nil
	}
	opt := service.PayOptions{OpenID: c.p["openid"], ClientIP: clientip.Of(c.r)}
	if ru := c.p["return_url"]; ru != "" {
		u, err := url.Parse(ru)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", service.PayOptions{}, fail(bursar.Invalid, "return_url 应为 http 或 https 的完整地址")
		}
		opt.ReturnURL = ru
	}
	// Checked before the order is made, so bad input leaves nothing behind.
	if err := service.CheckPayOptions(m, opt); err != nil {
		return "", service.PayOptions{}, fail(bursar.Invalid, "参数错误:"+bursar.ErrorMessage(err))
	}
	return m, opt, nil
}

// handleOrderGet is 6.3: one order by id or by trade_no; id wins when both
// are given. Another user's order answers exactly as a missing one.
func (s *Server) handleOrderGet(c call) (any, error) {
	id, err := c.p.id("id")
	if err != nil {
		return nil, err
	}
	no, err := c.p.id("trade_no")
	if err != nil && id == "" {
		return nil, err
	}
	var o bursar.Order
	switch {
	case id != "":
		o, err = s.deps.Orders.Get(c.ctx, c.actor, bursar.OrderID(id))
	case no != "":
		o, err = s.deps.Orders.GetByNo(c.ctx, c.actor, no)
	default:
		return nil, fail(bursar.Invalid, "缺少订单编号参数 id 或 trade_no")
	}
	if bursar.ErrorCode(err) == bursar.NotFound || (err == nil && o.Type != bursar.OrderPurchase) {
		return nil, fail(bursar.NotFound, "订单不存在")
	}
	if err != nil {
		return nil, err
	}
	items, err := s.orderItems(c, o)
	if err != nil {
		return nil, err
	}
	return s.list(items...), nil
}

// maxOffset is how deep page numbers reach, as deep as the store pages.
const maxOffset = 10_000

// handleOrderList is 6.4: a teacher's sold orders or a student's bought
// ones, newest first, page by page (page from 1, page_size 1 to 100,
// default 10). role=seller or role=buyer chooses; without it a user who
// has sold anything sees sold orders, anyone else bought ones.
func (s *Server) handleOrderList(c call) (any, error) {
	u, err := user(c)
	if err != nil {
		return nil, err
	}
	size, err := c.p.number("page_size", 10, 1, 100)
	if err != nil {
		return nil, err
	}
	page, err := c.p.number("page", 1, 1, maxOffset+1)
	if err != nil {
		return nil, err
	}
	if (page-1)*size > maxOffset {
		return nil, fail(bursar.Invalid, "page 过大:最多查询到第 "+strconv.Itoa(maxOffset)+" 条")
	}
	f := bursar.OrderFilter{Type: bursar.OrderPurchase, Limit: size, Offset: (page - 1) * size}
	switch c.p["role"] {
	case "seller":
		f.Seller = u
	case "buyer":
		f.Buyer = u
	case "":
		sold, _, err := s.deps.Orders.List(c.ctx, c.actor, bursar.OrderFilter{Seller: u, Type: bursar.OrderPurchase, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(sold) > 0 {
			f.Seller = u
		} else {
			f.Buyer = u
		}
	default:
		return nil, fail(bursar.Invalid, "role 只能是 seller 或 buyer")
	}
	orders, _, err := s.deps.Orders.List(c.ctx, c.actor, f)
	if err != nil {
		return nil, err
	}
	items, err := s.orderItems(c, orders...)
	if err != nil {
		return nil, err
	}
	return s.list(items...), nil
}
