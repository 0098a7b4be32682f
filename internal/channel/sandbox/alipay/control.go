package alipay

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ctlError is a control call's failure, answered as
// {"error":{"code":...,"message":...}} like Bursar's own API.
type ctlError struct {
	status    int
	code, msg string
}

func badRequest(msg string) *ctlError { return &ctlError{http.StatusBadRequest, "invalid", msg} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

func writeCtlError(w http.ResponseWriter, e *ctlError) {
	writeJSON(w, e.status, map[string]any{"error": map[string]string{"code": e.code, "message": e.msg}})
}

// input reads a control call's body, JSON or a form, as strings.
func input(w http.ResponseWriter, r *http.Request) (map[string]string, *ctlError) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	in := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var raw map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return nil, badRequest("The body is not a JSON object: " + err.Error())
		}
		for k, v := range raw {
			switch v := v.(type) {
			case string:
				in[k] = v
			case json.Number:
				in[k] = v.String()
			default:
				return nil, badRequest(fmt.Sprintf("The field %q must be a string or a number.", k))
			}
		}
		return in, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("The body is not a form: " + err.Error())
	}
	for k, vs := range r.Form {
		in[k] = vs[0]
	}
	return in, nil
}

// count reads an optional positive count, 1 when absent.
func count(in map[string]string) (int, *ctlError) {
	if in["count"] == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(in["count"])
	if err != nil || n < 1 || n > 1000 {
		return 0, badRequest("count must be a whole number from 1 to 1000.")
	}
	return n, nil
}

func duration(in map[string]string, name string, def time.Duration) (time.Duration, *ctlError) {
	if in[name] == "" {
		return def, nil
	}
	d, err := time.ParseDuration(in[name])
	if err != nil || d < 0 {
		return 0, badRequest(name + " must be a duration such as \"90s\" or \"10m\".")
	}
	return d, nil
}

// payable finds the trade a buyer is paying: by out_trade_no within app_id,
// or across apps when app_id is not given and the number is unambiguous.
// The caller holds g.mu.
func (g *Gateway) payable(appID, outTradeNo string) (*trade, *ctlError) {
	if outTradeNo == "" {
		return nil, badRequest("out_trade_no is required.")
	}
	var found []*trade
	for _, t := range g.st.Trades {
		if t.OutTradeNo == outTradeNo && (appID == "" || t.AppID == appID) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return nil, &ctlError{http.StatusNotFound, "not_found", "No trade has out_trade_no " + outTradeNo +
			"; page and wap payments exist once their payment URL is opened."}
	case 1:
		return found[0], nil
	}
	return nil, badRequest("Several apps have a trade " + outTradeNo + "; give app_id.")
}

