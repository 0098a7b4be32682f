package seed2

import (
	"errors"
	"net/http"
	"strconv"

	"bursar.dev/bursar/internal/bursar"
)

// code is seed 2's number for an outcome, and the text its clients are
// shown when the layer has no more exact one.
type code struct {
	N    int
	Desc string
}

// codes is the only map from Bursar's error codes to seed 2's. Success is
// 0, and 4 is the seed's own code for a missing parameter ("缺少订购内容参数"),
// which covers every bad parameter; the other numbers are this layer's and
// are listed in docs/compat/seed2.md.
var codes = map[bursar.Code]code{
	bursar.Unauthenticated:   {1, "未登录或登录已失效"},
	bursar.Forbidden:         {3, "无权进行此操作"},
	bursar.Locked:            {3, "密码错误次数过多,已被锁定"},
	bursar.Invalid:           {4, "参数错误"},
	bursar.NotFound:          {5, "内容不存在"},
	bursar.WrongState:        {6, "订单当前状态不允许此操作"},
	bursar.Conflict:          {6, "订单当前状态不允许此操作"},
	bursar.InsufficientFunds: {7, "余额不足"},
	bursar.ChannelFailed:     {8, "支付平台处理失败"},
	bursar.Unavailable:       {9, "服务繁忙,请稍后重试"},
	bursar.RateLimited:       {9, "请求过于频繁,请稍后重试"},
	bursar.Internal:          {10, "服务器内部错误"},
}

// failure is an error with the exact text seed 2's clients see, in place of
// its code's default; cause, when set, is what the service said, for the
// log only.
type failure struct {
	err   bursar.Error
	cause error
}

func (f *failure) Error() string {
	if f.cause != nil {
		return f.err.Error() + ": " + f.cause.Error()
	}
	return f.err.Error()
}

// Unwrap gives bursar.ErrorCode the failure's code.
func (f *failure) Unwrap() error { return &f.err }

// fail returns an error with code c shown as desc.
func fail(c bursar.Code, desc string) error {
	return &failure{err: bursar.Error{Code: c, Message: desc}}
}

// failBecause is fail for an outcome the service reported as cause.
func failBecause(c bursar.Code, desc string, cause error) error {
	return &failure{err: bursar.Error{Code: c, Message: desc}, cause: cause}
}

// errorBody is seed 2's error envelope.
type errorBody struct {
	Code    int    `json:"code"`
	ErrDesc string `json:"err_desc"`
}

// writeError answers with err's seed 2 code. The text is the layer's own
// when it gave one; otherwise the code's default, followed by the service's
// message, which is safe to show, except for internal errors, which are
// logged here and never shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	bc := bursar.ErrorCode(err)
	c, ok := codes[bc]
	if !ok {
		bc, c = bursar.Internal, codes[bursar.Internal]
	}
	desc := c.Desc
	if f, ok := errors.AsType[*failure](err); ok {
		desc = f.err.Message
	} else if bc != bursar.Internal {
		desc += ":" + bursar.ErrorMessage(err)
	}
	if bc == bursar.Internal || bc == bursar.Unavailable {
		s.deps.Log.ErrorContext(r.Context(), "seed 2 request failed", "path", r.URL.Path, "code", bc, "err", err)
	}
	if secs := bursar.ErrorRetryAfter(err); secs > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	writeJSON(w, errorBody{Code: c.N, ErrDesc: desc})
}
