package alipay

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"bursar.dev/bursar/internal/bursar"
)

const (
	maxTradeAmount  = bursar.Amount(100_000_000_00) // 100,000,000 yuan
	defaultExpiry   = 15 * 24 * time.Hour           // when the merchant sets no time_expire or timeout_express
	defaultBuyerID  = "2088102177000001"
	merchantEmail   = "merchant@sandbox.bursar.dev"
	fundChannelFree = "ALIPAYACCOUNT" // the buyer pays from the Alipay balance
)

var (
	outNoPattern   = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
	userIDPattern  = regexp.MustCompile(`^2088[0-9]{12}$`)
	timeoutExpress = regexp.MustCompile(`^([1-9][0-9]{0,4})([mhd])$`)
)

// expireLayoutMin is the shorter time_expire format wap.pay documents.
const expireLayoutMin = "2006-01-02 15:04"

// token returns a random hex string of n bytes, for ids nobody may guess.
func token(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// tradeNo makes an Alipay-looking trade number: the date, a fixed middle
// and a sequence, 28 digits.
func (g *Gateway) tradeNo(now time.Time) string {
	return fmt.Sprintf("%s220014%014d", now.In(beijing).Format("20060102"), g.nextSeq())
}

// amountArg reads a yuan amount ("19.90", "19.9", or a JSON number) exactly.
func amountArg(b biz, name string, minimum bursar.Amount) (bursar.Amount, *apiError) {
	s := b.str(name)
	if s == "" {
		return 0, missingArg("isv.missing-parameter", "缺少必选参数: "+name)
	}
	a, err := bursar.ParseYuan(s)
	if err != nil || a < minimum || a > maxTradeAmount {
		return 0, invalidArg("isv.invalid-parameter", "参数无效: "+name+" must be yuan with at most two decimals, from "+
			minimum.Yuan()+" to "+maxTradeAmount.Yuan())
	}
	return a, nil
}

// expiry reads time_expire or timeout_express; without either a trade
// stays payable for defaultExpiry.
func expiry(b biz, now time.Time) (time.Time, *apiError) {
	if s := b.str("time_expire"); s != "" {
		for _, layout := range []string{timeLayout, expireLayoutMin} {
			if t, err := time.ParseInLocation(layout, s, beijing); err == nil {
				return t, nil
			}
		}
		return time.Time{}, invalidArg("isv.invalid-parameter", "参数无效: time_expire is not yyyy-MM-dd HH:mm:ss")
	}
	s := b.str("timeout_express")
	if s == "" {
		return now.Add(defaultExpiry), nil
	}
	if s == "1c" { // the end of today, Beijing time
		y, m, d := now.In(beijing).Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, beijing), nil
	}
	parts := timeoutExpress.FindStringSubmatch(s)
	if parts == nil {
		return time.Time{}, invalidArg("isv.invalid-parameter", "参数无效: timeout_express is not like 90m, 2h, 15d or 1c")
	}
	n, _ := strconv.Atoi(parts[1]) // the pattern allows digits only
	unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[parts[2]]
	if d := time.Duration(n) * unit; d <= 15*24*time.Hour {
		return now.Add(d), nil
	}
	return time.Time{}, invalidArg("isv.invalid-parameter", "参数无效: timeout_express is longer than 15d")
}

// createTrade records the trade a payment method asks for, or finds the one
// recorded before with the same out_trade_no. open says whether the buyer
// is at the cashier now, which makes the trade exist for queries. The
// caller holds g.mu.
func (g *Gateway) createTrade(a *app, method string, p map[string]string, b biz, open bool) (*trade, *apiError) {
	out := b.str("out_trade_no")
	switch {
	case out == "":
		return nil, missingArg("isv.missing-parameter", "缺少必选参数: out_trade_no")
	case !outNoPattern.MatchString(out):
		return nil, invalidArg("isv.invalid-parameter", "参数无效: out_trade_no must be 1 to 64 of [0-9A-Za-z_-]")
	}
	total, aerr := amountArg(b, "total_amount", 1)
	if aerr != nil {
		return nil, aerr
	}
	subject := b.str("subject")
	switch {
	case subject == "":
		return nil, missingArg("isv.missing-parameter", "缺少必选参数: subject")
	case utf8.RuneCountInString(subject) > 256:
		return nil, invalidArg("isv.invalid-parameter", "参数无效: subject is longer than 256 characters")
	}
	if aerr := checkNotifyURL(p["notify_url"]); aerr != nil {
		return nil, aerr
	}
	now := g.now()
	expires, aerr := expiry(b, now)
	if aerr != nil {
		return nil, aerr
	}
	if t := g.st.Trades[key(a.id, out)]; t != nil {
		switch {
		case t.Status == tradeSuccess || t.Status == tradeFinished:
			return t, bizFailed("ACQ.TRADE_HAS_SUCCESS", "交易已被支付").with("out_trade_no", out)
		case t.Status == tradeClosed:
			return t, bizFailed("ACQ.TRADE_HAS_CLOSE", "交易已经关闭").with("out_trade_no", out)
		case t.Total != total || t.Subject != subject:
			return t, bizFailed("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改").with("out_trade_no", out)
		}
		if open && !t.Opened {
			t.Opened, t.Created = true, now
			return t, g.commit()
		}
		return t, nil
	}
	t := &trade{AppID: a.id, OutTradeNo: out, TradeNo: g.tradeNo(now), Method: method, Status: waitBuyerPay,
		Opened: open, Total: total, Subject: subject, Body: b.str("body"), PassbackParams: b.str("passback_params"),
		NotifyURL: p["notify_url"], Created: now, ExpiresAt: expires}
	if method == methodPagePay || method == methodWapPay {
		t.ReturnURL = p["return_url"]
	}
	g.st.Trades[key(a.id, out)] = t
	return t, g.commit()
}