// handleControlPay is the simulated buyer paying: by out_trade_no, or with
// an app payment's order_string.
func (g *Gateway) handleControlPay(w http.ResponseWriter, r *http.Request) {
	in, cerr := input(w, r)
	if cerr != nil {
		writeCtlError(w, cerr)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep()
	var t *trade
	if s := in["order_string"]; s != "" {
		p, aerr := parseOrderString(s)
		var a *app
		if aerr == nil {
			a, aerr = g.authenticate(p)
		}
		var b biz
		if aerr == nil {
			b, aerr = parseBiz(p["biz_content"])
		}
		if aerr == nil {
			t, aerr = g.createTrade(a, methodAppPay, p, b, true)
		}
		if aerr != nil && (t == nil || t.Status == waitBuyerPay) {
			writeCtlError(w, badRequest(fmt.Sprintf("The order string is refused: %s %s %s", aerr.code, aerr.subCode, aerr.subMsg)))
			return
		}
	} else {
		if t, cerr = g.payable(in["app_id"], in["out_trade_no"]); cerr != nil {
			writeCtlError(w, cerr)
			return
		}
	}
	if cerr := g.pay(t, in["buyer_id"]); cerr != nil {
		writeCtlError(w, cerr)
		return
	}
	out := map[string]string{"app_id": t.AppID, "out_trade_no": t.OutTradeNo, "trade_no": t.TradeNo,
		"trade_status": t.Status, "total_amount": t.Total.Yuan(), "buyer_id": t.BuyerID}
	if t.ReturnURL != "" {
		out["return_url"] = g.returnURL(t)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleControlFailNext makes the next refunds or payouts fail
// (ACQ.SELLER_BALANCE_NOT_ENOUGH, PAYER_BALANCE_NOT_ENOUGH).
func (g *Gateway) handleControlFailNext(w http.ResponseWriter, r *http.Request) {
	g.control(w, r, func(in map[string]string, c *controls) *ctlError {
		n, cerr := count(in)
		if cerr != nil {
			return cerr
		}
		switch in["what"] {
		case "refund":
			c.FailRefunds += n
		case "transfer":
			c.FailTransfers += n
		default:
			return badRequest(`what must be "refund" or "transfer".`)
		}
		return nil
	})
}

// handleControlDealing makes the next payouts answer DEALING and end as
// outcome after a while (default a minute).
func (g *Gateway) handleControlDealing(w http.ResponseWriter, r *http.Request) {
	g.control(w, r, func(in map[string]string, c *controls) *ctlError {
		n, cerr := count(in)
		if cerr != nil {
			return cerr
		}
		after, cerr := duration(in, "after", time.Minute)
		if cerr != nil {
			return cerr
		}
		outcome := strings.ToUpper(in["outcome"])
		if outcome == "" {
			outcome = transferSuccess
		}
		if outcome != transferSuccess && outcome != transferFail {
			return badRequest(`outcome must be "SUCCESS" or "FAIL".`)
		}
		for range n {
			c.Dealing = append(c.Dealing, dealing{Outcome: outcome, After: after})
		}
		return nil
	})
}

// handleControlBadPayee marks an account as one Alipay does not know
// (PAYEE_NOT_EXIST) or a name as not matching its account
// (PAYEE_USERINFO_ERROR).
func (g *Gateway) handleControlBadPayee(w http.ResponseWriter, r *http.Request) {
	g.control(w, r, func(in map[string]string, c *controls) *ctlError {
		if in["account"] == "" && in["name"] == "" {
			return badRequest("Give account, name or both.")
		}
		if a := in["account"]; a != "" && !contains(c.BadAccounts, a) {
			c.BadAccounts = append(c.BadAccounts, a)
		}
		if n := in["name"]; n != "" && !contains(c.BadNames, n) {
			c.BadNames = append(c.BadNames, n)
		}
		return nil
	})
}

// handleControlAppGateway sets an app's application gateway, where payout
// messages go (the URL configured in Alipay's console).
func (g *Gateway) handleControlAppGateway(w http.ResponseWriter, r *http.Request) {
	in, cerr := input(w, r)
	if cerr != nil {
		writeCtlError(w, cerr)
		return
	}
	if g.apps[in["app_id"]] == nil {
		writeCtlError(w, badRequest(fmt.Sprintf("app_id %q is not an app of this sandbox.", in["app_id"])))
		return
	}
	if u, err := url.Parse(in["url"]); in["url"] != "" && (err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https")) {
		writeCtlError(w, badRequest("url must be an absolute http or https URL, or empty to unset."))
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.st.AppGateways == nil {
		g.st.AppGateways = map[string]string{}
	}
	if in["url"] == "" {
		delete(g.st.AppGateways, in["app_id"])
	} else {
		g.st.AppGateways[in["app_id"]] = in["url"]
	}
	g.answerCommit(w, map[string]string{"app_id": in["app_id"], "url": in["url"]})
}

// handleControlDrop makes Alipay lose the next notifications.
func (g *Gateway) handleControlDrop(w http.ResponseWriter, r *http.Request) {
	g.control(w, r, func(in map[string]string, c *controls) *ctlError {
		n, cerr := count(in)
		c.DropNotify += n
		return cerr
	})
}

// handleControlDelay holds back the first attempt of the next notifications.
func (g *Gateway) handleControlDelay(w http.ResponseWriter, r *http.Request) {
	g.control(w, r, func(in map[string]string, c *controls) *ctlError {
		n, cerr := count(in)
		if cerr != nil {
			return cerr
		}
		d, cerr := duration(in, "delay", 0)
		if cerr != nil {
			return cerr
		}
		if d <= 0 {
			return badRequest("delay is required, such as \"10m\".")
		}
		c.DelayNotify, c.Delay = n, d
		return nil
	})
}

// handleControlDeliver delivers every notification due now.
func (g *Gateway) handleControlDeliver(w http.ResponseWriter, r *http.Request) {
	n := g.DeliverDue(r.Context())
	writeJSON(w, http.StatusOK, map[string]int{"attempted": n})
}

func (g *Gateway) handleControlNotifications(w http.ResponseWriter, _ *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"notifications": g.st.Notifications})
}

func (g *Gateway) handleControlTrades(w http.ResponseWriter, _ *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep()
	trades := make([]*trade, 0, len(g.st.Trades))
	for _, t := range g.st.Trades {
		trades = append(trades, t)
	}
	sort.Slice(trades, func(i, j int) bool { return trades[i].TradeNo < trades[j].TradeNo })
	writeJSON(w, http.StatusOK, map[string]any{"trades": trades, "transfers": g.st.Transfers})
}

// control runs a change to the controls and answers with them.
func (g *Gateway) control(w http.ResponseWriter, r *http.Request, change func(map[string]string, *controls) *ctlError) {
	in, cerr := input(w, r)
	if cerr != nil {
		writeCtlError(w, cerr)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.st.Controls
	if cerr := change(in, &c); cerr != nil {
		writeCtlError(w, cerr)
		return
	}
	g.st.Controls = c
	g.answerCommit(w, map[string]any{"controls": c})
}

// answerCommit saves a control's change and answers v. The caller holds g.mu.
func (g *Gateway) answerCommit(w http.ResponseWriter, v any) {
	if aerr := g.commit(); aerr != nil {
		writeCtlError(w, &ctlError{http.StatusServiceUnavailable, "unavailable", aerr.subMsg})
		return
	}
	writeJSON(w, http.StatusOK, v)
}
