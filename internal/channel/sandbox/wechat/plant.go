package wechat

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// The kinds of difference POST /wechat/sandbox/bill/plant plants in a bill.
const (
	plantExtraPayment = "extra_payment" // a payment the merchant never saw
	plantDrop         = "drop"          // a line left out
	plantAmount       = "amount"        // a line with another amount
	plantExtraRefund  = "extra_refund"  // a refund the merchant never asked for
	plantClear        = "clear"         // not a plant: removes a day's plants
)

// billPlant is a difference planted in the bill of a day. It is kept in
// the state and applied every time that bill is written, so a bill
// downloaded twice says the same.
type billPlant struct {
	Kind          string        `json:"kind"`
	Date          string        `json:"date"` // yyyy-MM-dd, Beijing
	OutTradeNo    string        `json:"out_trade_no"`
	TransactionID string        `json:"transaction_id,omitempty"`
	OutRefundNo   string        `json:"out_refund_no,omitempty"` // drop, amount: a refund's line instead of the payment's
	RefundID      string        `json:"refund_id,omitempty"`     // extra_refund: WeChat's number for it
	Amount        bursar.Amount `json:"amount,omitempty"`        // fen
}

// The times of day planted lines carry.
const (
	plantedPaymentAt = 12 * time.Hour
	plantedRefundAt  = 18 * time.Hour
)

// maxPlantAmount bounds a planted amount, as WeChat bounds an order.
const maxPlantAmount = bursar.Amount(100_000_000_00)

