package alipay

import (
	"net/http"
)

// maxBody bounds what the gateway reads of a request.
const maxBody = 1 << 20

// The methods of the gateway.do protocol the sandbox implements.
const (
	methodPagePay        = "alipay.trade.page.pay"
	methodWapPay         = "alipay.trade.wap.pay"
	methodAppPay         = "alipay.trade.app.pay"
	methodPrecreate      = "alipay.trade.precreate"
	methodQuery          = "alipay.trade.query"
	methodClose          = "alipay.trade.close"
	methodRefund         = "alipay.trade.refund"
	methodRefundQuery    = "alipay.trade.fastpay.refund.query"
	methodTransfer       = "alipay.fund.trans.uni.transfer"
	methodTransferQuery  = "alipay.fund.trans.common.query"
	methodBillURL        = "alipay.data.dataservice.bill.downloadurl.query"
	methodCertDownload   = "alipay.open.app.alipaycert.download"
	methodTransferChange = "alipay.fund.trans.order.changed" // a message the gateway sends, not a method it serves
)

func isMethod(m string) bool {
	switch m {
	case methodPagePay, methodWapPay, methodAppPay, methodPrecreate, methodQuery, methodClose, methodRefund,
		methodRefundQuery, methodTransfer, methodTransferQuery, methodBillURL, methodCertDownload:
		return true
	}
	return false
}

// isCashierMethod reports whether a method is the buyer's browser (or app)
// opening the cashier rather than a server calling an API.
func isCashierMethod(m string) bool {
	return m == methodPagePay || m == methodWapPay || m == methodAppPay
}

// handleGateway serves /gateway.do: the API calls, and the browser opening
// the cashier for page and wap payments.
func (g *Gateway) handleGateway(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "gateway.do takes GET or POST", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	p, err := params(r)
	if err != nil {
		g.respond(w, "", nil, invalidArg("isv.invalid-parameter", "参数无效: the request is not a valid form").node())
		return
	}
	method := p["method"]
	a, aerr := g.authenticate(p)
	if aerr == nil && !isMethod(method) {
		aerr = invalidArg("isv.invalid-method", "不存在的方法名: the sandbox does not implement "+method)
	}
	if isCashierMethod(method) {
		g.openCashier(w, r, a, p, aerr)
		return
	}
	if aerr != nil {
		g.respond(w, method, a, aerr.node())
		return
	}
	b, aerr := parseBiz(p["biz_content"])
	var n node
	if aerr == nil {
		n, aerr = g.call(r, a, method, p, b)
	}
	if aerr != nil {
		n = aerr.node()
	}
	g.respond(w, method, a, n)
}

// call runs one API method on the gateway's state.
func (g *Gateway) call(r *http.Request, a *app, method string, p map[string]string, b biz) (node, *apiError) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep()
	switch method {
	case methodPrecreate:
		return g.precreate(r, a, p, b)
	case methodQuery:
		return g.query(a, b)
	case methodClose:
		return g.closeTrade(a, b)
	case methodRefund:
		return g.refund(a, b)
	case methodRefundQuery:
		return g.refundQuery(a, b)
	case methodTransfer:
		return g.transfer(a, b)
	case methodTransferQuery:
		return g.transferQuery(a, b)
	case methodBillURL:
		return g.billURL(r, a, b)
	case methodCertDownload:
		return g.certDownload(b)
	}
	return nil, invalidArg("isv.invalid-method", "不存在的方法名")
}

// commit saves the state after a change and wakes the background loop to
// look at what changed. The caller holds g.mu.
func (g *Gateway) commit() *apiError {
	if err := g.save(); err != nil {
		g.log.Error("alipay sandbox: save state", "err", err)
		return unavailable("系统繁忙: the sandbox could not save its state")
	}
	g.kick()
	return nil
}

func (g *Gateway) kick() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// certDownload serves alipay.open.app.alipaycert.download: the Alipay
// certificate by its SN, base64 of the PEM, as clients fetch it when a
// response names a certificate they do not have.
func (g *Gateway) certDownload(b biz) (node, *apiError) {
	sn := b.str("alipay_cert_sn")
	if sn == "" {
		return nil, missingArg("isv.missing-parameter", "缺少必选参数: alipay_cert_sn")
	}
	if sn != g.certSN {
		return nil, bizFailed("CERT_NOT_EXIST", "证书不存在")
	}
	return success().set("alipay_cert_content", b64(g.certPEM)), nil
}
