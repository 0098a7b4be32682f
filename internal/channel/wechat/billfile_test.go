package wechat_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/wechat"
)

var bj = time.FixedZone("CST", 8*3600)

func at(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, bj)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseBillFixtures(t *testing.T) {
	tests := []struct {
		file string
		day  time.Time
		want channel.Bill
	}{
		{"testdata/reference.csv", time.Date(2021, 4, 11, 0, 0, 0, 0, bj), channel.Bill{Payments: 1, PaymentTotal: 1,
			Lines: []channel.BillLine{{Line: 2, Kind: channel.BillPayment, OrderNo: "T1", TradeNo: "4200001011202104115848219587",
				Amount: 1, At: at("2021-04-11 22:55:53")}}}},
		{"testdata/refunds.csv", time.Date(2026, 1, 1, 0, 0, 0, 0, bj), channel.Bill{Payments: 4, PaymentTotal: 2258,
			Refunds: 1, RefundTotal: 980, FeeTotal: 8, Lines: []channel.BillLine{
				// 0.11940 yuan of fee is 11.94 fen: 12.
				{Line: 2, Kind: channel.BillPayment, OrderNo: "T11", TradeNo: "4200001011202601010000000011", Amount: 1990,
					Fee: 12, At: at("2026-01-01 09:00:05")},
				// 0.00006: 0.006 fen, none.
				{Line: 3, Kind: channel.BillPayment, OrderNo: "T12", TradeNo: "4200001011202601010000000012", Amount: 1,
					At: at("2026-01-01 10:00:02")},
				// 0.01002: 1.002 fen, 1.
				{Line: 4, Kind: channel.BillPayment, OrderNo: "T13", TradeNo: "4200001011202601010000000013", Amount: 167,
					Fee: 1, At: at("2026-01-01 11:00:02")},
				// 0.00500: half a fen, up.
				{Line: 5, Kind: channel.BillPayment, OrderNo: "T14", TradeNo: "4200001011202601010000000014", Amount: 100,
					Fee: 1, At: at("2026-01-01 12:00:00")},
				// -0.05880: 5.88 fen returned, 6.
				{Line: 6, Kind: channel.BillRefund, OrderNo: "T11", TradeNo: "4200001011202601010000000011", RefundNo: "T11-R1",
					Amount: 980, Fee: -6, At: at("2026-01-01 15:30:00")},
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := wechat.ParseBill(tt.day.Add(23*time.Hour).UTC(), data)
			if err != nil {
				t.Fatalf("ParseBill() error = %v", err)
			}
			tt.want.Day = tt.day
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseBill() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// sandboxState is the part of GET /wechat/sandbox/state a bill shows.
type sandboxState struct {
	Trades map[string]struct {
		OutTradeNo    string        `json:"out_trade_no"`
		TransactionID string        `json:"transaction_id"`
		Total         bursar.Amount `json:"total"`
		SuccessTime   time.Time     `json:"success_time"`
	} `json:"trades"`
	Refunds map[string]struct {
		OutRefundNo   string        `json:"out_refund_no"`
		OutTradeNo    string        `json:"out_trade_no"`
		TransactionID string        `json:"transaction_id"`
		Amount        bursar.Amount `json:"amount"`
		Status        string        `json:"status"`
		SuccessTime   time.Time     `json:"success_time"`
	} `json:"refunds"`
}

func (b *bundle) sandboxState(t *testing.T) sandboxState {
	t.Helper()
	resp, err := http.Get(b.srv.URL + "/wechat/sandbox/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st sandboxState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// sandboxFee is the sandbox's fee: 0.60%, to the fen, half up.
func sandboxFee(a bursar.Amount) bursar.Amount { return (a*6 + 500) / 1000 }

// wantLines is what the bill of day must say, from the sandbox's records.
func (st sandboxState) wantLines(day time.Time) []channel.BillLine {
	in := func(t time.Time) bool { return !t.Before(day) && t.Before(day.AddDate(0, 0, 1)) }
	var lines []channel.BillLine
	for _, tr := range st.Trades {
		if tr.TransactionID != "" && in(tr.SuccessTime) {
			lines = append(lines, channel.BillLine{Kind: channel.BillPayment, OrderNo: tr.OutTradeNo, TradeNo: tr.TransactionID,
				Amount: tr.Total, Fee: sandboxFee(tr.Total), At: tr.SuccessTime.Truncate(time.Second)})
		}
	}
	for _, rf := range st.Refunds {
		if rf.Status == "SUCCESS" && in(rf.SuccessTime) {
			lines = append(lines, channel.BillLine{Kind: channel.BillRefund, OrderNo: rf.OutTradeNo, TradeNo: rf.TransactionID,
				RefundNo: rf.OutRefundNo, Amount: rf.Amount, Fee: -sandboxFee(rf.Amount), At: rf.SuccessTime.Truncate(time.Second)})
		}
	}
	return lines
}

// sameLines compares bill lines in any order, without their line numbers.
var sameLines = []cmp.Option{
	cmpopts.IgnoreFields(channel.BillLine{}, "Line"),
	cmpopts.SortSlices(func(a, b channel.BillLine) bool {
		return a.OrderNo+"/"+a.RefundNo+"/"+string(a.Kind) < b.OrderNo+"/"+b.RefundNo+"/"+string(b.Kind)
	}),
}

// checkTotals checks a parsed bill's totals against its lines.
func checkTotals(t *testing.T, bill channel.Bill) {
	t.Helper()
	var want channel.Bill
	for _, l := range bill.Lines {
		if l.Kind == channel.BillPayment {
			want.Payments, want.PaymentTotal = want.Payments+1, want.PaymentTotal+l.Amount
		} else {
			want.Refunds, want.RefundTotal = want.Refunds+1, want.RefundTotal+l.Amount
		}
		want.FeeTotal += l.Fee
	}
	if bill.Payments != want.Payments || bill.PaymentTotal != want.PaymentTotal || bill.Refunds != want.Refunds ||
		bill.RefundTotal != want.RefundTotal || bill.FeeTotal != want.FeeTotal {
		t.Errorf("totals %d/%s, %d/%s, fee %s; the lines add up to %d/%s, %d/%s, fee %s",
			bill.Payments, bill.PaymentTotal.Yuan(), bill.Refunds, bill.RefundTotal.Yuan(), bill.FeeTotal.Yuan(),
			want.Payments, want.PaymentTotal.Yuan(), want.Refunds, want.RefundTotal.Yuan(), want.FeeTotal.Yuan())
	}
}

// TestParseBillFromSandbox downloads a bill through the adapter from the
// sandbox and parses it: it must say exactly what the sandbox recorded.
func TestParseBillFromSandbox(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t, b.ch)
	cent, big, odd := b.paid(t, rcv, 1), b.paid(t, rcv, 1990), b.paid(t, rcv, 167)
	b.payNative(t, rcv, 777) // never paid: not in the bill
	for _, rf := range []struct {
		no, refundNo  string
		amount, total bursar.Amount
	}{{big, "R1-" + big, 980, 1990}, {big, "R2-" + big, 1, 1990}, {cent, "R1-" + cent, 1, 1}, {odd, "R1-" + odd, 167, 167}} {
		if _, err := b.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: rf.no, RefundNo: rf.refundNo,
			Amount: cny(rf.amount), Total: cny(rf.total)}); err != nil {
			t.Fatal(err)
		}
		if r := b.settled(t, rf.no, rf.refundNo); r.Status != channel.RefundSucceeded {
			t.Fatalf("refund %s = %+v", rf.refundNo, r)
		}
	}
	st := b.sandboxState(t)
	// The day of the first payment; a refund made after midnight is in
	// the next day's bill, and the sandbox's records say so.
	y, m, d := st.Trades[cent].SuccessTime.In(bj).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, bj)
	data, err := b.ch.Bill(t.Context(), day)
	if err != nil {
		t.Fatalf("Bill() error = %v", err)
	}
	bill, err := wechat.ParseBill(day, data)
	if err != nil {
		t.Fatalf("ParseBill() error = %v\n%s", err, data)
	}
	want := st.wantLines(day)
	if len(want) < 3 {
		t.Fatalf("the sandbox recorded %d lines for the day: %+v", len(want), want)
	}
	if diff := cmp.Diff(want, bill.Lines, sameLines...); diff != "" {
		t.Errorf("lines mismatch (-sandbox +bill):\n%s", diff)
	}
	checkTotals(t, bill)
	if !bill.Day.Equal(day) {
		t.Errorf("Day = %v, want %v", bill.Day, day)
	}
}

const (
	billHeaderRow = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
		"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率," +
		"订单金额,申请退款金额,费率备注"
	summaryHeaderRow = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)

func tick(cells ...string) string { return "`" + strings.Join(cells, ",`") }

// payRow and refundRow are rows of the 27 columns; change alters the cells
// (0-based) before they are written.
func payRow(settle, fee string, change ...func([]string) []string) string {
	cells := []string{"2026-01-01 12:00:00", "wx2421b1c4370ec43b", "1900000001", "0", "", "4200001011202601010000000001", "T1",
		"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "NATIVE", "SUCCESS", "OTHERS", "CNY", settle, "0.00", "0", "0", "0.00", "0.00", "", "",
		"会员", "", fee, "0.60%", settle, "0.00", ""}
	for _, c := range change {
		cells = c(cells)
	}
	return tick(cells...)
}

func refundRow(amount, fee string, change ...func([]string) []string) string {
	cells := []string{"2026-01-01 15:00:00", "wx2421b1c4370ec43b", "1900000001", "0", "", "4200001011202601010000000001", "T1",
		"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "NATIVE", "REFUND", "OTHERS", "CNY", "0.00", "0.00", "50300001012026010100000000001",
		"T1-R1", amount, "0.00", "ORIGINAL", "SUCCESS", "会员", "", fee, "0.60%", "0.00", amount, ""}
	for _, c := range change {
		cells = c(cells)
	}
	return tick(cells...)
}

func set(col int, v string) func([]string) []string {
	return func(c []string) []string { c[col] = v; return c }
}

// billText is a bill, one string a line.
type billText []string

// baseBill: header (line 1), a payment (2), a refund (3), the summary
// header (4) and row (5).
func baseBill() billText {
	return billText{billHeaderRow, payRow("19.90", "0.12000"), refundRow("3.00", "-0.02000"), summaryHeaderRow,
		tick("2", "19.90", "3.00", "0.00", "0.10000", "19.90", "3.00")}
}

func (b billText) bytes() []byte { return []byte(strings.Join(b, "\r\n") + "\r\n") }

// with returns a copy with line n (1-based) replaced by lines, none to
// drop it.
func (b billText) with(n int, lines ...string) billText {
	out := append(billText{}, b[:n-1]...)
	out = append(out, lines...)
	return append(out, b[n:]...)
}

func TestParseBillRoundsFees(t *testing.T) {
	for fee, want := range map[string]bursar.Amount{
		"0.00000": 0, "0.00499": 0, "0.00500": 1, "0.01499": 1, "0.01500": 2, "12.34567": 1235,
		"-0.00000": 0, "-0.00499": 0, "-0.00500": -1, "-0.01500": -2, "-0.05880": -6,
	} {
		text := billText{billHeaderRow, payRow("19.90", fee), summaryHeaderRow, tick("1", "19.90", "0.00", "0.00", fee, "19.90", "0.00")}
		bill, err := wechat.ParseBill(time.Now(), text.bytes())
		if err != nil {
			t.Errorf("fee %s: ParseBill() error = %v", fee, err)
			continue
		}
		if bill.Lines[0].Fee != want || bill.FeeTotal != want {
			t.Errorf("fee %s = %d fen (total %d), want %d", fee, bill.Lines[0].Fee, bill.FeeTotal, want)
		}
	}
}

func TestParseBillAccepts(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"the base bill", baseBill().bytes(), 2},
		{"LF line ends and a byte order mark", []byte("\uFEFF" + strings.Join(baseBill(), "\n")), 2},
		{"no rows", billText{billHeaderRow, summaryHeaderRow, tick("0", "0.00", "0.00", "0.00", "0.00000", "0.00", "0.00")}.bytes(), 0},
		{"blank lines", baseBill().with(4, "", summaryHeaderRow).with(6, tick("2", "19.90", "3.00", "0.00", "0.10000", "19.90", "3.00"), "").bytes(), 2},
		{"the older layout, without 订单金额 and the columns after it", billText{
			strings.Join(strings.Split(billHeaderRow, ",")[:24], ","),
			strings.Join(strings.Split(payRow("19.90", "0.12000"), ",")[:24], ","),
			strings.Join(summaryHeaderRowOld(), ","), tick("1", "19.90", "0.00", "0.00", "0.12000")}.bytes(), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bill, err := wechat.ParseBill(time.Now(), tt.data)
			if err != nil {
				t.Fatalf("ParseBill() error = %v", err)
			}
			if len(bill.Lines) != tt.want {
				t.Fatalf("ParseBill() has %d lines, want %d", len(bill.Lines), tt.want)
			}
			checkTotals(t, bill)
		})
	}
}

