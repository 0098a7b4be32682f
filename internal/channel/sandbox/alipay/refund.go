package alipay

// refund serves alipay.trade.refund. A refund is synchronous: it succeeds
// or fails in this call. out_request_no makes it idempotent: the same
// number and amount again answers fund_change=N and moves nothing; the
// same number with another amount is refused. Without out_request_no the
// refund takes out_trade_no as its number, as Alipay does.
func (g *Gateway) refund(a *app, b biz) (node, *apiError) {
	t, aerr := g.lookup(a, b)
	if aerr != nil {
		return nil, aerr
	}
	amount, aerr := amountArg(b, "refund_amount", 1)
	if aerr != nil {
		return nil, aerr
	}
	reqNo := b.str("out_request_no")
	if reqNo == "" {
		reqNo = t.OutTradeNo
	}
	if !outNoPattern.MatchString(reqNo) {
		return nil, invalidArg("isv.invalid-parameter", "参数无效: out_request_no must be 1 to 64 of [0-9A-Za-z_-]")
	}
	for _, rf := range t.Refunds {
		if rf.OutRequestNo != reqNo {
			continue
		}
		if rf.Amount != amount {
			return nil, bizFailed("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与原请求不一致: out_request_no "+reqNo+
				" refunded "+rf.Amount.Yuan()).with("out_trade_no", t.OutTradeNo)
		}
		return g.refundNode(t, rf, "N"), nil
	}
	switch t.Status {
	case waitBuyerPay:
		return nil, bizFailed("ACQ.TRADE_STATUS_ERROR", "交易状态不合法: the trade is not paid").with("out_trade_no", t.OutTradeNo)
	case tradeClosed:
		return nil, bizFailed("ACQ.TRADE_HAS_CLOSE", "交易已经关闭").with("out_trade_no", t.OutTradeNo)
	case tradeFinished:
		return nil, bizFailed("ACQ.TRADE_HAS_FINISHED", "交易已完结").with("out_trade_no", t.OutTradeNo)
	}
	left, _ := t.Total.Sub(t.Refunded) // both are at most maxTradeAmount
	if amount > left {
		return nil, bizFailed("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限: at most "+left.Yuan()+" is left to refund").
			with("out_trade_no", t.OutTradeNo)
	}
	if g.st.Controls.FailRefunds > 0 {
		g.st.Controls.FailRefunds--
		if aerr := g.commit(); aerr != nil {
			return nil, aerr
		}
		return nil, bizFailed("ACQ.SELLER_BALANCE_NOT_ENOUGH", "卖家余额不足").with("out_trade_no", t.OutTradeNo)
	}
	now := g.now()
	rf := &refund{OutRequestNo: reqNo, Amount: amount, Reason: b.str("refund_reason"), At: now}
	t.Refunds = append(t.Refunds, rf)
	t.Refunded += amount
	extra := map[string]string{"out_biz_no": reqNo, "refund_fee": t.Refunded.Yuan(), "gmt_refund": now.In(beijing).Format(timeLayout + ".000")}
	if t.Refunded == t.Total {
		// A full refund closes the trade, and Alipay says so with TRADE_CLOSED.
		t.Status, t.Closed = tradeClosed, now
	}
	g.notifyTrade(t, extra)
	if aerr := g.commit(); aerr != nil {
		return nil, aerr
	}
	return g.refundNode(t, rf, "Y"), nil
}

func (g *Gateway) refundNode(t *trade, rf *refund, fundChange string) node {
	return success().set("trade_no", t.TradeNo).set("out_trade_no", t.OutTradeNo).
		set("buyer_logon_id", t.BuyerLogonID).set("buyer_user_id", t.BuyerID).
		set("fund_change", fundChange).set("refund_fee", t.Refunded.Yuan()).
		set("gmt_refund_pay", stamp(rf.At)).set("send_back_fee", rf.Amount.Yuan())
}

// refundQuery serves alipay.trade.fastpay.refund.query. A refund the trade
// never had is not an error: the answer just carries no refund_status.
func (g *Gateway) refundQuery(a *app, b biz) (node, *apiError) {
	t, aerr := g.lookup(a, b)
	if aerr != nil {
		return nil, aerr
	}
	reqNo := b.str("out_request_no")
	if reqNo == "" {
		return nil, missingArg("isv.missing-parameter", "缺少必选参数: out_request_no")
	}
	n := success().set("trade_no", t.TradeNo).set("out_trade_no", t.OutTradeNo).set("out_request_no", reqNo)
	for _, rf := range t.Refunds {
		if rf.OutRequestNo == reqNo {
			return n.set("total_amount", t.Total.Yuan()).set("refund_amount", rf.Amount.Yuan()).
				set("refund_status", "REFUND_SUCCESS").set("gmt_refund_pay", stamp(rf.At)).
				set("send_back_fee", rf.Amount.Yuan()), nil
		}
	}
	return n.set("total_amount", t.Total.Yuan()), nil
}
