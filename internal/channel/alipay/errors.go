package alipay

import (
	"errors"
	"fmt"

	"github.com/smartwalle/alipay/v3"

	"bursar.dev/bursar/internal/bursar"
)

// coded returns an error with a bursar code and a message safe to show,
// wrapping cause (when there is one) for logs.
func coded(code bursar.Code, cause error, format string, args ...any) error {
	e := bursar.Errorf(code, format, args...)
	if cause == nil {
		return e
	}
	return fmt.Errorf("%w: %w", e, cause)
}

// isNotFound reports whether a sub code says the thing asked about does
// not exist: a trade (or its refund), a payout, a bill.
func isNotFound(sub string) bool {
	switch sub {
	case "ACQ.TRADE_NOT_EXIST", "ORDER_NOT_EXIST", "isp.bill_not_exist":
		return true
	}
	return false
}

// isSystemError reports whether a sub code says Alipay failed, not the
// request, so that the same call may be retried.
func isSystemError(sub string) bool {
	switch sub {
	case "ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR", "isp.unknow-error", "SYSTEM_ERROR":
		return true
	}
	return false
}

// callError is the error for a call whose answer never came or could not be
// read or verified: bursar.Unavailable, since the call may or may not have
// taken effect and is to be retried (or queried) with the same numbers. An
// error answer Alipay did not sign arrives here as *alipay.Error.
func callError(api string, err error) error {
	var e *alipay.Error
	if errors.As(err, &e) {
		return answerError(api, *e)
	}
	return coded(bursar.Unavailable, err, "Alipay did not answer %s, or its answer could not be verified.", api)
}

// answerError maps an answer with a failure code: NotFound for what does
// not exist, Unavailable for Alipay's own failures (code 20000 and system
// errors), ChannelFailed with Alipay's codes and text for the rest.
func answerError(api string, e alipay.Error) error {
	code := bursar.ChannelFailed
	switch {
	case isNotFound(e.SubCode):
		code = bursar.NotFound
	case e.Code == alipay.CodeUnknowError || isSystemError(e.SubCode):
		code = bursar.Unavailable
	}
	return bursar.Errorf(code, "Alipay refused %s: %s %s %s (%s).", api, e.Code, e.Msg, e.SubCode, e.SubMsg)
}

// badAnswer is the error for a verified answer Bursar cannot read.
func badAnswer(api string, err error) error {
	return coded(bursar.ChannelFailed, err, "Alipay's answer to %s cannot be read.", api)
}