func summaryHeaderRowOld() []string { return strings.Split(summaryHeaderRow, ",")[:5] }

func TestParseBillRejects(t *testing.T) {
	base := baseBill()
	summary := func(cells ...string) billText { return base.with(5, tick(cells...)) }
	tests := []struct {
		name string
		data []byte
		line int
		says string
	}{
		{"an empty file", nil, 1, "empty"},
		{"only a byte order mark", []byte("\uFEFF\r\n"), 1, "empty"},
		{"bytes that are not UTF-8", []byte(strings.Replace(string(base.bytes()), "会员", "\xff\xfe", 1)), 2, "not UTF-8"},
		{"no header row", base.with(1).bytes(), 1, "header"},
		{"a header without 手续费", base.with(1, strings.Replace(billHeaderRow, "手续费", "费用", 1)).bytes(), 1, "手续费"},
		{"a header with a column twice", base.with(1, strings.Replace(billHeaderRow, "费率备注", "费率", 1)).bytes(), 1, "twice"},
		{"a row with a cell fewer", base.with(3, strings.TrimSuffix(refundRow("3.00", "-0.02000"), ",`")).bytes(), 3, "26 cells"},
		{"a row with a comma in a cell", base.with(2, payRow("19.90", "0.12000", set(20, "会员,课程"))).bytes(), 2, "28 cells"},
		{"a cell without its backtick", base.with(2, strings.Replace(payRow("19.90", "0.12000"), "`CNY", "CNY", 1)).bytes(), 2, "cell 12"},
		{"an amount with 3 decimals", base.with(2, payRow("19.900", "0.12000")).bytes(), 2, "more than 2 decimal"},
		{"a negative amount", base.with(3, refundRow("-3.00", "-0.02000")).bytes(), 3, "negative"},
		{"a fee with 4 decimals", base.with(2, payRow("19.90", "0.1200")).bytes(), 2, "five decimals"},
		{"a fee with two signs", base.with(2, payRow("19.90", "--0.12000")).bytes(), 2, "five decimals"},
		{"a fee in another notation", base.with(2, payRow("19.90", "1.2e-01")).bytes(), 2, "five decimals"},
		{"an unknown state", base.with(2, payRow("19.90", "0.12000", set(9, "REVOKED"))).bytes(), 2, "交易状态"},
		{"a refund without 商户退款单号", base.with(3, refundRow("3.00", "-0.02000", set(15, "0"))).bytes(), 3, "商户退款单号"},
		{"a refund without 微信退款单号", base.with(3, refundRow("3.00", "-0.02000", set(14, ""))).bytes(), 3, "微信退款单号"},
		{"a payment with a refund amount", base.with(2, payRow("19.90", "0.12000", set(16, "1.00"))).bytes(), 2, "退款金额"},
		{"a refund with a settlement amount", base.with(3, refundRow("3.00", "-0.02000", set(12, "3.00"))).bytes(), 3, "应结订单金额"},
		{"a bad time", base.with(2, payRow("19.90", "0.12000", set(0, "2026-01-01T12:00:00"))).bytes(), 2, "交易时间"},
		{"no transaction id", base.with(2, payRow("19.90", "0.12000", set(5, ""))).bytes(), 2, "微信订单号"},
		{"no order number", base.with(2, payRow("19.90", "0.12000", set(6, ""))).bytes(), 2, "商户订单号"},
		{"a summary count disagreeing", summary("3", "19.90", "3.00", "0.00", "0.10000", "19.90", "3.00").bytes(), 5, "总交易单数"},
		{"a summary total disagreeing", summary("2", "19.91", "3.00", "0.00", "0.10000", "19.90", "3.00").bytes(), 5, "19.91"},
		{"a summary refund total disagreeing", summary("2", "19.90", "3.01", "0.00", "0.10000", "19.90", "3.00").bytes(), 5, "退款总金额"},
		{"a summary fee disagreeing by 1/1000 fen", summary("2", "19.90", "3.00", "0.00", "0.10001", "19.90", "3.00").bytes(), 5, "0.10000"},
		{"a summary order total disagreeing", summary("2", "19.90", "3.00", "0.00", "0.10000", "19.80", "3.00").bytes(), 5, "订单总金额"},
		{"a summary amount with 3 decimals", summary("2", "19.900", "3.00", "0.00", "0.10000", "19.90", "3.00").bytes(), 5, "decimal"},
		{"a summary header without 退款总金额", base.with(4, strings.Replace(summaryHeaderRow, "退款总金额", "退款", 1)).bytes(), 4, "退款总金额"},
		{"a summary row of another width", summary("2", "19.90", "3.00", "0.00", "0.10000", "19.90").bytes(), 5, "6 cells"},
		{"no summary", base[:3].bytes(), 4, "summary"},
		{"no summary row", base[:4].bytes(), 5, "summary row"},
		{"text after the summary", base.with(5, base[4], "总计").bytes(), 6, "after the summary"},
		{"amounts that overflow", base.with(2, payRow("92233720368547758.07", "0.00000"), payRow("92233720368547758.07", "0.00000")).bytes(), 3, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wechat.ParseBill(time.Now(), tt.data)
			var be *wechat.BillError
			if !errors.As(err, &be) {
				t.Fatalf("ParseBill() error = %v, want a *BillError", err)
			}
			if be.Line != tt.line || !strings.Contains(be.Reason, tt.says) {
				t.Errorf("ParseBill() error = %v, want line %d saying %q", err, tt.line, tt.says)
			}
			if got := bursar.ErrorCode(err); got != bursar.Invalid {
				t.Errorf("code = %q, want invalid", got)
			}
			if msg := bursar.ErrorMessage(err); !strings.Contains(msg, "line ") || !strings.Contains(msg, be.Reason) {
				t.Errorf("message %q does not name the line and the reason", msg)
			}
		})
	}
}

