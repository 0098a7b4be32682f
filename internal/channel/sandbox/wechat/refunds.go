package wechat

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// refundRequest is the body of POST /v3/refund/domestic/refunds.
type refundRequest struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	Amount        *struct {
		Refund   *bursar.Amount `json:"refund"`
		Total    *bursar.Amount `json:"total"`
		Currency string         `json:"currency"`
	} `json:"amount"`
}

var outRefundNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)

// handleRefundCreate answers POST /v3/refund/domestic/refunds. A refund is
// PROCESSING when created and settles RefundDelay later (SUCCESS unless the
// next-refund control said otherwise), with a REFUND.* notification. The
// same out_refund_no gives the same refund again, never a second one.
func (g *Gateway) handleRefundCreate(w http.ResponseWriter, r *http.Request, body []byte) {
	var req refundRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, paramErr("请求体不是合法的 JSON 或字段类型错误: %s", err.Error()))
		return
	}
	switch {
	case req.OutTradeNo == "" && req.TransactionID == "":
		writeError(w, paramErr("transaction_id 和 out_trade_no 必须二选一"))
		return
	case !outRefundNoPattern.MatchString(req.OutRefundNo):
		writeError(w, paramErr("out_refund_no 须为 1 到 64 个字符，只能是数字、大小写字母或 _-|*@"))
		return
	case req.Amount == nil || req.Amount.Refund == nil || req.Amount.Total == nil:
		writeError(w, paramErr("amount.refund 和 amount.total 为必填字段"))
		return
	case *req.Amount.Refund <= 0:
		writeError(w, paramErr("amount.refund 须为大于 0 的整数（分）"))
		return
	case req.Amount.Currency != "CNY":
		writeError(w, paramErr("amount.currency 只能是 CNY"))
		return
	}
	if req.NotifyURL != "" {
		if e := checkNotifyURL(req.NotifyURL); e != nil {
			writeError(w, e)
			return
		}
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.findTradeLocked(req.OutTradeNo, req.TransactionID)
	if t == nil {
		writeError(w, orderNotExist())
		return
	}
	if old, ok := g.st.Refunds[req.OutRefundNo]; ok {
		if old.OutTradeNo != t.OutTradeNo || old.Amount != *req.Amount.Refund {
			writeError(w, apiErr(http.StatusBadRequest, "INVALID_REQUEST", "out_refund_no 已用于另一笔退款，且参数不一致"))
			return
		}
		g.settleRefundsLocked(now)
		g.reply(w, r, http.StatusOK, g.refundView(old))
		return
	}
	if !t.paid() {
		writeError(w, apiErr(http.StatusBadRequest, "INVALID_REQUEST", "订单未支付，不能退款"))
		return
	}
	if *req.Amount.Total != t.Total {
		writeError(w, apiErr(http.StatusBadRequest, "INVALID_REQUEST", "amount.total 与订单金额不一致"))
		return
	}
	refunded := g.refundedLocked(t.OutTradeNo)
	if *req.Amount.Refund > t.Total-refunded {
		writeError(w, apiErr(http.StatusBadRequest, "INVALID_REQUEST",
			"申请退款金额超过订单可退金额: 订单 %s 元，已退 %s 元", t.Total.Yuan(), refunded.Yuan()))
		return
	}
	rf := &refund{
		OutRefundNo: req.OutRefundNo, OutTradeNo: t.OutTradeNo, TransactionID: t.TransactionID,
		Reason: req.Reason, NotifyURL: req.NotifyURL, Amount: *req.Amount.Refund, Total: t.Total,
		Status: refundProcessing, Outcome: refundSuccess, CreatedAt: now, DueAt: now.Add(g.cfg.RefundDelay),
	}
	if rf.NotifyURL == "" {
		// WeChat falls back to the address set in the merchant platform;
		// the sandbox has none but the payment's.
		rf.NotifyURL = t.NotifyURL
	}
	if g.controls.nextRefund != "" {
		rf.Outcome, g.controls.nextRefund = g.controls.nextRefund, ""
	}
	rf.RefundID = g.nextIDLocked("50300000000", now)
	g.st.Refunds[rf.OutRefundNo] = rf
	t.State = stateRefund
	g.persistLocked()
	g.poke()
	g.reply(w, r, http.StatusOK, g.refundView(rf))
}

