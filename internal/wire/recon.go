package wire

import (
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// beijing is the time zone a reconciliation's date is in.
var beijing = time.FixedZone("CST", 8*3600)

// Date formats a reconciliation day as its Beijing date, yyyy-MM-dd.
func Date(day time.Time) string { return day.In(beijing).Format(time.DateOnly) }

// ReconRun is a reconciliation of a channel's bill for a day against
// Bursar's records.
type ReconRun struct {
	ID         bursar.ReconRunID  `json:"id"`
	Object     string             `json:"object"`
	Channel    bursar.Channel     `json:"channel"`
	Date       string             `json:"date"` // Beijing
	Status     bursar.ReconStatus `json:"status"`
	StartedBy  string             `json:"started_by"`
	StartedAt  *string            `json:"started_at"`
	FinishedAt *string            `json:"finished_at"`
	Error      string             `json:"error,omitempty"`
	Currency   bursar.Currency    `json:"currency"`
	Lines      int                `json:"lines"`
	Matched    int                `json:"matched"`
	Exceptions ReconCounts        `json:"exceptions"`
	Bill       ReconBillTotals    `json:"bill"`
	Ours       ReconOurTotals     `json:"ours"`
}

// ReconCounts counts a run's exceptions by kind.
type ReconCounts struct {
	Total          int `json:"total"`
	MissingOurs    int `json:"missing_ours"`
	MissingTheirs  int `json:"missing_theirs"`
	AmountMismatch int `json:"amount_mismatch"`
	StatusMismatch int `json:"status_mismatch"`
}

// ReconBillTotals is what the channel's bill states.
type ReconBillTotals struct {
	Payments     int           `json:"payments"`
	PaymentTotal bursar.Amount `json:"payment_total"`
	Refunds      int           `json:"refunds"`
	RefundTotal  bursar.Amount `json:"refund_total"`
	FeeTotal     bursar.Amount `json:"fee_total"`
}

// ReconOurTotals is what Bursar booked at the channel that day.
type ReconOurTotals struct {
	Payments     int           `json:"payments"`
	PaymentTotal bursar.Amount `json:"payment_total"`
	Refunds      int           `json:"refunds"`
	RefundTotal  bursar.Amount `json:"refund_total"`
	Payouts      int           `json:"payouts"`
	PayoutTotal  bursar.Amount `json:"payout_total"`
}

// ReconRunOf shows r.
func ReconRunOf(r bursar.ReconRun) ReconRun {
	return ReconRun{ID: r.ID, Object: "reconciliation", Channel: r.Channel, Date: Date(r.Day), Status: r.Status,
		StartedBy: r.StartedBy, StartedAt: Time(r.StartedAt), FinishedAt: Time(r.FinishedAt), Error: r.Error,
		Currency: bursar.CNY, Lines: r.Lines, Matched: r.Matched,
		Exceptions: ReconCounts{Total: r.Exceptions(), MissingOurs: r.MissingOurs, MissingTheirs: r.MissingTheirs,
			AmountMismatch: r.AmountMismatches, StatusMismatch: r.StatusMismatches},
		Bill: ReconBillTotals{Payments: r.BillPayments, PaymentTotal: r.BillPaymentTotal, Refunds: r.BillRefunds,
			RefundTotal: r.BillRefundTotal, FeeTotal: r.BillFeeTotal},
		Ours: ReconOurTotals{Payments: r.OurPayments, PaymentTotal: r.OurPaymentTotal, Refunds: r.OurRefunds,
			RefundTotal: r.OurRefundTotal, Payouts: r.OurPayouts, PayoutTotal: r.OurPayoutTotal}}
}

// ReconException is one disagreement between a channel's bill and Bursar.
// It is what the API shows and what a reconciliation.mismatch event carries.
type ReconException struct {
	ID               bursar.ReconExceptionID     `json:"id"`
	Object           string                      `json:"object"`
	ReconciliationID bursar.ReconRunID           `json:"reconciliation_id"`
	Channel          bursar.Channel              `json:"channel"`
	Date             string                      `json:"date"`
	Kind             bursar.ReconKind            `json:"kind"`
	Status           bursar.ReconExceptionStatus `json:"status"`
	Currency         bursar.Currency             `json:"currency"`
	// Bill is what the bill says; null when the bill does not have it.
	Bill *ReconBillLine `json:"bill"`
	// Bursar is what Bursar says; null when Bursar does not have it.
	Bursar     *ReconOurs       `json:"bursar"`
	Detail     string           `json:"detail"`
	Resolution *ReconResolution `json:"resolution"`
	CreatedAt  *string          `json:"created_at"`
}

// ReconBillLine is a line of a channel's bill.
type ReconBillLine struct {
	Line     int           `json:"line"`
	OrderNo  string        `json:"order_no"`
	TradeNo  string        `json:"trade_no"`
	RefundNo string        `json:"refund_no,omitempty"`
	Amount   bursar.Amount `json:"amount"`
	Fee      bursar.Amount `json:"fee"`
	At       *string       `json:"at"`
}

// ReconOurs is Bursar's record of a payment or refund.
type ReconOurs struct {
	OrderID  bursar.OrderID  `json:"order_id"`
	OrderNo  string          `json:"order_no"`
	RefundID bursar.RefundID `json:"refund_id,omitempty"`
	Amount   bursar.Amount   `json:"amount"`
	Status   string          `json:"status"`
}

// ReconResolution says who resolved an exception, how and why.
type ReconResolution struct {
	Action      bursar.ReconAction      `json:"action"`
	Note        string                  `json:"note"`
	ResolvedBy  string                  `json:"resolved_by"`
	ResolvedAt  *string                 `json:"resolved_at"`
	CarriedFrom bursar.ReconExceptionID `json:"carried_from,omitempty"`
}

// ReconExceptionOf shows e.
func ReconExceptionOf(e bursar.ReconException) ReconException {
	out := ReconException{ID: e.ID, Object: "reconciliation_exception", ReconciliationID: e.Run, Channel: e.Channel,
		Date: Date(e.Day), Kind: e.Kind, Status: e.Status, Currency: bursar.CNY, Detail: e.Detail, CreatedAt: Time(e.CreatedAt)}
	if e.Kind != bursar.ReconMissingTheirs {
		out.Bill = &ReconBillLine{Line: e.Line, OrderNo: e.OrderNo, TradeNo: e.TradeNo, RefundNo: e.RefundNo,
			Amount: e.BillAmount, Fee: e.BillFee, At: Time(e.BillAt)}
	}
	if e.Kind != bursar.ReconMissingOurs {
		out.Bursar = &ReconOurs{OrderID: e.Order, OrderNo: e.OrderNo, RefundID: e.Refund, Amount: e.OurAmount, Status: e.OurStatus}
	}
	if e.Status == bursar.ReconResolved {
		out.Resolution = &ReconResolution{Action: e.Action, Note: e.Note, ResolvedBy: e.ResolvedBy,
			ResolvedAt: Time(e.ResolvedAt), CarriedFrom: e.CarriedFrom}
	}
	return out
}

// ParseDate reads a reconciliation date, yyyy-MM-dd, as midnight Beijing
// time.
func ParseDate(param, s string) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, s, beijing)
	if err != nil {
		return time.Time{}, bursar.InvalidParam(param, "A date is a day as yyyy-MM-dd, Beijing time, such as 2026-11-21.")
	}
	return d, nil
}