// precreate serves alipay.trade.precreate: the QR code is a link to the
// sandbox cashier; the trade exists once it is opened.
func (g *Gateway) precreate(r *http.Request, a *app, p map[string]string, b biz) (node, *apiError) {
	if pc := b.str("product_code"); pc != "" && pc != "FACE_TO_FACE_PAYMENT" {
		return nil, invalidArg("isv.invalid-parameter", "参数无效: product_code must be FACE_TO_FACE_PAYMENT")
	}
	t, aerr := g.createTrade(a, methodPrecreate, p, b, false)
	if aerr != nil {
		return nil, aerr
	}
	if t.QRCode == "" {
		t.QRCode = token(12)
		if aerr := g.commit(); aerr != nil {
			return nil, aerr
		}
	}
	return success().set("out_trade_no", t.OutTradeNo).set("qr_code", g.baseURL(r)+"/alipay/cashier/qr/"+t.QRCode), nil
}

// lookup finds the trade a query, close or refund names, as the merchant
// may see it.
func (g *Gateway) lookup(a *app, b biz) (*trade, *apiError) {
	out, no := b.str("out_trade_no"), b.str("trade_no")
	if out == "" && no == "" {
		return nil, missingArg("isv.missing-parameter", "缺少必选参数: out_trade_no or trade_no")
	}
	t := g.findTrade(a.id, out, no)
	if t == nil || !t.Opened {
		return nil, bizFailed("ACQ.TRADE_NOT_EXIST", "交易不存在").with("out_trade_no", out).with("trade_no", no)
	}
	return t, nil
}

func (t *trade) paid() bool { return !t.Paid.IsZero() }

// query serves alipay.trade.query.
func (g *Gateway) query(a *app, b biz) (node, *apiError) {
	t, aerr := g.lookup(a, b)
	if aerr != nil {
		return nil, aerr
	}
	n := success().set("trade_no", t.TradeNo).set("out_trade_no", t.OutTradeNo)
	if t.paid() {
		n = n.set("buyer_logon_id", t.BuyerLogonID)
	}
	n = n.set("trade_status", t.Status).set("total_amount", t.Total.Yuan())
	paid := bursar.Amount(0)
	if t.paid() {
		paid = t.Total
	}
	n = n.set("buyer_pay_amount", paid.Yuan()).set("point_amount", "0.00").
		set("invoice_amount", paid.Yuan()).set("receipt_amount", paid.Yuan())
	if t.paid() {
		n = n.set("send_pay_date", stamp(t.Paid)).set("buyer_user_id", t.BuyerID).set("buyer_user_type", "PRIVATE")
		n = append(n, field{"fund_bill_list", []node{{{"fund_channel", fundChannelFree}, {"amount", t.Total.Yuan()}}}})
	}
	return n.set("subject", t.Subject), nil
}

// closeTrade serves alipay.trade.close: an unpaid trade closes (again
// without error); a paid one cannot.
func (g *Gateway) closeTrade(a *app, b biz) (node, *apiError) {
	t, aerr := g.lookup(a, b)
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case t.Status == waitBuyerPay:
		g.closeUnpaid(t, g.now())
		if aerr := g.commit(); aerr != nil {
			return nil, aerr
		}
	case t.Status == tradeClosed && !t.paid():
	default:
		return nil, bizFailed("ACQ.TRADE_STATUS_ERROR", "交易状态不合法").with("out_trade_no", t.OutTradeNo)
	}
	return success().set("trade_no", t.TradeNo).set("out_trade_no", t.OutTradeNo), nil
}