// handleRefundGet answers GET /v3/refund/domestic/refunds/{out_refund_no}.
func (g *Gateway) handleRefundGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.settleRefundsLocked(g.now())
	rf, ok := g.st.Refunds[r.PathValue("out_refund_no")]
	if !ok {
		writeError(w, apiErr(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在"))
		return
	}
	g.reply(w, r, http.StatusOK, g.refundView(rf))
}

func (g *Gateway) findTradeLocked(outTradeNo, transactionID string) *trade {
	if outTradeNo != "" {
		t := g.st.Trades[outTradeNo]
		if t != nil && transactionID != "" && t.TransactionID != transactionID {
			return nil
		}
		return t
	}
	for _, t := range g.st.Trades {
		if t.TransactionID != "" && t.TransactionID == transactionID {
			return t
		}
	}
	return nil
}

// refundedLocked is what the trade's refunds hold or took.
func (g *Gateway) refundedLocked(outTradeNo string) bursar.Amount {
	var sum bursar.Amount
	for _, rf := range g.st.Refunds {
		if rf.OutTradeNo == outTradeNo && rf.counts() {
			sum += rf.Amount
		}
	}
	return sum
}

// settleRefundsLocked moves the refunds whose time has come out of
// PROCESSING and queues their notifications, oldest first.
func (g *Gateway) settleRefundsLocked(now time.Time) {
	var due []*refund
	for _, rf := range g.st.Refunds {
		if rf.Status == refundProcessing && rf.Outcome != refundProcessing && !rf.DueAt.After(now) {
			due = append(due, rf)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].CreatedAt.Before(due[j].CreatedAt) })
	for _, rf := range due {
		rf.Status = rf.Outcome
		if rf.Status == refundSuccess {
			rf.SuccessTime = now
		}
		g.notifyLocked("REFUND."+rf.Status, refundSummary[rf.Status], "refund", rf.NotifyURL, g.refundNotice(rf), now)
	}
	if len(due) > 0 {
		g.persistLocked()
	}
}

var refundSummary = map[string]string{
	refundSuccess:  "退款成功",
	refundClosed:   "退款关闭",
	refundAbnormal: "退款异常",
}

// refundJSON is a refund as the create and query calls show it.
type refundJSON struct {
	RefundID            string     `json:"refund_id"`
	OutRefundNo         string     `json:"out_refund_no"`
	TransactionID       string     `json:"transaction_id"`
	OutTradeNo          string     `json:"out_trade_no"`
	Channel             string     `json:"channel"`
	UserReceivedAccount string     `json:"user_received_account"`
	SuccessTime         string     `json:"success_time,omitempty"`
	CreateTime          string     `json:"create_time"`
	Status              string     `json:"status"`
	FundsAccount        string     `json:"funds_account"`
	Amount              refundAmts `json:"amount"`
}

type refundAmts struct {
	Total            bursar.Amount `json:"total"`
	Refund           bursar.Amount `json:"refund"`
	PayerTotal       bursar.Amount `json:"payer_total"`
	PayerRefund      bursar.Amount `json:"payer_refund"`
	SettlementRefund bursar.Amount `json:"settlement_refund"`
	SettlementTotal  bursar.Amount `json:"settlement_total"`
	DiscountRefund   bursar.Amount `json:"discount_refund"`
	Currency         string        `json:"currency"`
}

func (g *Gateway) refundView(rf *refund) refundJSON {
	v := refundJSON{
		RefundID: rf.RefundID, OutRefundNo: rf.OutRefundNo, TransactionID: rf.TransactionID,
		OutTradeNo: rf.OutTradeNo, Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱",
		CreateTime: rf.CreatedAt.In(beijing).Format(time.RFC3339), Status: rf.Status, FundsAccount: "AVAILABLE",
		Amount: refundAmts{
			Total: rf.Total, Refund: rf.Amount, PayerTotal: rf.Total, PayerRefund: rf.Amount,
			SettlementRefund: rf.Amount, SettlementTotal: rf.Total, Currency: "CNY",
		},
	}
	if !rf.SuccessTime.IsZero() {
		v.SuccessTime = rf.SuccessTime.In(beijing).Format(time.RFC3339)
	}
	return v
}

// refundNoticeJSON is the plaintext of a REFUND.* notification.
type refundNoticeJSON struct {
	MchID               string             `json:"mchid"`
	OutTradeNo          string             `json:"out_trade_no"`
	TransactionID       string             `json:"transaction_id"`
	OutRefundNo         string             `json:"out_refund_no"`
	RefundID            string             `json:"refund_id"`
	RefundStatus        string             `json:"refund_status"`
	SuccessTime         string             `json:"success_time,omitempty"`
	UserReceivedAccount string             `json:"user_received_account"`
	Amount              refundNoticeAmount `json:"amount"`
}

type refundNoticeAmount struct {
	Total       bursar.Amount `json:"total"`
	Refund      bursar.Amount `json:"refund"`
	PayerTotal  bursar.Amount `json:"payer_total"`
	PayerRefund bursar.Amount `json:"payer_refund"`
}

func (g *Gateway) refundNotice(rf *refund) refundNoticeJSON {
	v := refundNoticeJSON{
		MchID: g.cfg.MchID, OutTradeNo: rf.OutTradeNo, TransactionID: rf.TransactionID,
		OutRefundNo: rf.OutRefundNo, RefundID: rf.RefundID, RefundStatus: rf.Status,
		UserReceivedAccount: "支付用户零钱",
		Amount:              refundNoticeAmount{Total: rf.Total, Refund: rf.Amount, PayerTotal: rf.Total, PayerRefund: rf.Amount},
	}
	if !rf.SuccessTime.IsZero() {
		v.SuccessTime = rf.SuccessTime.In(beijing).Format(time.RFC3339)
	}
	return v
}
