package alipay_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"
	"golang.org/x/text/encoding/simplifiedchinese"

	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

func TestControlsAnswerClearErrors(t *testing.T) {
	b := setup(t)
	tests := []struct {
		name   string
		path   string
		in     any
		status int
	}{
		{"a body that is not JSON", "/alipay/sandbox/pay", `{"out_trade_no":`, http.StatusBadRequest},
		{"no order number", "/alipay/sandbox/pay", map[string]string{}, http.StatusBadRequest},
		{"a trade nobody made", "/alipay/sandbox/pay", map[string]string{"out_trade_no": "NOPE"}, http.StatusNotFound},
		{"an order string that is not one", "/alipay/sandbox/pay", map[string]string{"order_string": "app_id=1"}, http.StatusBadRequest},
		{"a nested value", "/alipay/sandbox/fail-next", map[string]any{"what": []string{"refund"}}, http.StatusBadRequest},
		{"failing something unknown", "/alipay/sandbox/fail-next", map[string]string{"what": "payment"}, http.StatusBadRequest},
		{"a zero count", "/alipay/sandbox/fail-next", map[string]any{"what": "refund", "count": 0}, http.StatusBadRequest},
		{"an unknown outcome", "/alipay/sandbox/transfers/dealing", map[string]string{"outcome": "MAYBE"}, http.StatusBadRequest},
		{"a bad duration", "/alipay/sandbox/transfers/dealing", map[string]string{"after": "soon"}, http.StatusBadRequest},
		{"no payee", "/alipay/sandbox/payees/bad", map[string]string{}, http.StatusBadRequest},
		{"an unknown app", "/alipay/sandbox/app-gateway", map[string]string{"app_id": "1", "url": "http://x/"}, http.StatusBadRequest},
		{"a relative app gateway", "/alipay/sandbox/app-gateway", map[string]string{"app_id": alipaysandbox.CertAppID, "url": "/x"}, http.StatusBadRequest},
		{"a delay without a duration", "/alipay/sandbox/notifications/delay", map[string]string{}, http.StatusBadRequest},
		{"a form works too", "/alipay/sandbox/fail-next", url.Values{"what": {"transfer"}, "count": {"2"}}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := b.post(t, tt.path, tt.in)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, out)
			}
			if e, _ := out["error"].(map[string]any); (status != http.StatusOK) != (e != nil && e["message"] != "") {
				t.Fatalf("answer %v: errors carry {\"error\":{\"code\",\"message\"}}", out)
			}
		})
	}
}

func TestCashierPaysAndReturnsSigned(t *testing.T) {
	b := setup(t)
	u, err := b.cert.TradePagePay(sdk.TradePagePay{Trade: sdk.Trade{ReturnURL: "https://shop.example/return?from=alipay",
		Subject: "Page <b>&</b>", OutTradeNo: "PAGE", TotalAmount: "19.90", ProductCode: "FAST_INSTANT_TRADE_PAY"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "¥19.90") || !strings.Contains(string(page), "Page &lt;b&gt;&amp;&lt;/b&gt;") {
		t.Fatalf("the cashier does not show the subject escaped and the amount:\n%s", page)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.PostForm(b.srv.URL+"/alipay/cashier/pay", url.Values{"app_id": {alipaysandbox.CertAppID},
		"out_trade_no": {"PAGE"}, "buyer_id": {"2088102177009999"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || loc.Host != "shop.example" {
		t.Fatalf("after paying: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("from") != "alipay" || q.Get("method") != "alipay.trade.page.pay.return" || q.Get("total_amount") != "19.90" {
		t.Fatalf("return parameters %v", q)
	}
	q.Del("from") // the merchant's own parameter, not Alipay's
	if err := b.cert.VerifySign(t.Context(), q); err != nil {
		t.Fatalf("the return parameters do not verify: %v", err)
	}
	rsp, err := b.cert.TradeQuery(t.Context(), sdk.TradeQuery{OutTradeNo: "PAGE"})
	if err != nil || rsp.TradeStatus != sdk.TradeStatusSuccess || rsp.BuyerUserId != "2088102177009999" {
		t.Fatalf("query after paying = %+v, %v", rsp, err)
	}
	// Paying twice is refused.
	if status, _ := b.post(t, "/alipay/sandbox/pay", map[string]string{"out_trade_no": "PAGE"}); status != http.StatusConflict {
		t.Fatalf("paying again: %d", status)
	}
}

func TestAppOrderString(t *testing.T) {
	b := setup(t)
	s, err := b.pk.TradeAppPay(sdk.TradeAppPay{Trade: sdk.Trade{Subject: "App", OutTradeNo: "APP", TotalAmount: "0.01",
		ProductCode: "QUICK_MSECURITY_PAY"}})
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(s, "0.01", "0.02", 1)
	if status, out := b.post(t, "/alipay/sandbox/pay", map[string]string{"order_string": tampered}); status != http.StatusBadRequest ||
		!strings.Contains(out["error"].(map[string]any)["message"].(string), "isv.invalid-signature") {
		t.Fatalf("a tampered order string: %d %v", status, out)
	}
	status, out := b.post(t, "/alipay/sandbox/pay", map[string]string{"order_string": s})
	if status != http.StatusOK || out["trade_status"] != "TRADE_SUCCESS" || out["app_id"] != alipaysandbox.PublicKeyAppID {
		t.Fatalf("paying the order string: %d %v", status, out)
	}
}

func TestBillZip(t *testing.T) {
	b := setup(t, func(c *alipaysandbox.Config) { c.TimestampSkew = 48 * time.Hour })
	b.precreateAndPay(t, b.cert, alipaysandbox.CertAppID, "ZIP", "88.88", "")
	day := b.clock.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	b.clock.Advance(24 * time.Hour)
	rsp, err := b.cert.BillDownloadURLQuery(t.Context(), sdk.BillDownloadURLQuery{BillType: "trade", BillDate: day})
	if err != nil || rsp.IsFailure() {
		t.Fatalf("downloadurl.query = %+v, %v", rsp, err)
	}
	resp, err := http.Get(rsp.BillDownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	zipped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatalf("the bill is not a ZIP: %v", err)
	}
	compact := strings.ReplaceAll(day, "-", "")
	want := []string{alipaysandbox.SellerID + "_" + compact + "_业务明细.csv", alipaysandbox.SellerID + "_" + compact + "_业务明细(汇总).csv"}
	var summary string
	for i, f := range zr.File {
		name, err := simplifiedchinese.GBK.NewDecoder().String(f.Name)
		if err != nil || f.Flags&0x800 != 0 || i >= len(want) || name != want[i] {
			t.Fatalf("entry %d is %q (flags %x), want GBK %q", i, f.Name, f.Flags, want)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		text, err := simplifiedchinese.GBK.NewDecoder().String(string(b))
		if err != nil {
			t.Fatal(err)
		}
		summary = text
	}
	if !strings.Contains(summary, "\r\n合计\t,\t,1\t,0\t,88.88\t,88.88\t,") {
		t.Fatalf("summary:\n%s", summary)
	}
	// The URL works for 30 seconds.
	b.clock.Advance(31 * time.Second)
	resp, err = http.Get(rsp.BillDownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("an expired bill URL answered %s", resp.Status)
	}
}