// closeUnpaid closes a trade nobody paid. App and wap payments tell the
// merchant (Alipay sends TRADE_CLOSED for those; page and QR payments only
// ever notify TRADE_SUCCESS). The caller holds g.mu and commits.
func (g *Gateway) closeUnpaid(t *trade, at time.Time) {
	t.Status, t.Closed = tradeClosed, at
	if t.Opened && (t.Method == methodAppPay || t.Method == methodWapPay) {
		g.notifyTrade(t, nil)
	}
}

// sweep closes the trades whose time ran out and finishes the payouts due.
// The caller holds g.mu.
func (g *Gateway) sweep() {
	now, changed := g.now(), false
	for _, t := range g.st.Trades {
		if t.Status == waitBuyerPay && !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
			g.closeUnpaid(t, t.ExpiresAt)
			changed = true
		}
	}
	for _, tr := range g.st.Transfers {
		if tr.Status == transferDealing && !now.Before(tr.FinishAt) {
			g.finishTransfer(tr)
			changed = true
		}
	}
	if changed {
		_ = g.commit() // commit logs a failure; the next change saves again
	}
}

// buyer returns the buyer id and logon id for a payment.
func buyer(id string) (string, string, error) {
	if id == "" {
		id = defaultBuyerID
	}
	if !userIDPattern.MatchString(id) {
		return "", "", fmt.Errorf("buyer_id %q is not 2088 followed by 12 digits", id)
	}
	return id, "san***" + id[len(id)-4:] + "@sandbox.bursar.dev", nil
}

// pay is the buyer paying: the trade becomes TRADE_SUCCESS and the
// merchant is notified. The caller holds g.mu.
func (g *Gateway) pay(t *trade, buyerID string) *ctlError {
	id, logon, err := buyer(buyerID)
	if err != nil {
		return badRequest(err.Error())
	}
	switch t.Status {
	case waitBuyerPay:
	case tradeClosed:
		return &ctlError{http.StatusConflict, "wrong_state", "The trade is closed and can no longer be paid."}
	default:
		return &ctlError{http.StatusConflict, "wrong_state", "The trade is already paid."}
	}
	now := g.now()
	if !t.Opened {
		t.Opened, t.Created = true, now // the buyer scanned the code and paid at once
	}
	t.Status, t.Paid, t.BuyerID, t.BuyerLogonID = tradeSuccess, now, id, logon
	g.notifyTrade(t, nil)
	if aerr := g.commit(); aerr != nil {
		return &ctlError{http.StatusServiceUnavailable, "unavailable", aerr.subMsg}
	}
	return nil
}

// tradeParams are the fields of a trade_status_sync notification for the
// trade as it is now.
func (g *Gateway) tradeParams(t *trade) map[string]string {
	p := map[string]string{
		"notify_type": "trade_status_sync", "app_id": t.AppID, "auth_app_id": t.AppID,
		"charset": "utf-8", "version": "1.0", "trade_no": t.TradeNo, "out_trade_no": t.OutTradeNo,
		"trade_status": t.Status, "total_amount": t.Total.Yuan(), "subject": t.Subject, "body": t.Body,
		"passback_params": t.PassbackParams, "seller_id": g.sellerID, "seller_email": merchantEmail,
		"gmt_create": stamp(t.Created),
	}
	if t.paid() {
		p["buyer_id"], p["buyer_logon_id"] = t.BuyerID, t.BuyerLogonID
		for _, k := range []string{"receipt_amount", "invoice_amount", "buyer_pay_amount"} {
			p[k] = t.Total.Yuan()
		}
		p["point_amount"] = "0.00"
		p["gmt_payment"] = stamp(t.Paid)
		p["fund_bill_list"] = `[{"amount":"` + t.Total.Yuan() + `","fundChannel":"` + fundChannelFree + `"}]`
	}
	if !t.Closed.IsZero() {
		p["gmt_close"] = stamp(t.Closed)
	}
	return p
}

// notifyTrade queues a trade_status_sync notification to the trade's
// notify_url, with extra fields (a refund's). The caller holds g.mu.
func (g *Gateway) notifyTrade(t *trade, extra map[string]string) {
	if t.NotifyURL == "" {
		return
	}
	p := g.tradeParams(t)
	for k, v := range extra {
		p[k] = v
	}
	g.enqueue(t.AppID, t.NotifyURL, kindTrade, p)
}
