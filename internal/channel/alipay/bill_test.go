package alipay_test

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

// noonBeijing moves the clock to noon of today, Beijing time, so that a
// test's payments and refunds all fall on one day.
func noonBeijing(c *clock) time.Time {
	bj := c.Beijing()
	noon := time.Date(bj.Year(), bj.Month(), bj.Day(), 12, 0, 0, 0, bj.Location())
	c.Advance(noon.Sub(bj))
	return noon
}

// billRows decodes a GBK detail file and returns its table rows, cells
// trimmed, and the lines after the table.
func billRows(t *testing.T, gbkBytes []byte) (header []string, rows [][]string, footer []string) {
	t.Helper()
	text, err := simplifiedchinese.GBK.NewDecoder().String(string(gbkBytes))
	if err != nil {
		t.Fatalf("the bill is not GBK: %v", err)
	}
	lines := strings.Split(strings.TrimRight(text, "\r\n"), "\r\n")
	if lines[0] != "#支付宝业务明细查询" {
		t.Fatalf("first line %q", lines[0])
	}
	start, end := -1, -1
	for i, l := range lines {
		switch {
		case strings.Contains(l, "业务明细列表结束"):
			end = i
		case strings.Contains(l, "业务明细列表"):
			start = i
		}
	}
	if start < 0 || end < start+1 {
		t.Fatalf("no table markers in:\n%s", text)
	}
	r := csv.NewReader(strings.NewReader(strings.Join(lines[start+1:end], "\n")))
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	if err != nil {
		t.Fatalf("the table is not CSV: %v", err)
	}
	for _, rec := range records {
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
	}
	return records[0], records[1:], lines[end+1:]
}

func TestBill(t *testing.T) {
	b := setup(t, func(c *alipaysandbox.Config) { c.TimestampSkew = 48 * time.Hour })
	day := noonBeijing(b.clock)
	for _, m := range b.modes() {
		r := newReceiver(t, m.ch)
		paidTrade(t, b, m.ch, m.appID, "BILL-A", 1990, r)
		paidTrade(t, b, m.ch, m.appID, "BILL-B", 167, r)
		if _, err := m.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: "BILL-A", RefundNo: "BILL-A-R1", Amount: cny(980)}); err != nil {
			t.Fatal(err)
		}
		_, err := m.ch.Bill(t.Context(), day)
		wantCode(t, "Bill of today", err, bursar.NotFound)
	}
	b.clock.Advance(24 * time.Hour)
	for _, m := range b.modes() {
		t.Run(m.name, func(t *testing.T) {
			data, err := m.ch.Bill(t.Context(), day)
			if err != nil {
				t.Fatalf("Bill: %v", err)
			}
			header, rows, footer := billRows(t, data)
			if len(header) != 25 || header[0] != "支付宝交易号" || header[11] != "订单金额（元）" || header[21] != "退款批次号/请求号" {
				t.Fatalf("header = %q", header)
			}
			type line struct{ orderNo, kind, amount, received, refundNo string }
			var got []line
			for _, row := range rows {
				if len(row) != 25 {
					t.Fatalf("row has %d cells: %q", len(row), row)
				}
				got = append(got, line{row[1], row[2], row[11], row[12], row[21]})
			}
			want := []line{
				{"BILL-A", "交易", "19.90", "19.90", ""},
				{"BILL-B", "交易", "1.67", "1.67", ""},
				{"BILL-A", "退款", "-9.80", "-9.80", "BILL-A-R1"},
			}
			if len(got) != len(want) {
				t.Fatalf("rows = %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("row %d = %v, want %v", i, got[i], want[i])
				}
			}
			if len(footer) != 3 || footer[0] != "#交易合计：2笔，商家实收共21.57元，商家优惠共0.00元" ||
				footer[1] != "#退款合计：1笔，商家实收退款共-9.80元，商家优惠退款共0.00元" || !strings.HasPrefix(footer[2], "#导出时间：[") {
				t.Errorf("footer = %q", footer)
			}
			_, err = m.ch.Bill(t.Context(), day.AddDate(0, 0, -1))
			wantCode(t, "Bill of a day with nothing", err, bursar.NotFound)
		})
	}
}

func TestBillPlantedRows(t *testing.T) {
	planted := alipaysandbox.BillRow{TradeNo: "2026010122001499999999999999", OutTradeNo: "NEVER-SEEN",
		Kind: alipaysandbox.BillPayment, Subject: "planted", Amount: 888, Received: 888}
	b := setup(t, func(c *alipaysandbox.Config) {
		c.TimestampSkew = 48 * time.Hour
		c.BillRows = func(appID string, day time.Time, rows []alipaysandbox.BillRow) []alipaysandbox.BillRow {
			for i := range rows {
				if rows[i].OutTradeNo == "PLANT-WRONG" {
					rows[i].Received = 1 // a wrong amount
				}
			}
			p := planted
			p.Created, p.Finished = day.Add(time.Hour), day.Add(time.Hour)
			return append(rows, p)
		}
	})
	day := noonBeijing(b.clock)
	r := newReceiver(t, b.cert)
	paidTrade(t, b, b.cert, alipaysandbox.CertAppID, "PLANT-WRONG", 1990, r)
	b.clock.Advance(24 * time.Hour)
	data, err := b.cert.Bill(t.Context(), day)
	if err != nil {
		t.Fatal(err)
	}
	_, rows, footer := billRows(t, data)
	if len(rows) != 2 || rows[0][1] != "PLANT-WRONG" || rows[0][12] != "0.01" || rows[1][1] != "NEVER-SEEN" || rows[1][12] != "8.88" {
		t.Fatalf("rows = %q", rows)
	}
	if footer[0] != "#交易合计：2笔，商家实收共8.89元，商家优惠共0.00元" {
		t.Errorf("footer = %q", footer[0])
	}
}
