package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// controlError is a control call's failure, answered as
// {"error":{"code","message"}}.
type controlError struct {
	Status  int
	Code    string
	Message string
}

func (e *controlError) Error() string { return e.Code + ": " + e.Message }

func controlErr(status int, code, format string, args ...any) *controlError {
	return &controlError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func writeControlError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

func writeControlErr(w http.ResponseWriter, err error) {
	if ce, ok := errors.AsType[*controlError](err); ok {
		writeControlError(w, ce.Status, ce.Code, ce.Message)
		return
	}
	writeControlError(w, http.StatusInternalServerError, "internal", err.Error())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encode"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// controlInput reads a control call's parameters from a JSON object of
// strings (or numbers) or from a form.
func controlInput(r *http.Request) (map[string]string, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	out := map[string]string{}
	if ct == "application/json" {
		var m map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber() // 1000000 stays "1000000", not "1e+06"
		if err := dec.Decode(&m); err != nil {
			return nil, controlErr(http.StatusBadRequest, "invalid", "The body is not a JSON object: %s.", err.Error())
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[k] = v
			case json.Number:
				out[k] = v.String()
			case bool:
				out[k] = strconv.FormatBool(v)
			default:
				return nil, controlErr(http.StatusBadRequest, "invalid", "The field %q must be a string or a number.", k)
			}
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, controlErr(http.StatusBadRequest, "invalid", "The body is not a form: %s.", err.Error())
	}
	for k := range r.PostForm {
		out[k] = r.PostForm.Get(k)
	}
	return out, nil
}

// handlePay is POST /wechat/sandbox/pay: the simulated buyer pays a trade
// (out_trade_no; optional openid). The cashier page's form comes back to
// the page; other callers get the trade as a query would show it.
func (g *Gateway) handlePay(w http.ResponseWriter, r *http.Request) {
	in, err := controlInput(r)
	if err != nil {
		writeControlErr(w, err)
		return
	}
	no := in["out_trade_no"]
	if no == "" {
		writeControlError(w, http.StatusBadRequest, "invalid", "out_trade_no is required.")
		return
	}
	tx, err := g.pay(no, in["openid"])
	if err != nil {
		writeControlErr(w, err)
		return
	}
	if p := in["prepay_id"]; p != "" && in["from"] == "cashier" {
		http.Redirect(w, r, "/wechat/cashier?prepay_id="+url.QueryEscape(p), http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, tx)
}

// handleNextRefund is POST /wechat/sandbox/next-refund: status SUCCESS,
// CLOSED (refused: a failed refund), ABNORMAL or PROCESSING (never
// settles) is where the next refund created ends.
func (g *Gateway) handleNextRefund(w http.ResponseWriter, r *http.Request) {
	in, err := controlInput(r)
	if err != nil {
		writeControlErr(w, err)
		return
	}
	s := in["status"]
	switch s {
	case refundSuccess, refundClosed, refundAbnormal, refundProcessing:
	default:
		writeControlError(w, http.StatusBadRequest, "invalid", "status must be SUCCESS, CLOSED, ABNORMAL or PROCESSING.")
		return
	}
	g.mu.Lock()
	g.controls.nextRefund = s
	g.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"next_refund": s})
}

// handleNextError is POST /wechat/sandbox/next-error: the next /v3/ call
// with a good signature is answered with this error (status 400–599, code,
// message) instead of being served.
func (g *Gateway) handleNextError(w http.ResponseWriter, r *http.Request) {
	in, err := controlInput(r)
	if err != nil {
		writeControlErr(w, err)
		return
	}
	status, err := strconv.Atoi(in["status"])
	if err != nil || status < 400 || status > 599 {
		writeControlError(w, http.StatusBadRequest, "invalid", "status must be an HTTP error status, 400 to 599.")
		return
	}
	code := in["code"]
	if code == "" {
		code = "SYSTEM_ERROR"
	}
	msg := in["message"]
	if msg == "" {
		msg = "系统错误"
	}
	g.mu.Lock()
	g.controls.nextError = &apiError{Status: status, Code: code, Message: msg}
	g.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"next_error": map[string]any{"status": status, "code": code, "message": msg}})
}

func (g *Gateway) takeNextError() *apiError {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.controls.nextError
	g.controls.nextError = nil
	return e
}

// handleNotifyMode is POST /wechat/sandbox/notifications: mode deliver
// (the default), hold (queue but send nothing) or drop (new notifications
// are never sent), and delay (a Go duration such as "30s") before the
// first delivery of new notifications.
func (g *Gateway) handleNotifyMode(w http.ResponseWriter, r *http.Request) {
	in, err := controlInput(r)
	if err != nil {
		writeControlErr(w, err)
		return
	}
	mode := in["mode"]
	switch mode {
	case modeDeliver, modeHold, modeDrop, "":
	default:
		writeControlError(w, http.StatusBadRequest, "invalid", "mode must be deliver, hold or drop.")
		return
	}
	var delay time.Duration
	if s := in["delay"]; s != "" {
		if delay, err = time.ParseDuration(s); err != nil || delay < 0 {
			writeControlError(w, http.StatusBadRequest, "invalid", `delay must be a duration such as "30s" or "2m".`)
			return
		}
	}
	g.mu.Lock()
	if mode != "" {
		g.controls.notifyMode = mode
	}
	if _, ok := in["delay"]; ok {
		g.controls.notifyDelay = delay
	}
	out := map[string]string{"mode": g.controls.notifyMode, "delay": g.controls.notifyDelay.String()}
	if out["mode"] == "" {
		out["mode"] = modeDeliver
	}
	g.mu.Unlock()
	g.poke()
	writeJSON(w, http.StatusOK, out)
}

