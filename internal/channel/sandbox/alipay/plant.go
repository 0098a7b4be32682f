package alipay

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// The kinds of difference POST /alipay/sandbox/bill/plant plants in a bill.
const (
	plantExtraPayment = "extra_payment" // a payment the merchant never saw
	plantDrop         = "drop"          // a line left out
	plantAmount       = "amount"        // a line with another amount
	plantExtraRefund  = "extra_refund"  // a refund the merchant never asked for
	plantClear        = "clear"         // not a plant: removes a day's plants
)

// billPlant is a difference planted in an app's bill for a day. It is
// kept with the controls and applied every time that bill is written, so
// a bill downloaded twice says the same.
type billPlant struct {
	Kind       string        `json:"kind"`
	AppID      string        `json:"app_id"`
	Date       string        `json:"date"` // yyyy-MM-dd, Beijing
	OutTradeNo string        `json:"out_trade_no"`
	TradeNo    string        `json:"trade_no,omitempty"`
	RefundNo   string        `json:"refund_no,omitempty"` // drop, amount: a refund's line instead of the payment's
	Amount     bursar.Amount `json:"amount,omitempty"`    // fen
}

// The times of day planted lines carry.
const (
	plantedPaymentAt = 12 * time.Hour
	plantedRefundAt  = 18 * time.Hour
)

// handleControlBillPlant plants a difference in an app's bill for a day;
// kind clear removes the day's plants instead.
func (g *Gateway) handleControlBillPlant(w http.ResponseWriter, r *http.Request) {
	in, cerr := input(w, r)
	if cerr != nil {
		writeCtlError(w, cerr)
		return
	}
	if _, err := time.ParseInLocation(time.DateOnly, in["date"], beijing); err != nil {
		writeCtlError(w, badRequest("date must be a day as yyyy-MM-dd, Beijing time."))
		return
	}
	if a := in["app_id"]; a != "" && g.apps[a] == nil {
		writeCtlError(w, badRequest(fmt.Sprintf("app_id %q is not an app of this sandbox.", a)))
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	p := billPlant{Kind: in["kind"], AppID: in["app_id"], Date: in["date"], OutTradeNo: in["out_trade_no"],
		TradeNo: in["trade_no"], RefundNo: in["refund_no"]}
	c := g.st.Controls
	if p.Kind == plantClear {
		c.BillPlants = slices.DeleteFunc(slices.Clone(c.BillPlants), func(q billPlant) bool {
			return q.Date == p.Date && (p.AppID == "" || q.AppID == p.AppID)
		})
	} else {
		if cerr := g.preparePlant(&p, in["amount"]); cerr != nil {
			writeCtlError(w, cerr)
			return
		}
		c.BillPlants = append(slices.Clone(c.BillPlants), p)
	}
	g.st.Controls = c
	plants := []billPlant{}
	for _, q := range c.BillPlants {
		if q.Date == p.Date {
			plants = append(plants, q)
		}
	}
	out := map[string]any{"plants": plants}
	if p.Kind != plantClear {
		out["plant"] = p
	}
	g.answerCommit(w, out)
}

// preparePlant checks a plant and completes it: the app and trade number
// of the trade it is about, the numbers of a planted payment or refund.
// The caller holds g.mu.
func (g *Gateway) preparePlant(p *billPlant, amount string) *ctlError {
	needAmount := p.Kind != plantDrop
	switch p.Kind {
	case plantExtraPayment:
		if p.AppID == "" {
			p.AppID = CertAppID
		}
		if p.OutTradeNo == "" {
			p.OutTradeNo = fmt.Sprintf("PLANTED%010d", g.nextSeq())
		}
		if p.TradeNo == "" {
			day, _ := time.ParseInLocation(time.DateOnly, p.Date, beijing) // checked by the caller
			p.TradeNo = g.tradeNo(day)
		}
	case plantDrop, plantAmount, plantExtraRefund:
		t, cerr := g.payable(p.AppID, p.OutTradeNo)
		if cerr != nil {
			return cerr
		}
		if p.Kind == plantExtraRefund && !t.paid() {
			return &ctlError{http.StatusConflict, "wrong_state", "The trade " + t.OutTradeNo + " is not paid; only a paid trade can be refunded."}
		}
		p.AppID, p.TradeNo = t.AppID, t.TradeNo
		if p.Kind == plantExtraRefund && p.RefundNo == "" {
			p.RefundNo = fmt.Sprintf("PLANTED-R%010d", g.nextSeq())
		}
	default:
		return badRequest(`kind must be "extra_payment", "drop", "amount", "extra_refund" or "clear".`)
	}
	if needAmount {
		n, err := strconv.ParseInt(amount, 10, 64)
		if err != nil || n < 1 || bursar.Amount(n) > maxTradeAmount {
			return badRequest(fmt.Sprintf("amount is in fen, a whole number from 1 to %d: send 1990 for ¥19.90.", maxTradeAmount))
		}
		p.Amount = bursar.Amount(n)
	}
	return nil
}

// plantRows applies the plants for an app's bill of day, in the order
// they were made. The caller holds g.mu.
func (g *Gateway) plantRows(appID string, day time.Time, rows []BillRow) []BillRow {
	date := day.In(beijing).Format(time.DateOnly)
	for _, p := range g.st.Controls.BillPlants {
		if p.AppID != appID || p.Date != date {
			continue
		}
		// A plant names the payment's line, or with RefundNo a refund's.
		match := func(r BillRow) bool {
			if r.OutTradeNo != p.OutTradeNo {
				return false
			}
			if p.RefundNo == "" {
				return r.Kind == BillPayment
			}
			return r.Kind == BillRefund && r.RefundNo == p.RefundNo
		}
		switch p.Kind {
		case plantExtraPayment:
			at := day.Add(plantedPaymentAt)
			rows = append(rows, BillRow{TradeNo: p.TradeNo, OutTradeNo: p.OutTradeNo, Kind: BillPayment,
				Subject: "planted payment", Created: at, Finished: at, Buyer: "pla***@example.com",
				Amount: p.Amount, Received: p.Amount})
		case plantDrop:
			rows = slices.DeleteFunc(rows, match)
		case plantAmount:
			for i := range rows {
				if match(rows[i]) {
					a := p.Amount
					if rows[i].Kind == BillRefund {
						a = -a
					}
					rows[i].Amount, rows[i].Received = a, a
				}
			}
		case plantExtraRefund:
			at := day.Add(plantedRefundAt)
			row := BillRow{TradeNo: p.TradeNo, OutTradeNo: p.OutTradeNo, Kind: BillRefund, Created: at, Finished: at,
				Amount: -p.Amount, Received: -p.Amount, RefundNo: p.RefundNo, Remark: "planted refund"}
			if t := g.st.Trades[key(p.AppID, p.OutTradeNo)]; t != nil {
				row.Subject, row.Buyer = t.Subject, t.BuyerLogonID
			}
			rows = append(rows, row)
		}
	}
	return rows
}