// handlePlant is POST /wechat/sandbox/bill/plant: plant a difference in
// the bill of a day, or with kind clear remove the day's plants.
func (g *Gateway) handlePlant(w http.ResponseWriter, r *http.Request) {
	in, err := controlInput(r)
	if err != nil {
		writeControlErr(w, err)
		return
	}
	day, err := time.ParseInLocation(time.DateOnly, in["date"], beijing)
	if err != nil {
		writeControlError(w, http.StatusBadRequest, "invalid", "date must be a day as yyyy-MM-dd, Beijing time.")
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	p := billPlant{Kind: in["kind"], Date: in["date"], OutTradeNo: in["out_trade_no"],
		TransactionID: in["transaction_id"], OutRefundNo: in["out_refund_no"]}
	if p.Kind == plantClear {
		g.st.BillPlants = slices.DeleteFunc(g.st.BillPlants, func(q billPlant) bool { return q.Date == p.Date })
	} else {
		if err := g.preparePlantLocked(&p, day, in["amount"]); err != nil {
			writeControlErr(w, err)
			return
		}
		g.st.BillPlants = append(g.st.BillPlants, p)
	}
	g.persistLocked()
	plants := []billPlant{}
	for _, q := range g.st.BillPlants {
		if q.Date == p.Date {
			plants = append(plants, q)
		}
	}
	out := map[string]any{"plants": plants}
	if p.Kind != plantClear {
		out["plant"] = p
	}
	writeJSON(w, http.StatusOK, out)
}

// preparePlantLocked checks a plant and completes it: the transaction id
// of the trade it is about, the numbers of a planted payment or refund.
func (g *Gateway) preparePlantLocked(p *billPlant, day time.Time, amount string) error {
	switch p.Kind {
	case plantExtraPayment:
		if p.OutTradeNo == "" {
			p.OutTradeNo = "PLANTED" + randomDigits(12)
		}
		if p.TransactionID == "" {
			p.TransactionID = g.nextIDLocked("4200000000", day)
		}
	case plantDrop, plantAmount, plantExtraRefund:
		if p.OutTradeNo == "" {
			return controlErr(http.StatusBadRequest, "invalid", "out_trade_no is required.")
		}
		t, ok := g.st.Trades[p.OutTradeNo]
		if !ok {
			return controlErr(http.StatusNotFound, "not_found", "No trade has out_trade_no %q.", p.OutTradeNo)
		}
		if p.Kind == plantExtraRefund && !t.paid() {
			return controlErr(http.StatusConflict, "wrong_state", "The trade %q is not paid; only a paid trade can be refunded.", p.OutTradeNo)
		}
		p.TransactionID = t.TransactionID
		if p.Kind == plantExtraRefund {
			if p.OutRefundNo == "" {
				p.OutRefundNo = "PLANTED-R" + randomDigits(12)
			}
			p.RefundID = g.nextIDLocked("50300000000", day)
		}
	default:
		return controlErr(http.StatusBadRequest, "invalid", `kind must be "extra_payment", "drop", "amount", "extra_refund" or "clear".`)
	}
	if p.Kind != plantDrop {
		n, err := strconv.ParseInt(amount, 10, 64)
		if err != nil || n < 1 || bursar.Amount(n) > maxPlantAmount {
			return controlErr(http.StatusBadRequest, "invalid", "amount is in fen, a whole number from 1 to %d: send 1990 for ¥19.90.", maxPlantAmount)
		}
		p.Amount = bursar.Amount(n)
	}
	return nil
}

// plantRowsLocked applies the plants for the bill of day (midnight,
// Beijing), in the order they were made.
func (g *Gateway) plantRowsLocked(day time.Time, rows []BillRow) []BillRow {
	date := day.Format(time.DateOnly)
	for _, p := range g.st.BillPlants {
		if p.Date != date {
			continue
		}
		// A plant names the payment's line, or with OutRefundNo a refund's.
		match := func(r BillRow) bool {
			if r.OutTradeNo != p.OutTradeNo {
				return false
			}
			if p.OutRefundNo == "" {
				return r.TradeState == stateSuccess
			}
			return r.TradeState == stateRefund && r.OutRefundNo == p.OutRefundNo
		}
		switch p.Kind {
		case plantExtraPayment:
			rows = append(rows, BillRow{
				Time: day.Add(plantedPaymentAt), AppID: g.cfg.AppID, MchID: g.cfg.MchID, SubMchID: "0",
				TransactionID: p.TransactionID, OutTradeNo: p.OutTradeNo, OpenID: "oSandboxPlanted", TradeType: tradeNative,
				TradeState: stateSuccess, BankType: "OTHERS", Currency: "CNY", Settlement: p.Amount,
				RefundID: "0", OutRefundNo: "0", Subject: "planted payment", Fee: fee(p.Amount), Rate: feeRate, Total: p.Amount,
			})
		case plantDrop:
			rows = slices.DeleteFunc(rows, match)
		case plantAmount:
			for i := range rows {
				if !match(rows[i]) {
					continue
				}
				if rows[i].TradeState == stateRefund {
					rows[i].Refund, rows[i].RefundAsked = p.Amount, p.Amount
				} else {
					rows[i].Settlement, rows[i].Total = p.Amount, p.Amount
				}
			}
		case plantExtraRefund:
			row := BillRow{
				Time: day.Add(plantedRefundAt), AppID: g.cfg.AppID, MchID: g.cfg.MchID, SubMchID: "0",
				TransactionID: p.TransactionID, OutTradeNo: p.OutTradeNo, TradeType: tradeNative,
				TradeState: stateRefund, BankType: "OTHERS", Currency: "CNY",
				RefundID: p.RefundID, OutRefundNo: p.OutRefundNo, Refund: p.Amount, RefundType: "ORIGINAL",
				RefundStatus: refundSuccess, Fee: -fee(p.Amount), Rate: feeRate, RefundAsked: p.Amount,
			}
			if t := g.st.Trades[p.OutTradeNo]; t != nil {
				row.AppID, row.OpenID, row.TradeType, row.Subject, row.Attach = t.AppID, t.OpenID, t.TradeType, t.Description, t.Attach
			}
			rows = append(rows, row)
		}
	}
	return rows
}
