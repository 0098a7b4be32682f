package alipay_test

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
	"golang.org/x/text/encoding/simplifiedchinese"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/alipay"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
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
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, bj)
	tests := []struct {
		file string
		want channel.Bill
	}{
		{"testdata/reference.csv", channel.Bill{Day: day, Payments: 1, PaymentTotal: 8888, Lines: []channel.BillLine{
			{Line: 6, Kind: channel.BillPayment, OrderNo: "T1", TradeNo: "2026010122001400000000000001", Amount: 8888,
				At: at("2026-01-01 12:00:03")},
		}}},
		{"testdata/refunds.csv", channel.Bill{Day: day, Payments: 3, PaymentTotal: 2158, Refunds: 1, RefundTotal: 980,
			FeeTotal: 7, Lines: []channel.BillLine{
				{Line: 6, Kind: channel.BillPayment, OrderNo: "T11", TradeNo: "2026010122001400000000000011", Amount: 1990,
					Fee: 12, At: at("2026-01-01 09:00:05")},
				{Line: 7, Kind: channel.BillPayment, OrderNo: "T12", TradeNo: "2026010122001400000000000012", Amount: 1,
					At: at("2026-01-01 10:00:02")},
				{Line: 8, Kind: channel.BillPayment, OrderNo: "T13", TradeNo: "2026010122001400000000000013", Amount: 167,
					Fee: 1, At: at("2026-01-01 11:00:02")},
				{Line: 9, Kind: channel.BillRefund, OrderNo: "T11", TradeNo: "2026010122001400000000000011", RefundNo: "T11-R1",
					Amount: 980, Fee: -6, At: at("2026-01-01 15:30:00")},
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			// Any time of the day, in any zone, names the day.
			got, err := alipay.ParseBill(time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC), data)
			if err != nil {
				t.Fatalf("ParseBill() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseBill() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// sandboxTrades reads every trade the sandbox holds, with its refunds.
func (b *bundle) sandboxTrades(t *testing.T) []sandboxTrade {
	t.Helper()
	resp, err := http.Get(b.srv.URL + "/alipay/sandbox/trades")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Trades []sandboxTrade }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Trades
}

type sandboxTrade struct {
	AppID      string        `json:"app_id"`
	OutTradeNo string        `json:"out_trade_no"`
	TradeNo    string        `json:"trade_no"`
	Total      bursar.Amount `json:"total"`
	Paid       time.Time     `json:"paid"`
	Refunds    []struct {
		OutRequestNo string        `json:"out_request_no"`
		Amount       bursar.Amount `json:"amount"`
		At           time.Time     `json:"at"`
	} `json:"refunds"`
}

// wantLines is what an app's bill for day must say, from the sandbox's own
// records. The file has whole seconds.
func wantLines(trades []sandboxTrade, appID string, day time.Time) []channel.BillLine {
	in := func(t time.Time) bool { return !t.Before(day) && t.Before(day.AddDate(0, 0, 1)) }
	var lines []channel.BillLine
	for _, tr := range trades {
		if tr.AppID != appID {
			continue
		}
		if !tr.Paid.IsZero() && in(tr.Paid) {
			lines = append(lines, channel.BillLine{Kind: channel.BillPayment, OrderNo: tr.OutTradeNo, TradeNo: tr.TradeNo,
				Amount: tr.Total, At: tr.Paid.Truncate(time.Second)})
		}
		for _, rf := range tr.Refunds {
			if in(rf.At) {
				lines = append(lines, channel.BillLine{Kind: channel.BillRefund, OrderNo: tr.OutTradeNo, TradeNo: tr.TradeNo,
					RefundNo: rf.OutRequestNo, Amount: rf.Amount, At: rf.At.Truncate(time.Second)})
			}
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

// TestParseBillFromSandbox downloads bills through the adapter from the
// sandbox, in both signing modes, and parses them: they must say exactly
// what the sandbox recorded.
func TestParseBillFromSandbox(t *testing.T) {
	b := setup(t, func(c *alipaysandbox.Config) { c.TimestampSkew = 48 * time.Hour })
	day := noonBeijing(b.clock).Add(-12 * time.Hour)
	for _, m := range b.modes() {
		r := newReceiver(t, m.ch)
		suffix := m.appID[len(m.appID)-2:]
		for _, tr := range []struct {
			no     string
			amount bursar.Amount
		}{{"PB-CENT-" + suffix, 1}, {"PB-1990-" + suffix, 1990}, {"PB-167-" + suffix, 167}} {
			paidTrade(t, b, m.ch, m.appID, tr.no, tr.amount, r)
		}
		// A subject with a comma and quotes is quoted in the file.
		p, err := m.ch.Pay(t.Context(), channel.PayRequest{OrderNo: "PB-QUOTE-" + suffix, Amount: cny(2000),
			Subject: `课程 "围棋", 入门`, Method: channel.AlipayWap, NotifyURL: r.url})
		if err != nil {
			t.Fatal(err)
		}
		b.open(t, p)
		b.payControl(t, m.appID, "PB-QUOTE-"+suffix)
		r.ok(t)
		for _, rf := range []struct {
			no, refundNo string
			amount       bursar.Amount
		}{{"PB-1990-" + suffix, "R1", 980}, {"PB-1990-" + suffix, "R2", 1}, {"PB-CENT-" + suffix, "R1", 1}} {
			if _, err := m.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: rf.no, RefundNo: rf.no + "-" + rf.refundNo,
				Amount: cny(rf.amount), Reason: "退款, \"部分\""}); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.clock.Advance(24 * time.Hour)
	trades := b.sandboxTrades(t)
	for _, m := range b.modes() {
		t.Run(m.name, func(t *testing.T) {
			data, err := m.ch.Bill(t.Context(), day)
			if err != nil {
				t.Fatalf("Bill() error = %v", err)
			}
			bill, err := alipay.ParseBill(day, data)
			if err != nil {
				t.Fatalf("ParseBill() error = %v", err)
			}
			want := wantLines(trades, m.appID, day)
			if len(want) != 7 {
				t.Fatalf("the sandbox recorded %d lines for the day, want 7: %+v", len(want), want)
			}
			if diff := cmp.Diff(want, bill.Lines, sameLines...); diff != "" {
				t.Errorf("lines mismatch (-sandbox +bill):\n%s", diff)
			}
			checkTotals(t, bill)
			if bill.Payments != 4 || bill.PaymentTotal != 1+1990+167+2000 || bill.Refunds != 3 || bill.RefundTotal != 982 ||
				!bill.Day.Equal(day) {
				t.Errorf("bill = %d payments of %s, %d refunds of %s, day %v", bill.Payments, bill.PaymentTotal.Yuan(),
					bill.Refunds, bill.RefundTotal.Yuan(), bill.Day)
			}
		})
	}
}

// billText is a detail file, UTF-8, one string a line; gbkBill encodes it
// as Alipay does.
type billText []string

const (
	detailStart  = "#-----------------------------------------业务明细列表----------------------------------------"
	detailEnd    = "#-----------------------------------------业务明细列表结束------------------------------------"
	detailHeader = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户," +
		"订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称," +
		"商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)

// detailRow is a row of the 25 columns, every cell followed by a tab.
// change, when given, alters the cells first (0-based columns).
func detailRow(kind, amount, refundNo string, change ...func([]string) []string) string {
	cells := []string{"2026010122001400000000000001", "T1", kind, "会员", "2026-01-01 12:00:00", "2026-01-01 12:00:03",
		"", "", "", "", "buy***@example.com", amount, amount, "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00",
		refundNo, "0.00", "0.00", ""}
	for _, c := range change {
		cells = c(cells)
	}
	return strings.Join(cells, "\t,") + "\t"
}

func set(col int, v string) func([]string) []string {
	return func(c []string) []string { c[col] = v; return c }
}

// baseBill has a payment (line 6) and a refund (line 7); the footer is on
// lines 9 and 10.
func baseBill() billText {
	return billText{
		"#支付宝业务明细查询",
		"#账号：[20880000000000010156]",
		"#起始日期：[2026年01月01日 00:00:00]   终止日期：[2026年01月02日 00:00:00]",
		detailStart,
		detailHeader,
		detailRow("交易", "19.90", ""),
		detailRow("退款", "-9.80", "T1-R1", set(5, "2026-01-01 15:00:00")),
		detailEnd,
		"#交易合计：1笔，商家实收共19.90元，商家优惠共0.00元",
		"#退款合计：1笔，商家实收退款共-9.80元，商家优惠退款共0.00元",
		"#导出时间：[2026年01月02日 06:27:10]",
	}
}

func (b billText) gbk(t testing.TB) []byte {
	t.Helper()
	out, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(strings.Join(b, "\r\n") + "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// with returns a copy with line n (1-based) replaced by the given lines,
// none to drop it.
func (b billText) with(n int, lines ...string) billText {
	out := append(billText{}, b[:n-1]...)
	out = append(out, lines...)
	return append(out, b[n:]...)
}

func TestParseBillAccepts(t *testing.T) {
	tests := []struct {
		name string
		text billText
		want int // lines
	}{
		{"the base bill", baseBill(), 2},
		{"no lines before the marker", baseBill()[3:], 2},
		{"no rows", baseBill().with(6).with(6).with(7, "#交易合计：0笔，商家实收共0.00元，商家优惠共0.00元").
			with(8, "#退款合计：0笔，商家实收退款共0.00元，商家优惠退款共0.00元"), 0},
		{"a quoted cell across lines", baseBill().with(6, detailRow("交易", "19.90", "", set(3, "\"第一行\r\n第二行, \"\"引号\"\"\"  "))), 2},
		{"a column more, found by name", baseBill().with(5, detailHeader+",新列").
			with(6, detailRow("交易", "19.90", "")+",x").with(7, detailRow("退款", "-9.80", "T1-R1")+",y"), 2},
		{"blank lines and no export time", baseBill().with(11, "").with(8, "", detailEnd), 2},
		{"cells without tabs", baseBill().with(6, strings.ReplaceAll(detailRow("交易", "19.90", ""), "\t", "")), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bill, err := alipay.ParseBill(time.Now(), tt.text.gbk(t))
			if err != nil {
				t.Fatalf("ParseBill() error = %v", err)
			}
			if len(bill.Lines) != tt.want {
				t.Fatalf("ParseBill() has %d lines, want %d", len(bill.Lines), tt.want)
			}
			checkTotals(t, bill)
		})
	}
	t.Run("a quoted cell keeps its text", func(t *testing.T) {
		text := baseBill().with(6, detailRow("交易", "19.90", "", set(1, `"T,""1"""`)))
		text[8] = "#交易合计：1笔，商家实收共19.90元"
		bill, err := alipay.ParseBill(time.Now(), text.gbk(t))
		if err != nil {
			t.Fatal(err)
		}
		if got := bill.Lines[0].OrderNo; got != `T,"1"` {
			t.Errorf("OrderNo = %q", got)
		}
	})
}

func TestParseBillRejects(t *testing.T) {
	base := baseBill()
	gbk := func(b billText) func(t testing.TB) []byte { return b.gbk }
	raw := func(b []byte) func(testing.TB) []byte { return func(testing.TB) []byte { return b } }
	tests := []struct {
		name string
		data func(testing.TB) []byte
		line int
		says string
	}{
		{"an empty file", raw(nil), 1, "empty"},
		{"bytes that are not GBK", func(t testing.TB) []byte {
			b := base.gbk(t)
			i := strings.Index(string(b), "buy***")
			return append(append(b[:i:i], 0xFF, 0x30), b[i:]...)
		}, 6, "not GBK"},
		{"a UTF-8 file", raw([]byte(strings.Join(base, "\n"))), 1, "UTF-8"},
		{"no start marker", gbk(base.with(4)), 4, "业务明细列表"},
		{"only comments", gbk(base[:3]), 4, "ends without"},
		{"no header", gbk(base[:4]), 5, "before the header"},
		{"a header without 商家实收", gbk(base.with(5, strings.Replace(detailHeader, "商家实收（元）", "实收", 1))), 5, "商家实收（元）"},
		{"a header with a column twice", gbk(base.with(5, strings.Replace(detailHeader, "备注", "券名称", 1))), 5, "twice"},
		{"a row with a cell fewer", gbk(base.with(7, detailRow("退款", "-9.80", "T1-R1", func(c []string) []string { return c[:24] }))), 7, "24 cells"},
		{"a row with a cell more", gbk(base.with(6, detailRow("交易", "19.90", "")+",")), 6, "26 cells"},
		{"an amount with 3 decimals", gbk(base.with(6, detailRow("交易", "19.900", ""))), 6, "more than 2 decimal"},
		{"an amount that is not one", gbk(base.with(6, detailRow("交易", "19.9O", ""))), 6, "not a decimal"},
		{"a fee that is not an amount", gbk(base.with(6, detailRow("交易", "19.90", "", set(22, "-")))), 6, "服务费"},
		{"a negative payment", gbk(base.with(6, detailRow("交易", "-19.90", ""))), 6, "negative"},
		{"a positive refund", gbk(base.with(7, detailRow("退款", "9.80", "T1-R1"))), 7, "not negative"},
		{"an unknown kind", gbk(base.with(6, detailRow("转账", "19.90", ""))), 6, "业务类型"},
		{"no trade number", gbk(base.with(6, detailRow("交易", "19.90", "", set(0, "")))), 6, "支付宝交易号"},
		{"no order number", gbk(base.with(6, detailRow("交易", "19.90", "", set(1, "")))), 6, "商户订单号"},
		{"a refund without its number", gbk(base.with(7, detailRow("退款", "-9.80", ""))), 7, "退款批次号"},
		{"a bad time", gbk(base.with(6, detailRow("交易", "19.90", "", set(5, "2026/01/01 12:00:03")))), 6, "完成时间"},
		{"a quote never closed", gbk(base.with(6, detailRow("交易", "19.90", "", set(3, `"会员`)))), 6, "never closed"},
		{"text after a closing quote", gbk(base.with(6, detailRow("交易", "19.90", "", set(3, `"会员"x`)))), 6, "closing quote of cell 4"},
		{"a comment inside the table", gbk(base.with(7, "#备注")), 7, "inside the table"},
		{"no end marker", gbk(base[:7]), 8, "without the #---业务明细列表结束"},
		{"a footer total disagreeing", gbk(base.with(9, "#交易合计：1笔，商家实收共19.91元，商家优惠共0.00元")), 9, "19.91"},
		{"a footer count disagreeing", gbk(base.with(10, "#退款合计：2笔，商家实收退款共-9.80元，商家优惠退款共0.00元")), 10, "2 refunds"},
		{"a refund total with the wrong sign", gbk(base.with(10, "#退款合计：1笔，商家实收退款共9.80元，商家优惠退款共0.00元")), 10, "9.80"},
		{"a footer amount with 3 decimals", gbk(base.with(9, "#交易合计：1笔，商家实收共19.900元，商家优惠共0.00元")), 9, "decimal"},
		{"a footer of another form", gbk(base.with(9, "#交易合计：一笔，共19.90元")), 9, "not of the form"},
		{"no 交易合计 line", gbk(base.with(9)), 11, "#交易合计"},
		{"no 退款合计 line", gbk(base.with(10)), 11, "#退款合计"},
		{"no footer at all", gbk(base[:8]), 9, "#交易合计"},
		{"two 交易合计 lines", gbk(base.with(9, base[8], base[8])), 10, "second"},
		{"text after the table", gbk(base.with(11, "合计,19.90")), 11, "not a # line"},
		{"amounts that overflow", gbk(base.with(6, detailRow("交易", "92233720368547758.07", ""), detailRow("交易", "92233720368547758.07", ""))), 7, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := alipay.ParseBill(time.Now(), tt.data(t))
			var be *alipay.BillError
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
	f.Add(baseBill().gbk(f))
	f.Add(baseBill().with(6, detailRow("交易", "19.90", "", set(3, "\"a\r\nb\""))).gbk(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		bill, err := alipay.ParseBill(time.Now(), data)
		lines := strings.Count(string(data), "\n") + 1
		if err != nil {
			var be *alipay.BillError
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
