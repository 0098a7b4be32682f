package alipay

import (
	"context"
	"fmt"
	"regexp"

	"github.com/smartwalle/alipay/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// userIDPattern is an Alipay user id (2088 and 12 digits); any other
// account is a logon id (a phone number or an e-mail address).
var userIDPattern = regexp.MustCompile(`^2088[0-9]{12}$`)

const (
	productTransfer = "TRANS_ACCOUNT_NO_PWD" // a payout to an Alipay account, without a password
	sceneDirect     = "DIRECT_TRANSFER"
	minTransfer     = bursar.Amount(10) // 0.10 yuan, the least Alipay pays out
)

// Transfer pays out with alipay.fund.trans.uni.transfer (certificate mode
// only) with TransferNo as out_biz_no, which makes a retry answer with the
// same payout. An account of 2088 and 12 digits is paid as ALIPAY_USER_ID,
// anything else as ALIPAY_LOGON_ID, which needs the payee's name. A payout
// Alipay refuses (PAYEE_NOT_EXIST, PAYEE_USERINFO_ERROR, ...) is
// bursar.ChannelFailed and moved no money; DEALING is TransferProcessing.
func (c *Channel) Transfer(ctx context.Context, req channel.TransferRequest) (channel.Transfer, error) {
	const api = "alipay.fund.trans.uni.transfer"
	if err := checkNo("transfer_no", req.TransferNo); err != nil {
		return channel.Transfer{}, err
	}
	if err := checkMoney("amount", req.Amount, minTransfer); err != nil {
		return channel.Transfer{}, err
	}
	payee := &alipay.PayeeInfo{Identity: req.Account, IdentityType: "ALIPAY_USER_ID", Name: req.Name}
	switch {
	case req.Account == "":
		return channel.Transfer{}, bursar.InvalidParam("account", "The payee's Alipay account is required.")
	case !userIDPattern.MatchString(req.Account):
		payee.IdentityType = "ALIPAY_LOGON_ID"
		if req.Name == "" {
			return channel.Transfer{}, bursar.InvalidParam("name", "Alipay checks the payee's real name on a phone or e-mail account; it is required.")
		}
	}
	rsp, err := c.client.FundTransUniTransfer(ctx, alipay.FundTransUniTransfer{OutBizNo: req.TransferNo,
		TransAmount: req.Amount.Amount.Yuan(), ProductCode: productTransfer, BizScene: sceneDirect,
		OrderTitle: req.Title, PayeeInfo: payee})
	if err != nil {
		return channel.Transfer{}, callError(api, err)
	}
	if rsp.IsFailure() {
		return channel.Transfer{}, answerError(api, rsp.Error)
	}
	out := channel.Transfer{TransferNo: req.TransferNo, ChannelRef: rsp.OrderId, Amount: req.Amount}
	if out.Status, err = transferStatus(rsp.Status); err != nil {
		return channel.Transfer{}, badAnswer(api, err)
	}
	if out.Status == channel.TransferSucceeded {
		if out.At, err = parseTime(rsp.TransDate); err != nil {
			return channel.Transfer{}, badAnswer(api, err)
		}
	}
	return out, nil
}

// transferStatus maps a payout's status. REFUND (a bank returned money paid
// to a card) cannot happen to an account payout, and means failed.
func transferStatus(s string) (channel.TransferStatus, error) {
	switch s {
	case "SUCCESS":
		return channel.TransferSucceeded, nil
	case "DEALING", "WAIT_PAY", "INIT":
		return channel.TransferProcessing, nil
	case "FAIL", "CLOSED", "REFUND":
		return channel.TransferFailed, nil
	}
	return "", fmt.Errorf("unknown payout status %q", s)
}

// QueryTransfer asks alipay.fund.trans.common.query by out_biz_no. A payout
// Alipay does not know (one it refused is not recorded) is bursar.NotFound.
func (c *Channel) QueryTransfer(ctx context.Context, transferNo string) (channel.Transfer, error) {
	const api = "alipay.fund.trans.common.query"
	if err := checkNo("transfer_no", transferNo); err != nil {
		return channel.Transfer{}, err
	}
	rsp, err := c.client.FundTransCommonQuery(ctx, alipay.FundTransCommonQuery{ProductCode: productTransfer,
		BizScene: sceneDirect, OutBizNo: transferNo})
	if err != nil {
		return channel.Transfer{}, callError(api, err)
	}
	if rsp.IsFailure() {
		return channel.Transfer{}, answerError(api, rsp.Error)
	}
	out := channel.Transfer{TransferNo: transferNo, ChannelRef: rsp.OrderId}
	if out.Status, err = transferStatus(rsp.Status); err != nil {
		return channel.Transfer{}, badAnswer(api, err)
	}
	if out.Amount, err = yuan(rsp.TransAmount); err != nil {
		return channel.Transfer{}, badAnswer(api, err)
	}
	switch out.Status {
	case channel.TransferSucceeded:
		if out.At, err = parseTime(rsp.PayDate); err != nil {
			return channel.Transfer{}, badAnswer(api, err)
		}
	case channel.TransferFailed:
		out.Reason = failReason(rsp.ErrorCode, rsp.FailReason)
	}
	return out, nil
}

// failReason puts Alipay's code and text together.
func failReason(code, reason string) string {
	switch {
	case code == "":
		return reason
	case reason == "":
		return code
	}
	return code + ": " + reason
}
