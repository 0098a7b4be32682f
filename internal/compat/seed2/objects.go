package seed2

import (
	"context"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// The answers of seed 2. Identifiers, amounts, pay_status and servicer are
// strings, as the seed's examples show them (its server sent database rows
// as they were); create's status is a number, as its example shows.

// beijing is the zone of the seed's times; the platform's users are in China.
var beijing = time.FixedZone("CST", 8*3600)

// timeLayout is the seed's time format: "2018-07-05 10:57:18".
const timeLayout = "2006-01-02 15:04:05"

// beijingTime formats t in the seed's way.
func beijingTime(t time.Time) string { return t.In(beijing).Format(timeLayout) }

// listBody is the envelope of every answer with data.
type listBody struct {
	Code int      `json:"code"`
	Data listData `json:"data"`
}

// listData holds one page of items. Count is the number of items in this
// answer, as every example of the seed shows it, not a total.
type listData struct {
	Count int   `json:"count"`
	TS    int64 `json:"ts"`
	Items []any `json:"items"`
}

func (s *Server) list(items ...any) listBody {
	if items == nil {
		items = []any{}
	}
	return listBody{Data: listData{Count: len(items), TS: s.deps.Now().Unix(), Items: items}}
}

// okBody is the callbacks' answer: {"code": 0}.
type okBody struct {
	Code int `json:"code"`
}

// createdItem is the item create answers.
type createdItem struct {
	ID      bursar.OrderID `json:"id"`
	Name    string         `json:"name"`
	Amount  string         `json:"amount"`
	TradeNo string         `json:"trade_no"`
	// Status is 0 when the order is to be paid, 2 when it is already
	// complete (free, owned, or discounted to zero).
	Status int `json:"status"`

	// Not in the seed: what the app needs to pay, when create was asked
	// to start the payment (servicer / method).
	PayURL      string            `json:"pay_url,omitempty"`
	OrderString string            `json:"order_string,omitempty"`
	PayParams   map[string]string `json:"pay_params,omitempty"`
}

func createdJSON(o bursar.Order) createdItem {
	status := 0
	if paid(o.Status) {
		status = 2
	}
	return createdItem{ID: o.ID, Name: o.Subject, Amount: o.Amount.Amount.Yuan(), TradeNo: o.No, Status: status}
}

// paid reports whether an order counts as paid: in escrow or complete (a
// free order too), and not refunded.
func paid(s bursar.OrderStatus) bool {
	return s == bursar.OrderPaid || s == bursar.OrderCompleted || s == bursar.OrderRefundRequested
}

// orderItem is an order as get and list answer it, in the seed's field order.
type orderItem struct {
	ID           bursar.OrderID `json:"id"`
	UserID       bursar.UserID  `json:"user_id"`
	PuberID      bursar.UserID  `json:"puber_id"`
	AlbumID      *bursar.ItemID `json:"album_id"`
	Title        string         `json:"title"`
	Price        string         `json:"price"`
	Amount       string         `json:"amount"`
	Servicer     *string        `json:"servicer"`
	TradeNo      string         `json:"trade_no"`
	ThirdTradeNo *string        `json:"third_trade_no"`
	ThirdBuyerID *string        `json:"third_buyer_id"`
	PayStatus    string         `json:"pay_status"`
	AddTime      string         `json:"add_time"`
	PayTime      string         `json:"pay_time"`
}

// The servicer numbers: the platform that took the money.
var servicers = map[bursar.Channel]string{bursar.ChannelWeChat: "1", bursar.ChannelAlipay: "2"}

// payStatus is seed 2's pay_status: "2" while the money is paid and not
// returned; "4" (payment error) when it was returned in full, or when the
// latest channel payment of an unpaid order failed; "0" otherwise, an
// order unpaid whether it can still be paid or has closed.
func payStatus(o bursar.Order, ps []bursar.Payment) string {
	switch {
	case paid(o.Status):
		return "2"
	case o.Status == bursar.OrderRefunded:
		return "4"
	case o.Status == bursar.OrderPending:
		var latest bursar.Payment
		for _, p := range ps {
			if !p.UpdatedAt.Before(latest.UpdatedAt) {
				latest = p
			}
		}
		if latest.Status == bursar.PaymentFailed {
			return "4"
		}
	}
	return "0"
}

// orderJSON builds an order's item from the order, its payments and its
// item, when it has one (nil otherwise).
func orderJSON(o bursar.Order, ps []bursar.Payment, it *bursar.Item) orderItem {
	v := orderItem{ID: o.ID, UserID: o.Buyer, PuberID: o.Seller, Title: o.Subject,
		Price: o.Amount.Amount.Yuan(), Amount: o.Amount.Amount.Yuan(), TradeNo: o.No,
		PayStatus: payStatus(o, ps), AddTime: beijingTime(o.CreatedAt)}
	if it != nil {
		v.AlbumID, v.Title, v.Price = &it.ID, it.Title, it.Price.Amount.Yuan()
	}
	if n, ok := servicers[o.Channel]; ok {
		v.Servicer = &n
	}
	// An unpaid order's pay_time is its add_time, as the seed's example of
	// an unpaid order shows it: clients read it as a string.
	v.PayTime = v.AddTime
	if (paid(o.Status) || o.Status == bursar.OrderRefunded) && !o.PaidAt.IsZero() {
		v.PayTime = beijingTime(o.PaidAt)
	}
	for _, p := range ps {
		if p.Channel == o.Channel && p.Status == bursar.PaymentPaid {
			v.ThirdTradeNo, v.ThirdBuyerID = nonEmpty(p.TradeNo), nonEmpty(p.Payer)
		}
	}
	return v
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// orderItems builds the items of orders the actor may see, reading each
// order's payments and, once per album, the album.
func (s *Server) orderItems(c call, orders ...bursar.Order) ([]any, error) {
	albums := map[bursar.ItemID]*bursar.Item{}
	items := make([]any, 0, len(orders))
	for _, o := range orders {
		ps, err := s.deps.Orders.Payments(c.ctx, c.actor, o.ID)
		if err != nil {
			return nil, err
		}
		it, err := album(c.ctx, s, albums, o.Item)
		if err != nil {
			return nil, err
		}
		items = append(items, orderJSON(o, ps, it))
	}
	return items, nil
}

// album returns an order's item through a cache, nil for an order without one.
func album(ctx context.Context, s *Server, cache map[bursar.ItemID]*bursar.Item, id bursar.ItemID) (*bursar.Item, error) {
	if id == "" {
		return nil, nil
	}
	if it, ok := cache[id]; ok {
		return it, nil
	}
	it, err := s.deps.Items.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	cache[id] = &it
	return &it, nil
}
