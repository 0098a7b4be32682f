package wechat_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
)

const billHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态," +
	"付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态," +
	"商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"

// billCells splits a bill line into cells without their backticks,
// failing if a cell has none.
func billCells(t *testing.T, line string) []string {
	t.Helper()
	cells := strings.Split(line, ",")
	for i, c := range cells {
		v, ok := strings.CutPrefix(c, "`")
		if !ok {
			t.Fatalf("cell %d of %q has no backtick", i, line)
		}
		cells[i] = v
	}
	return cells
}

func TestBill(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t, b.ch)
	big := b.paid(t, rcv, 1990)
	small := b.paid(t, rcv, 1)
	if _, err := b.ch.Refund(t.Context(), channel.RefundRequest{OrderNo: big, RefundNo: "RB-" + big, Amount: cny(300), Total: cny(1990)}); err != nil {
		t.Fatal(err)
	}
	if r := b.settled(t, big, "RB-"+big); r.Status != channel.RefundSucceeded {
		t.Fatalf("refund = %+v", r)
	}
	open := b.payNative(t, rcv, 777) // never paid: not in the bill

	bill, err := b.ch.Bill(t.Context(), time.Now())
	if err != nil {
		t.Fatalf("Bill() error = %v", err)
	}
	lines := strings.Split(string(bill), "\r\n")
	if len(lines) != 7 || lines[6] != "" {
		t.Fatalf("Bill() has %d CRLF lines, want header, 3 rows, summary header, summary:\n%s", len(lines), bill)
	}
	if lines[0] != billHeader {
		t.Errorf("header = %q", lines[0])
	}
	byOrder := map[string][][]string{}
	for _, l := range lines[1:4] {
		c := billCells(t, l)
		if len(c) != 27 {
			t.Fatalf("row %q has %d columns, want 27", l, len(c))
		}
		byOrder[c[6]] = append(byOrder[c[6]], c)
	}
	if _, ok := byOrder[open]; ok {
		t.Errorf("the unpaid order %s is in the bill", open)
	}
	pay, ref := byOrder[big][0], byOrder[big][1]
	want := map[int]string{1: b.cfg.AppID, 2: b.cfg.MchID, 3: "0", 8: "NATIVE", 9: "SUCCESS", 11: "CNY", 12: "19.90",
		14: "0", 15: "0", 16: "0.00", 20: "会员 Go+ 课程", 22: "0.12000", 23: "0.60%", 24: "19.90", 25: "0.00"}
	for i, v := range want {
		if pay[i] != v {
			t.Errorf("payment row column %d = %q, want %q", i+1, pay[i], v)
		}
	}
	if len(pay[5]) != 28 || len(pay[0]) != len("2006-01-02 15:04:05") {
		t.Errorf("payment row transaction id %q, time %q", pay[5], pay[0])
	}
	want = map[int]string{9: "REFUND", 12: "0.00", 15: "RB-" + big, 16: "3.00", 18: "ORIGINAL", 19: "SUCCESS",
		22: "-0.02000", 24: "0.00", 25: "3.00"}
	for i, v := range want {
		if ref[i] != v {
			t.Errorf("refund row column %d = %q, want %q", i+1, ref[i], v)
		}
	}
	if ref[5] != pay[5] || ref[14] == "0" {
		t.Errorf("refund row = %q, want the payment's transaction id and WeChat's refund id", ref)
	}
	if got := byOrder[small][0][12]; got != "0.01" {
		t.Errorf("small payment = %q, want 0.01", got)
	}
	if lines[4] != "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额" {
		t.Errorf("summary header = %q", lines[4])
	}
	if got, want := strings.Join(billCells(t, lines[5]), ","), "3,19.91,3.00,0.00,0.10000,19.91,3.00"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}

	t.Run("a day with no trades", func(t *testing.T) {
		_, err := b.ch.Bill(t.Context(), time.Now().AddDate(0, 0, -2))
		if bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("Bill() error = %v, want not_found", err)
		}
	})
	t.Run("a day to come", func(t *testing.T) {
		_, err := b.ch.Bill(t.Context(), time.Now().AddDate(0, 0, 2))
		if bursar.ErrorCode(err) != bursar.ChannelFailed {
			t.Errorf("Bill() error = %v, want channel_failed", err)
		}
	})
}

func TestBillPlantedRow(t *testing.T) {
	b := setup(t, func(c *wechatsandbox.Config) {
		c.BillRows = func(day time.Time, rows []wechatsandbox.BillRow) []wechatsandbox.BillRow {
			ghost := rows[0]
			ghost.OutTradeNo, ghost.TransactionID, ghost.Total, ghost.Settlement = "GHOST-ORDER", "4200000000ghost", 5000, 5000
			return append(rows, ghost)
		}
	})
	rcv := newReceiver(t, b.ch)
	b.paid(t, rcv, 100)
	bill, err := b.ch.Bill(t.Context(), time.Now())
	if err != nil {
		t.Fatalf("Bill() error = %v", err)
	}
	if !strings.Contains(string(bill), "`GHOST-ORDER,") || !strings.Contains(string(bill), "\r\n`2,`51.00,") {
		t.Errorf("Bill() lacks the planted row or its summary:\n%s", bill)
	}
}

// TestBillChecksTheHash puts a meddler between the adapter and the
// gateway that serves another (well-formed) file than the one hashed.
func TestBillChecksTheHash(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t, b.ch)
	b.paid(t, rcv, 100)
	meddler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		b.gw.Handler().ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if r.URL.Path == "/v3/billdownload/file" && rec.Code == http.StatusOK {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Errorf("the download is not gzipped: %v", err)
				return
			}
			plain, _ := io.ReadAll(zr)
			var zb bytes.Buffer
			zw := gzip.NewWriter(&zb)
			_, _ = zw.Write(bytes.Replace(plain, []byte("`1.00"), []byte("`9.00"), 1))
			_ = zw.Close()
			body = zb.Bytes()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}))
	t.Cleanup(meddler.Close)
	cfg := b.cfg
	cfg.BaseURL = meddler.URL
	ch := b.adapter(t, cfg)
	_, err := ch.Bill(t.Context(), time.Now())
	if bursar.ErrorCode(err) != bursar.Unavailable || !strings.Contains(bursar.ErrorMessage(err), "SHA1") {
		t.Errorf("Bill() error = %v, want unavailable for a SHA1 mismatch", err)
	}
	// The same path without the meddler works, so the hash was the cause.
	if _, err := b.ch.Bill(t.Context(), time.Now()); err != nil {
		t.Errorf("Bill() without the meddler: %v", err)
	}
}
