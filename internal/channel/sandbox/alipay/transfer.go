package alipay

import (
	"bytes"
	"fmt"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// The states of a payout and what the sandbox pays out with.
const (
	transferSuccess = "SUCCESS"
	transferFail    = "FAIL"
	transferDealing = "DEALING"
	productTransfer = "TRANS_ACCOUNT_NO_PWD"
	sceneDirect     = "DIRECT_TRANSFER"
	minTransfer     = bursar.Amount(10) // 0.10 yuan, Alipay's least payout to an account
)

func needCertMode(a *app) *apiError {
	if a.mode == modeCert {
		return nil
	}
	return &apiError{code: "40006", msg: "Insufficient Permissions", subCode: "isv.insufficient-isv-permissions",
		subMsg: "ISV权限不足: payouts need an app that signs in certificate mode"}
}

// transfer serves alipay.fund.trans.uni.transfer. out_biz_no makes it
// idempotent: the same request again answers with the payout as it stands.
// A payee the controls marked as bad, or a failure asked for, is refused
// with a business error and records nothing; a payout the controls made
// DEALING ends later and the app gateway hears of it.
func (g *Gateway) transfer(a *app, b biz) (node, *apiError) {
	if aerr := needCertMode(a); aerr != nil {
		return nil, aerr
	}
	out := b.str("out_biz_no")
	switch {
	case out == "":
		return nil, missingArg("isv.missing-parameter", "缺少必选参数: out_biz_no")
	case !outNoPattern.MatchString(out):
		return nil, invalidArg("isv.invalid-parameter", "参数无效: out_biz_no must be 1 to 64 of [0-9A-Za-z_-]")
	case b.str("product_code") != productTransfer:
		return nil, invalidArg("isv.invalid-parameter", "参数无效: product_code must be "+productTransfer)
	case b.str("biz_scene") != "" && b.str("biz_scene") != sceneDirect:
		return nil, invalidArg("isv.invalid-parameter", "参数无效: biz_scene must be "+sceneDirect)
	}
	amount, aerr := amountArg(b, "trans_amount", 1)
	if aerr != nil {
		return nil, aerr
	}
	payee := b.obj("payee_info")
	identity, idType, name := payee.str("identity"), payee.str("identity_type"), payee.str("name")
	switch {
	case identity == "":
		return nil, missingArg("isv.missing-parameter", "缺少必选参数: payee_info.identity")
	case idType != "ALIPAY_USER_ID" && idType != "ALIPAY_LOGON_ID":
		return nil, invalidArg("isv.invalid-parameter", "参数无效: payee_info.identity_type must be ALIPAY_USER_ID or ALIPAY_LOGON_ID")
	case idType == "ALIPAY_LOGON_ID" && name == "":
		return nil, missingArg("isv.missing-parameter", "缺少必选参数: payee_info.name is required with ALIPAY_LOGON_ID")
	}
	if tr := g.st.Transfers[key(a.id, out)]; tr != nil {
		if tr.Amount != amount || tr.Identity != identity || tr.Name != name {
			return nil, bizFailed("INVALID_PARAMETER", "参数有误: out_biz_no "+out+" was used for another payout").
				with("out_biz_no", out)
		}
		return transferNode(tr), nil
	}
	refuse := func(sub, msg string) (node, *apiError) { return nil, bizFailed(sub, msg).with("out_biz_no", out) }
	switch {
	case amount < minTransfer:
		return refuse("EXCEED_LIMIT_SM_MIN_AMOUNT", "单笔最低转账金额0.1元")
	case idType == "ALIPAY_USER_ID" && !userIDPattern.MatchString(identity), contains(g.st.Controls.BadAccounts, identity):
		return refuse("PAYEE_NOT_EXIST", "收款账号不存在")
	case name != "" && contains(g.st.Controls.BadNames, name):
		return refuse("PAYEE_USERINFO_ERROR", "支付宝账号和姓名不匹配，请确认姓名是否正确")
	case g.st.Controls.FailTransfers > 0:
		g.st.Controls.FailTransfers--
		if aerr := g.commit(); aerr != nil {
			return nil, aerr
		}
		return refuse("PAYER_BALANCE_NOT_ENOUGH", "付款方余额不足")
	}
	now := g.now()
	day := now.In(beijing).Format("20060102")
	tr := &transfer{AppID: a.id, OutBizNo: out, Amount: amount, Identity: identity, IdentityType: idType, Name: name,
		Title: b.str("order_title"), Created: now, Status: transferSuccess, PayDate: now,
		OrderID: fmt.Sprintf("%s110070000%015d", day, g.nextSeq()), PayFundOrderID: fmt.Sprintf("%s110030000%015d", day, g.nextSeq())}
	if c := &g.st.Controls; len(c.Dealing) > 0 {
		d := c.Dealing[0]
		c.Dealing = c.Dealing[1:]
		tr.Status, tr.PayDate, tr.FinishAt, tr.FinishStatus = transferDealing, time.Time{}, now.Add(d.After), d.Outcome
	} else {
		g.notifyTransfer(tr)
	}
	g.st.Transfers[key(a.id, out)] = tr
	if aerr := g.commit(); aerr != nil {
		return nil, aerr
	}
	return transferNode(tr), nil
}

func transferNode(tr *transfer) node {
	n := success().set("out_biz_no", tr.OutBizNo).set("order_id", tr.OrderID).
		set("pay_fund_order_id", tr.PayFundOrderID).set("status", tr.Status)
	if !tr.PayDate.IsZero() {
		n = n.set("trans_date", stamp(tr.PayDate))
	}
	return n
}

// finishTransfer ends a DEALING payout as the control asked and tells the
// app gateway. The caller holds g.mu and commits.
func (g *Gateway) finishTransfer(tr *transfer) {
	tr.Status = tr.FinishStatus
	if tr.Status == transferSuccess {
		tr.PayDate = tr.FinishAt
	} else {
		tr.Status, tr.ErrorCode, tr.FailReason = transferFail, "PAYEE_ACCOUNT_STATUS_ERROR", "收款方账户状态异常"
	}
	g.notifyTransfer(tr)
}

// transferQuery serves alipay.fund.trans.common.query.
func (g *Gateway) transferQuery(a *app, b biz) (node, *apiError) {
	if aerr := needCertMode(a); aerr != nil {
		return nil, aerr
	}
	out, orderID, fundID := b.str("out_biz_no"), b.str("order_id"), b.str("pay_fund_order_id")
	if out == "" && orderID == "" && fundID == "" {
		return nil, missingArg("isv.missing-parameter", "缺少必选参数: out_biz_no, order_id or pay_fund_order_id")
	}
	var tr *transfer
	for _, t := range g.st.Transfers {
		if t.AppID == a.id && (out == "" || t.OutBizNo == out) && (orderID == "" || t.OrderID == orderID) &&
			(fundID == "" || t.PayFundOrderID == fundID) {
			tr = t
			break
		}
	}
	if tr == nil {
		return nil, bizFailed("ORDER_NOT_EXIST", "转账订单不存在").with("out_biz_no", out)
	}
	n := success().set("order_id", tr.OrderID).set("pay_fund_order_id", tr.PayFundOrderID).
		set("out_biz_no", tr.OutBizNo).set("trans_amount", tr.Amount.Yuan()).set("status", tr.Status)
	if !tr.PayDate.IsZero() {
		n = n.set("pay_date", stamp(tr.PayDate)).set("arrival_time_end", stamp(tr.PayDate))
	}
	return n.set("order_fee", "0.00").set("error_code", tr.ErrorCode).set("fail_reason", tr.FailReason), nil
}

// notifyTransfer queues the alipay.fund.trans.order.changed message for a
// payout to the app's application gateway, if it has one. The caller
// holds g.mu.
func (g *Gateway) notifyTransfer(tr *transfer) {
	url := g.st.AppGateways[tr.AppID]
	if url == "" {
		url = g.cfg.AppGatewayURL
	}
	if url == "" {
		return
	}
	n := node{}.set("out_biz_no", tr.OutBizNo).set("order_id", tr.OrderID).set("pay_fund_order_id", tr.PayFundOrderID).
		set("status", tr.Status).set("action_type", "FINISH").set("trans_amount", tr.Amount.Yuan())
	if !tr.PayDate.IsZero() {
		n = n.set("pay_date", stamp(tr.PayDate))
	}
	n = n.set("product_code", productTransfer).set("biz_scene", sceneDirect).
		set("origin_interface", methodTransfer).set("error_code", tr.ErrorCode).set("fail_reason", tr.FailReason)
	var buf bytes.Buffer
	encode(&buf, n)
	g.enqueue(tr.AppID, url, kindMessage, map[string]string{"msg_method": methodTransferChange, "app_id": tr.AppID,
		"version": "1.1", "charset": "utf-8", "biz_content": buf.String()})
}
