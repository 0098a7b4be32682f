package alipay

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// The cashier is what the buyer sees: the page the payment URL or QR code
// opens, showing what is paid for and a button that pays.
var cashierPage = template.Must(template.New("cashier").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>支付宝收银台 · Bursar sandbox</title>
<style>
body{font-family:system-ui,sans-serif;background:#f5f5f5;margin:0;padding:2rem}
main{max-width:26rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1rem;color:#1677ff;margin:0 0 1rem}.amount{font-size:2rem;margin:.5rem 0}
.meta{color:#666;font-size:.85rem}.error{color:#b00}
button{background:#1677ff;color:#fff;border:0;border-radius:4px;padding:.6rem 2rem;font-size:1rem}
input{padding:.4rem;width:12rem}
</style></head><body><main>
<h1>支付宝收银台（Bursar 沙箱）</h1>
{{if .Error}}<p class="error">错误代码 {{.Code}} {{.SubCode}}</p><p>{{.SubMsg}}</p>{{else}}
<p class="subject">{{.Subject}}</p>
<p class="amount">¥{{.Amount}}</p>
<p class="meta">商户订单号 {{.OutTradeNo}} · 支付宝交易号 {{.TradeNo}} · {{.Status}}</p>
{{if .Payable}}<form method="post" action="/alipay/cashier/pay">
<input type="hidden" name="app_id" value="{{.AppID}}"><input type="hidden" name="out_trade_no" value="{{.OutTradeNo}}">
<p><label>买家 buyer_id <input name="buyer_id" placeholder="2088102177000001"></label></p>
<p><button type="submit">Pay 确认付款</button></p></form>
{{else if .Paid}}<p>付款成功 Paid.</p>{{else}}<p>交易已关闭 Closed.</p>{{end}}{{end}}
</main></body></html>
`))

type cashierView struct {
	Error                     bool
	Code, SubCode, SubMsg     string
	AppID, OutTradeNo, Status string
	TradeNo, Subject, Amount  string
	Payable, Paid             bool
}

func (g *Gateway) showCashier(w http.ResponseWriter, t *trade) {
	g.render(w, http.StatusOK, cashierView{AppID: t.AppID, OutTradeNo: t.OutTradeNo, TradeNo: t.TradeNo,
		Status: t.Status, Subject: t.Subject, Amount: t.Total.Yuan(), Payable: t.Status == waitBuyerPay, Paid: t.paid()})
}

// showError is the cashier's error page, as Alipay shows a browser a
// request it refuses.
func (g *Gateway) showError(w http.ResponseWriter, status int, e *apiError) {
	g.render(w, status, cashierView{Error: true, Code: e.code, SubCode: e.subCode, SubMsg: e.subMsg})
}

func (g *Gateway) render(w http.ResponseWriter, status int, v cashierView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := cashierPage.Execute(w, v); err != nil {
		g.log.Error("alipay sandbox: render cashier", "err", err)
	}
}

// openCashier is the buyer arriving at the cashier with a page, wap or app
// payment's signed parameters: the trade comes into existence now.
func (g *Gateway) openCashier(w http.ResponseWriter, _ *http.Request, a *app, p map[string]string, aerr *apiError) {
	if aerr != nil {
		g.showError(w, http.StatusBadRequest, aerr)
		return
	}
	b, aerr := parseBiz(p["biz_content"])
	if aerr != nil {
		g.showError(w, http.StatusBadRequest, aerr)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep()
	t, aerr := g.createTrade(a, p["method"], p, b, true)
	if t == nil || (aerr != nil && t.Status == waitBuyerPay) {
		g.showError(w, http.StatusBadRequest, aerr)
		return
	}
	g.showCashier(w, t) // a paid or closed trade shows as such
}

// handleCashierQR is the buyer scanning a precreate QR code.
func (g *Gateway) handleCashierQR(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep()
	for _, t := range g.st.Trades {
		if t.QRCode != "" && t.QRCode == code {
			if !t.Opened {
				t.Opened, t.Created = true, g.now()
				if aerr := g.commit(); aerr != nil {
					g.showError(w, http.StatusServiceUnavailable, aerr)
					return
				}
			}
			g.showCashier(w, t)
			return
		}
	}
	g.showError(w, http.StatusNotFound, bizFailed("ACQ.TRADE_NOT_EXIST", "二维码无效: no trade has this QR code"))
}

// handleCashierApp stands in for the Alipay app: it takes the order string
// a merchant server signed for alipay.trade.app.pay (parameter
// order_string), checks it as Alipay would, and opens the cashier.
func (g *Gateway) handleCashierApp(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	var p map[string]string
	aerr := invalidArg("isv.invalid-parameter", "参数无效: the request is not a valid form")
	if err := r.ParseForm(); err == nil {
		p, aerr = parseOrderString(r.Form.Get("order_string"))
	}
	var a *app
	if aerr == nil {
		a, aerr = g.authenticate(p)
	}
	g.openCashier(w, r, a, p, aerr)
}

// parseOrderString reads the parameters of an app payment's order string.
func parseOrderString(s string) (map[string]string, *apiError) {
	vals, err := url.ParseQuery(s)
	if err != nil || len(vals) == 0 {
		return nil, missingArg("isv.missing-parameter", "缺少必选参数: order_string, the signed parameters of alipay.trade.app.pay")
	}
	p := make(map[string]string, len(vals))
	for k, vs := range vals {
		p[k] = vs[0]
	}
	if p["method"] != methodAppPay {
		return nil, invalidArg("isv.invalid-method", "不存在的方法名: an order string is for "+methodAppPay)
	}
	return p, nil
}

// handleCashierPay is the cashier's Pay button: it pays and sends the
// browser back to the merchant's return_url, signed, when there is one.
func (g *Gateway) handleCashierPay(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		g.showError(w, http.StatusBadRequest, invalidArg("isv.invalid-parameter", "参数无效: not a form"))
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep()
	t, cerr := g.payable(r.Form.Get("app_id"), r.Form.Get("out_trade_no"))
	if cerr == nil {
		cerr = g.pay(t, strings.TrimSpace(r.Form.Get("buyer_id")))
	}
	if cerr != nil {
		g.showError(w, cerr.status, bizFailed(cerr.code, cerr.msg))
		return
	}
	if t.ReturnURL != "" {
		// return_url came in the merchant's signed request: sending the buyer back is the protocol.
		http.Redirect(w, r, g.returnURL(t), http.StatusSeeOther) //nolint:gosec // G710: see above
		return
	}
	g.showCashier(w, t)
}

// returnURL is where the browser goes after paying a page or wap trade: the
// merchant's return_url with the synchronous result, signed like a
// notification. It is a convenience for the buyer, never proof of payment.
// The caller holds g.mu.
func (g *Gateway) returnURL(t *trade) string {
	p := map[string]string{"charset": "utf-8", "out_trade_no": t.OutTradeNo, "method": t.Method + ".return",
		"total_amount": t.Total.Yuan(), "trade_no": t.TradeNo, "auth_app_id": t.AppID, "version": "1.0",
		"app_id": t.AppID, "seller_id": g.sellerID, "timestamp": stamp(g.now())}
	p["sign"] = g.sign([]byte(signContent(p, "sign", "sign_type")))
	p["sign_type"] = "RSA2"
	q := url.Values{}
	for k, v := range p {
		q.Set(k, v)
	}
	sep := "?"
	if strings.Contains(t.ReturnURL, "?") {
		sep = "&"
	}
	return t.ReturnURL + sep + q.Encode()
}

// handleIndex lists what a person can do with the sandbox.
func (g *Gateway) handleIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(indexText))
}

const indexText = `Bursar Alipay sandbox

Merchant API:  POST /gateway.do (alipay.trade.* , alipay.fund.trans.*, bills, alipaycert.download)
Cashier:       GET/POST /gateway.do?method=alipay.trade.page.pay|wap.pay&...   (the payment URL)
               GET /alipay/cashier/qr/{code}                                     (precreate qr_code)
               GET/POST /alipay/cashier/app?order_string=...                     (app pay order string)
Controls (JSON or form bodies; see the package documentation):
  POST /alipay/sandbox/pay                       {"out_trade_no", "app_id"?, "buyer_id"?, "order_string"?}
  POST /alipay/sandbox/fail-next                 {"what": "refund"|"transfer", "count"?}
  POST /alipay/sandbox/transfers/dealing         {"outcome": "SUCCESS"|"FAIL", "after"?, "count"?}
  POST /alipay/sandbox/payees/bad                {"account"?, "name"?}
  POST /alipay/sandbox/app-gateway               {"app_id", "url"}
  POST /alipay/sandbox/bill/plant                {"kind", "date", "out_trade_no"?, "amount"? (fen), "app_id"?,
                                                  "trade_no"?, "refund_no"?}   kind: extra_payment|drop|amount|extra_refund|clear
  POST /alipay/sandbox/notifications/drop        {"count"?}
  POST /alipay/sandbox/notifications/delay       {"delay", "count"?}
  POST /alipay/sandbox/notifications/deliver
  GET  /alipay/sandbox/notifications
  GET  /alipay/sandbox/trades
`
