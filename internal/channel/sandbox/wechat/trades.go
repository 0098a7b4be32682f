package wechat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"
	"unicode/utf8"

	"bursar.dev/bursar/internal/bursar"
)

// prepayRequest is the body of the four prepay calls; each reads the parts
// its trade type needs.
type prepayRequest struct {
	AppID       string `json:"appid"`
	MchID       string `json:"mchid"`
	Description string `json:"description"`
	OutTradeNo  string `json:"out_trade_no"`
	TimeExpire  string `json:"time_expire"`
	Attach      string `json:"attach"`
	NotifyURL   string `json:"notify_url"`
	Amount      *struct {
		Total    *bursar.Amount `json:"total"` // an integer: 19.9 or "1990" fail to decode
		Currency string         `json:"currency"`
	} `json:"amount"`
	Payer *struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
	SceneInfo *struct {
		PayerClientIP string `json:"payer_client_ip"`
		H5Info        *struct {
			Type string `json:"type"`
		} `json:"h5_info"`
	} `json:"scene_info"`
}

var outTradeNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*]{6,32}$`)

// defaultExpiry is how long an order stays payable without time_expire.
const defaultExpiry = 7 * 24 * time.Hour

// prepay returns the handler of one prepay call. Placing the same order
// again with the same parameters gives the same answer; with different
// ones it is refused, as WeChat does.
func (g *Gateway) prepay(tradeType string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		var req prepayRequest
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, paramErr("请求体不是合法的 JSON 或字段类型错误: %s", err.Error()))
			return
		}
		now := g.now()
		t, e := g.newTrade(tradeType, req, now)
		if e != nil {
			writeError(w, e)
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if old, ok := g.st.Trades[t.OutTradeNo]; ok {
			g.expireLocked(old, now)
			switch {
			case old.paid():
				writeError(w, apiErr(http.StatusBadRequest, "ORDERPAID", "该订单已支付"))
			case old.State == stateClosed:
				writeError(w, apiErr(http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭"))
			case old.Params != t.Params:
				writeError(w, apiErr(http.StatusBadRequest, "INVALID_REQUEST", "201 商户订单号重复，且与原订单参数不一致"))
			default:
				g.reply(w, r, http.StatusOK, g.prepayAnswer(r, old))
			}
			return
		}
		g.st.Trades[t.OutTradeNo] = t
		g.persistLocked()
		g.reply(w, r, http.StatusOK, g.prepayAnswer(r, t))
	}
}

// newTrade validates a prepay request as WeChat does and returns the trade
// it places.
func (g *Gateway) newTrade(tradeType string, req prepayRequest, now time.Time) (*trade, *apiError) {
	switch {
	case req.AppID == "":
		return nil, paramErr("appid 为必填字段")
	case req.MchID == "":
		return nil, paramErr("mchid 为必填字段")
	case req.MchID != g.cfg.MchID:
		return nil, apiErr(http.StatusBadRequest, "INVALID_REQUEST", "mchid 与请求签名中的商户号不一致")
	case req.AppID != g.cfg.AppID:
		return nil, apiErr(http.StatusBadRequest, "INVALID_REQUEST", "appid和mch_id不匹配")
	case req.Description == "" || utf8.RuneCountInString(req.Description) > 127:
		return nil, paramErr("description 须为 1 到 127 个字符")
	case !outTradeNoPattern.MatchString(req.OutTradeNo):
		return nil, paramErr("out_trade_no 须为 6 到 32 个字符，只能是数字、大小写字母或 _-|*")
	case req.Amount == nil || req.Amount.Total == nil:
		return nil, paramErr("amount.total 为必填字段")
	case *req.Amount.Total <= 0:
		return nil, paramErr("amount.total 须为大于 0 的整数（分）")
	case req.Amount.Currency != "" && req.Amount.Currency != "CNY":
		return nil, paramErr("amount.currency 只能是 CNY")
	}
	if e := checkNotifyURL(req.NotifyURL); e != nil {
		return nil, e
	}
	t := &trade{
		OutTradeNo: req.OutTradeNo, TradeType: tradeType, AppID: req.AppID, Description: req.Description,
		Attach: req.Attach, NotifyURL: req.NotifyURL, Total: *req.Amount.Total,
		TimeExpire: now.Add(defaultExpiry), State: stateNotPay, CreatedAt: now,
		PrepayID: "wx" + now.In(beijing).Format("20060102150405") + randomHex(9),
	}
	if req.TimeExpire != "" {
		exp, err := time.Parse(time.RFC3339, req.TimeExpire)
		switch {
		case err != nil:
			return nil, paramErr("time_expire 须为 rfc3339 格式，如 2026-01-01T12:00:00+08:00")
		case !exp.After(now):
			return nil, apiErr(http.StatusBadRequest, "INVALID_REQUEST", "time_expire 已过期")
		}
		t.TimeExpire = exp
	}
	switch tradeType {
	case tradeJSAPI:
		if req.Payer == nil || req.Payer.OpenID == "" {
			return nil, paramErr("JSAPI 下单 payer.openid 为必填字段")
		}
		t.OpenID = req.Payer.OpenID
	case tradeH5:
		if req.SceneInfo == nil || req.SceneInfo.PayerClientIP == "" {
			return nil, paramErr("H5 下单 scene_info.payer_client_ip 为必填字段")
		}
		if req.SceneInfo.H5Info == nil || req.SceneInfo.H5Info.Type == "" {
			return nil, paramErr("H5 下单 scene_info.h5_info.type 为必填字段")
		}
		t.ClientIP = req.SceneInfo.PayerClientIP
	}
	// What may not change when the order is placed again.
	t.Params = fmt.Sprintf("%s|%s|%s|%s|%s|%d|%s|%s|%s", tradeType, t.AppID, t.Description, t.Attach,
		t.NotifyURL, t.Total, t.OpenID, t.ClientIP, req.TimeExpire)
	return t, nil
}

// checkNotifyURL accepts an absolute http(s) URL without a query string:
// WeChat forbids parameters on notify_url.
func checkNotifyURL(s string) *apiError {
	if s == "" {
		return paramErr("notify_url 为必填字段")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return paramErr("notify_url 须为 http 或 https 的绝对地址")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return paramErr("notify_url 不能携带参数")
	}
	return nil
}

// prepayAnswer is the answer to a prepay call for t. The payment URLs of
// Native (the QR code's content) and H5 open the sandbox's cashier page, so
// a person can pay from a phone or a browser.
func (g *Gateway) prepayAnswer(r *http.Request, t *trade) any {
	cashier := g.baseURL(r) + "/wechat/cashier?prepay_id=" + url.QueryEscape(t.PrepayID)
	switch t.TradeType {
	case tradeNative:
		return map[string]string{"code_url": cashier}
	case tradeH5:
		return map[string]string{"h5_url": cashier}
	default:
		return map[string]string{"prepay_id": t.PrepayID}
	}
}

// expireLocked closes an unpaid trade whose time_expire has passed: it can
// no longer be paid, and queries say so.
func (g *Gateway) expireLocked(t *trade, now time.Time) {
	if t.State == stateNotPay && now.After(t.TimeExpire) {
		t.State = stateClosed
		g.persistLocked()
	}
}

// transaction is a trade as queries and payment notifications show it.
type transaction struct {
	Amount         txAmount `json:"amount"`
	AppID          string   `json:"appid"`
	Attach         string   `json:"attach"`
	BankType       string   `json:"bank_type,omitempty"`
	MchID          string   `json:"mchid"`
	OutTradeNo     string   `json:"out_trade_no"`
	Payer          *txPayer `json:"payer,omitempty"`
	SuccessTime    string   `json:"success_time,omitempty"`
	TradeState     string   `json:"trade_state"`
	TradeStateDesc string   `json:"trade_state_desc"`
	TradeType      string   `json:"trade_type,omitempty"`
	TransactionID  string   `json:"transaction_id,omitempty"`
}

type txAmount struct {
	Currency      string         `json:"currency"`
	PayerCurrency string         `json:"payer_currency"`
	PayerTotal    *bursar.Amount `json:"payer_total,omitempty"`
	Total         bursar.Amount  `json:"total"`
}

type txPayer struct {
	OpenID string `json:"openid"`
}

var tradeStateDesc = map[string]string{
	stateNotPay:  "订单未支付",
	stateSuccess: "支付成功",
	stateRefund:  "订单发生过退款",
	stateClosed:  "订单已关闭",
}

// view is how the API shows t. Unpaid trades have no transaction id, payer
// or payment time, as on the real wire.
func (g *Gateway) view(t *trade) transaction {
	v := transaction{
		Amount: txAmount{Currency: "CNY", PayerCurrency: "CNY", Total: t.Total},
		AppID:  t.AppID, Attach: t.Attach, MchID: g.cfg.MchID, OutTradeNo: t.OutTradeNo,
		TradeState: t.State, TradeStateDesc: tradeStateDesc[t.State],
	}
	if t.TransactionID != "" {
		total := t.Total
		v.Amount.PayerTotal = &total
		v.BankType = "OTHERS"
		v.Payer = &txPayer{OpenID: t.OpenID}
		v.SuccessTime = t.SuccessTime.In(beijing).Format(time.RFC3339)
		v.TradeType = t.TradeType
		v.TransactionID = t.TransactionID
	}
	return v
}

// checkMchID checks the ?mchid= of a query.
func (g *Gateway) checkMchID(r *http.Request) *apiError {
	switch m := r.URL.Query().Get("mchid"); m {
	case "":
		return paramErr("mchid 为必填的查询参数")
	case g.cfg.MchID:
		return nil
	default:
		return apiErr(http.StatusBadRequest, "INVALID_REQUEST", "mchid %s 与请求签名中的商户号不一致", m)
	}
}

func orderNotExist() *apiError {
	return apiErr(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
}

// handleTradeGet answers GET /v3/pay/transactions/out-trade-no/{out_trade_no}.
func (g *Gateway) handleTradeGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	if e := g.checkMchID(r); e != nil {
		writeError(w, e)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.st.Trades[r.PathValue("out_trade_no")]
	if !ok {
		writeError(w, orderNotExist())
		return
	}
	g.expireLocked(t, g.now())
	g.reply(w, r, http.StatusOK, g.view(t))
}

// handleTradeGetByID answers GET /v3/pay/transactions/id/{transaction_id}:
// only paid trades have one, so unpaid ones are not found this way.
func (g *Gateway) handleTradeGetByID(w http.ResponseWriter, r *http.Request, _ []byte) {
	if e := g.checkMchID(r); e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("transaction_id")
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range g.st.Trades {
		if t.TransactionID != "" && t.TransactionID == id {
			g.reply(w, r, http.StatusOK, g.view(t))
			return
		}
	}
	writeError(w, orderNotExist())
}

// handleTradeClose answers POST .../out-trade-no/{out_trade_no}/close with
// a signed, empty 204. A paid trade cannot be closed.
func (g *Gateway) handleTradeClose(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, paramErr("请求体不是合法的 JSON: %s", err.Error()))
		return
	}
	if req.MchID != g.cfg.MchID {
		writeError(w, apiErr(http.StatusBadRequest, "INVALID_REQUEST", "mchid 与请求签名中的商户号不一致"))
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.st.Trades[r.PathValue("out_trade_no")]
	switch {
	case !ok:
		writeError(w, orderNotExist())
		return
	case t.paid():
		writeError(w, apiErr(http.StatusBadRequest, "ORDERPAID", "订单已支付"))
		return
	}
	if t.State != stateClosed {
		t.State = stateClosed
		g.persistLocked()
	}
	g.reply(w, r, http.StatusNoContent, nil)
}

// pay marks the unpaid trade outTradeNo paid by openid (a made-up buyer
// when empty, the JSAPI payer when there is one) and queues its
// TRANSACTION.SUCCESS notification.
func (g *Gateway) pay(outTradeNo, openid string) (transaction, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.st.Trades[outTradeNo]
	if !ok {
		return transaction{}, controlErr(http.StatusNotFound, "not_found", "No trade has out_trade_no %q.", outTradeNo)
	}
	now := g.now()
	g.expireLocked(t, now)
	switch t.State {
	case stateNotPay:
	case stateClosed:
		return transaction{}, controlErr(http.StatusConflict, "wrong_state", "The trade %q is closed or expired and cannot be paid.", outTradeNo)
	default:
		return transaction{}, controlErr(http.StatusConflict, "wrong_state", "The trade %q is already paid.", outTradeNo)
	}
	switch {
	case openid != "":
		t.OpenID = openid
	case t.OpenID == "":
		t.OpenID = "oSandbox" + randomAlnum(20)
	}
	t.State, t.SuccessTime = stateSuccess, now
	t.TransactionID = g.nextIDLocked("4200000000", now)
	v := g.view(t)
	g.notifyLocked("TRANSACTION.SUCCESS", "支付成功", "transaction", t.NotifyURL, v, now)
	g.persistLocked()
	return v, nil
}
