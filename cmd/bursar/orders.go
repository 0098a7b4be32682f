package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/wire"
)

func ordersCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:  "orders",
		Usage: "purchases, top-ups and withdrawals",
		Commands: []*cli.Command{
			{
				Name:      "show",
				Usage:     "show an order with its ledger entries, channel payments and refunds",
				ArgsUsage: "ORDER_ID",
				Flags:     withJSON(getenv),
				Action: dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
					id, err := oneArg(cmd, "order ID")
					if err != nil {
						return nil, err
					}
					return showOrder(ctx, d, bursar.OrderID(id))
				}),
			},
			{
				Name:  "list",
				Usage: "list orders, newest first",
				Flags: withJSON(getenv,
					&cli.StringFlag{Name: "buyer", Usage: "only orders this user bought (for top-ups and withdrawals: made)"},
					&cli.StringFlag{Name: "seller", Usage: "only orders this user sold"},
					&cli.StringFlag{Name: "status", Usage: "only orders in this state: " + joinStrings(bursar.OrderStatuses)},
					&cli.StringFlag{Name: "type", Usage: "only orders of this type: " + joinStrings(bursar.OrderTypes)},
					&cli.IntFlag{Name: "limit", Value: 20, Usage: "at most this many (1 to 100)"},
					&cli.StringFlag{Name: "after", Usage: "the next page: orders older than this order ID"},
				),
				Action: dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
					f := bursar.OrderFilter{Buyer: bursar.UserID(cmd.String("buyer")), Seller: bursar.UserID(cmd.String("seller")),
						Status: bursar.OrderStatus(cmd.String("status")), Type: bursar.OrderType(cmd.String("type")),
						After: bursar.OrderID(cmd.String("after")), Limit: int(cmd.Int("limit"))}
					switch {
					case f.Status != "" && !slices.Contains(bursar.OrderStatuses, f.Status):
						return nil, usageError{fmt.Errorf("--status is one of %s, not %q", joinStrings(bursar.OrderStatuses), f.Status)}
					case f.Type != "" && !slices.Contains(bursar.OrderTypes, f.Type):
						return nil, usageError{fmt.Errorf("--type is one of %s, not %q", joinStrings(bursar.OrderTypes), f.Type)}
					case f.Limit < 1 || f.Limit > 100:
						return nil, usageError{fmt.Errorf("--limit is between 1 and 100, not %d", f.Limit)}
					}
					os, more, err := service.NewOrders(d).List(ctx, operator, f)
					l := orderList{Object: "list", HasMore: more, Data: make([]wire.Order, 0, len(os))}
					for _, o := range os {
						l.Data = append(l.Data, wire.OrderOf(o))
					}
					return l, err
				}),
			},
		},
	}
}

// orderDetail is an order with everything that happened to it: the API's
// order with its entries (GET /v1/orders/{id}?expand=entries), and its
// payments and refunds as their own endpoints list them.
type orderDetail struct {
	wire.Order
	Entries  []wire.Entry   `json:"entries"`
	Payments []wire.Payment `json:"payments"`
	Refunds  []wire.Refund  `json:"refunds"`
}

func showOrder(ctx context.Context, d service.Deps, id bursar.OrderID) (orderDetail, error) {
	o, es, err := service.NewOrders(d).GetWithEntries(ctx, operator, id)
	if err != nil {
		return orderDetail{}, err
	}
	ps, err := service.NewOrders(d).Payments(ctx, operator, id)
	if err != nil {
		return orderDetail{}, err
	}
	rs, err := service.NewRefunds(d).List(ctx, operator, id)
	if err != nil {
		return orderDetail{}, err
	}
	out := orderDetail{Order: wire.OrderOf(o), Entries: make([]wire.Entry, 0, len(es)),
		Payments: make([]wire.Payment, 0, len(ps)), Refunds: make([]wire.Refund, 0, len(rs))}
	for _, e := range es {
		out.Entries = append(out.Entries, wire.EntryOf(e))
	}
	for _, p := range ps {
		out.Payments = append(out.Payments, wire.PaymentOf(p))
	}
	for _, r := range rs {
		out.Refunds = append(out.Refunds, wire.RefundOf(r))
	}
	return out, nil
}

func (o orderDetail) table(cols func(...string)) {
	orderRows(cols, []wire.Order{o.Order})
	cols("")
	for _, kv := range [][2]string{
		{"subject", o.Subject}, {"item", string(o.ItemID)},
		{"paid from cash / earnings", o.PaidFromCash.Yuan() + " / " + o.PaidFromEarnings.Yuan()},
		{"refunded", o.Refunded.Yuan()}, {"fee", o.Fee.Yuan()},
		{"expires", deref(o.ExpiresAt)}, {"paid", deref(o.PaidAt)}, {"release", deref(o.ReleaseAt)},
		{"completed", deref(o.CompletedAt)}, {"access until", deref(o.AccessUntil)},
	} {
		cols(kv[0]+":", kv[1])
	}
	if o.Type == bursar.OrderWithdrawal {
		cols("payee:", o.PayoutAccount+" ("+o.PayoutName+")")
		cols("needs approval:", strconv.FormatBool(o.NeedsApproval))
		if o.FailureReason != "" {
			cols("failure:", o.FailureReason)
		}
	}
	if len(o.Entries) > 0 {
		cols("")
		cols("ENTRY", "KIND", "POSTED", "POSTINGS")
		for _, e := range o.Entries {
			ps := make([]string, len(e.Postings))
			for i, p := range e.Postings {
				ps[i] = fmt.Sprintf("%s %+d", p.Account, p.Amount)
			}
			cols(strconv.FormatInt(int64(e.ID), 10), string(e.Kind), deref(e.PostedAt), strings.Join(ps, ", "))
		}
	}
	if len(o.Payments) > 0 {
		cols("")
		cols("PAYMENT", "METHOD", "AMOUNT", "STATUS", "TRADE NO", "PAID")
		for _, p := range o.Payments {
			cols(string(p.Channel), p.Method, p.Amount.Yuan(), string(p.Status), p.TradeNo, deref(p.PaidAt))
		}
	}
	if len(o.Refunds) > 0 {
		cols("")
		refundRows(cols, o.Refunds)
	}
}

type orderList list[wire.Order]

func (l orderList) table(cols func(...string)) {
	orderRows(cols, l.Data)
	last := ""
	if len(l.Data) > 0 {
		last = string(l.Data[len(l.Data)-1].ID)
	}
	list[wire.Order](l).next(cols, last)
}

func orderRows(cols func(...string), os []wire.Order) {
	cols("ID", "ORDER NO", "TYPE", "STATUS", "BUYER", "SELLER", "AMOUNT", "CHANNEL", "CREATED")
	for _, o := range os {
		cols(string(o.ID), o.OrderNo, string(o.Type), string(o.Status), string(o.BuyerID), string(o.SellerID),
			o.Amount.Yuan(), string(o.Channel), deref(o.CreatedAt))
	}
}

func refundRows(cols func(...string), rs []wire.Refund) {
	cols("REFUND", "ORDER", "AMOUNT", "STATUS", "REASON", "DECIDED BY", "NOTE")
	for _, r := range rs {
		cols(string(r.ID), string(r.OrderID), r.Amount.Yuan(), string(r.Status), oneLine(r.Reason), r.DecidedBy, oneLine(r.DecisionNote))
	}
}

func joinStrings[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