// handleFlush is POST /wechat/sandbox/notifications/flush: every pending
// notification is due now instead of at its scheduled retry.
func (g *Gateway) handleFlush(w http.ResponseWriter, _ *http.Request) {
	g.mu.Lock()
	now, n := g.now(), 0
	for _, m := range g.st.Notifications {
		if m.Status == notifyPending {
			m.NextAt = now
			n++
		}
	}
	g.persistLocked()
	g.mu.Unlock()
	g.poke()
	writeJSON(w, http.StatusOK, map[string]int{"pending": n})
}

// handleProbe is POST /wechat/sandbox/probe: sends notify_url a signature
// probe (a well-formed notification whose Wechatpay-Signature starts with
// WECHATPAY/SIGNTEST/) and answers the merchant's HTTP status. A merchant
// that verifies signatures answers it with an error status.
func (g *Gateway) handleProbe(w http.ResponseWriter, r *http.Request) {
	in, err := controlInput(r)
	if err != nil {
		writeControlErr(w, err)
		return
	}
	if e := checkNotifyURL(in["notify_url"]); e != nil {
		writeControlError(w, http.StatusBadRequest, "invalid", "notify_url must be an absolute http(s) URL without a query.")
		return
	}
	now := g.now()
	t := &trade{OutTradeNo: "PROBE" + randomDigits(12), TradeType: tradeNative, AppID: g.cfg.AppID,
		Total: 1, OpenID: "oSandboxProbe", State: stateSuccess, SuccessTime: now,
		TransactionID: "4200000000" + now.In(beijing).Format("20060102") + randomDigits(10)}
	n, err := g.newNotification("TRANSACTION.SUCCESS", "支付成功", "transaction", in["notify_url"], g.view(t), now)
	if err != nil {
		writeControlErr(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
	defer cancel()
	status, err := g.send(ctx, n.URL, []byte(n.Body), true)
	if err != nil {
		writeControlError(w, http.StatusBadGateway, "unreachable", "The probe was not delivered: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":   status,
		"rejected": status != http.StatusOK && status != http.StatusNoContent,
	})
}

// handleState is GET /wechat/sandbox/state: the gateway's trades, refunds
// and notifications, for a person looking at what happened.
func (g *Gateway) handleState(w http.ResponseWriter, _ *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	mode := g.controls.notifyMode
	if mode == "" {
		mode = modeDeliver
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"trades":        g.st.Trades,
		"refunds":       g.st.Refunds,
		"notifications": g.st.Notifications,
		"notify_mode":   mode,
		"bill_plants":   g.st.BillPlants,
	})
}

// cashierPage shows a trade to the simulated buyer, with a button that
// pays it through the pay control.
var cashierPage = template.Must(template.New("cashier").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>微信支付 沙箱收银台</title>
<style>body{font-family:sans-serif;max-width:28em;margin:2em auto;padding:0 1em;color:#222}
.amount{font-size:2.2em;margin:.3em 0}.muted{color:#777;font-size:.9em}
button{background:#07c160;color:#fff;border:0;border-radius:4px;padding:.8em 2em;font-size:1.1em;width:100%}
input{width:100%;padding:.4em;margin:.3em 0 1em;box-sizing:border-box}</style></head>
<body><p class="muted">WeChat Pay sandbox · 商户号 {{.MchID}}</p>
<h1>{{.Subject}}</h1><p class="amount">¥{{.Yuan}}</p>
<p class="muted">商户订单号 {{.OutTradeNo}} · {{.TradeType}}</p>
{{if eq .State "NOTPAY"}}
<form method="post" action="/wechat/sandbox/pay">
<input type="hidden" name="out_trade_no" value="{{.OutTradeNo}}">
<input type="hidden" name="prepay_id" value="{{.PrepayID}}">
<input type="hidden" name="from" value="cashier">
<label class="muted">付款用户 openid（可不填）<input name="openid" value="{{.OpenID}}"></label>
<button type="submit">支付 Pay</button></form>
{{else}}<p><strong>{{.StateDesc}}</strong> ({{.State}})</p>{{end}}
</body></html>
`))

// handleCashier is GET /wechat/cashier?prepay_id=: the page that Native's
// code_url and H5's h5_url open.
func (g *Gateway) handleCashier(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("prepay_id")
	g.mu.Lock()
	var found *trade
	for _, t := range g.st.Trades {
		if t.PrepayID == id && id != "" {
			found = t
		}
	}
	var data map[string]string
	if found != nil {
		g.expireLocked(found, g.now())
		data = map[string]string{
			"MchID": g.cfg.MchID, "Subject": found.Description, "Yuan": found.Total.Yuan(),
			"OutTradeNo": found.OutTradeNo, "TradeType": found.TradeType, "State": found.State,
			"StateDesc": tradeStateDesc[found.State], "PrepayID": found.PrepayID, "OpenID": found.OpenID,
		}
	}
	g.mu.Unlock()
	if found == nil {
		http.Error(w, "没有这笔订单 (no trade has this prepay_id)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := cashierPage.Execute(w, data); err != nil {
		g.log.Error("wechat sandbox: cashier page", "err", err)
	}
}