// FuzzParseBill: whatever the bytes, ParseBill never panics, fails only
// with bursar.Invalid and a line inside the file (or just past it), and
// what it accepts is consistent: totals equal the lines, amounts are never
// negative, refunds have their numbers.
func FuzzParseBill(f *testing.F) {
	for _, name := range []string{"testdata/reference.csv", "testdata/refunds.csv"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(baseBill().bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		bill, err := wechat.ParseBill(time.Now(), data)
		lines := strings.Count(string(data), "\n") + 1
		if err != nil {
			var be *wechat.BillError
			if bursar.ErrorCode(err) != bursar.Invalid || !errors.As(err, &be) || be.Line < 1 || be.Line > lines+1 {
				t.Fatalf("ParseBill() error = %v (code %s), want an invalid *BillError within %d lines", err, bursar.ErrorCode(err), lines)
			}
			return
		}
		checkTotals(t, bill)
		prev := 0
		for _, l := range bill.Lines {
			if l.Amount < 0 || l.Line <= prev || l.Line > lines || l.OrderNo == "" || l.TradeNo == "" ||
				l.Kind == channel.BillRefund && l.RefundNo == "" ||
				l.Kind != channel.BillPayment && l.Kind != channel.BillRefund {
				t.Fatalf("ParseBill() accepted a bad line %+v after line %d", l, prev)
			}
			prev = l.Line
		}
	})
}
