package seed1

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// What an error is about, beside its code, when that changes the seed's
// answer: a missing user is code 7 where a missing order is 6.
const (
	aboutType      = "type"             // a parameter of the wrong type: 12
	aboutReceiver  = "receiver"         // no payee given: 8
	aboutUser      = "user"             // no such user, or another's: 7
	aboutRoute     = "route"            // no such endpoint
	aboutToken     = "token"            // a call without any credential
	aboutPayPass   = "payment_password" // as bursar.Secret names the param
	aboutLoginPass = "login_password"   // as bursar.Secret names the param
	aboutOldPass   = "old_pass"         // setPayPass's old password: its own envelope
)

type row struct {
	code  bursar.Code
	about string
}

// shape is the envelope of a refusal.
type shape int

const (
	codeMsg      shape = iota // {"code": N, "msg": "..."}, the seed's usual refusal
	successFalse              // {"success": false, "msg": "..."}, setPayPass's
)

type reply struct {
	shape  shape
	code   int    // the seed's code, for codeMsg
	msg    string // the seed's text, unless the error brings a better one
	status int    // the HTTP status; 200 when zero, as the seed's server answered
	// detail appends the service's own message, which says what exactly
	// was refused, to a service error's msg.
	detail bool
	// until appends when a locked password unlocks, after these words.
	until string
}

// table is the only map from bursar error codes to seed 1's codes and
// envelopes. The seed's codes: 0 未知错误, 2 参数错误, 4 支付密码错误,
// 6 找不到此订单, 7 此人不存在, 8 缺少收款人或用户余额不足, 10 用户余额不足,
// 12 参数类型错误. A row with an about is looked up first, then the code's
// plain row.
var table = map[row]reply{
	{bursar.Invalid, ""}:                 {code: 2, msg: "参数错误", detail: true},
	{bursar.Invalid, aboutType}:          {code: 12, msg: "参数类型错误"},
	{bursar.Invalid, aboutReceiver}:      {code: 8, msg: "缺少收款人"},
	{bursar.Invalid, aboutOldPass}:       {shape: successFalse, msg: "the old pass is wrong"},
	{bursar.Unauthenticated, ""}:         {code: 2, msg: "accessToken 无效或已过期"},
	{bursar.Unauthenticated, aboutToken}: {code: 2, msg: "缺少 accessToken"},
	{bursar.Forbidden, ""}:               {code: 2, msg: "无权进行此操作", detail: true},
	{bursar.Forbidden, aboutPayPass}:     {code: 4, msg: "支付密码错误"},
	{bursar.Forbidden, aboutLoginPass}:   {code: 4, msg: "密码错误"},
	{bursar.Forbidden, aboutOldPass}:     {shape: successFalse, msg: "the old pass is wrong"},
	{bursar.Locked, ""}:                  {code: 4, msg: "密码错误次数过多，已锁定", until: "，锁定至 "},
	{bursar.Locked, aboutPayPass}:        {code: 4, msg: "支付密码错误次数过多，已锁定", until: "，锁定至 "},
	{bursar.Locked, aboutLoginPass}:      {code: 4, msg: "密码错误次数过多，已锁定", until: "，锁定至 "},
	{bursar.Locked, aboutOldPass}:        {shape: successFalse, msg: "the old pass is locked", until: " until "},
	{bursar.NotFound, ""}:                {code: 6, msg: "找不到此订单"},
	{bursar.NotFound, aboutUser}:         {code: 7, msg: "此人不存在"},
	{bursar.NotFound, aboutRoute}:        {code: 2, msg: "没有此接口", status: http.StatusNotFound},
	{bursar.Conflict, ""}:                {code: 2, msg: "参数错误", detail: true},
	{bursar.WrongState, ""}:              {code: 2, msg: "订单当前状态不允许此操作", detail: true},
	{bursar.InsufficientFunds, ""}:       {code: 10, msg: "用户余额不足"},
	{bursar.RateLimited, ""}:             {code: 2, msg: "操作太频繁", detail: true},
	{bursar.ChannelFailed, ""}:           {code: 0, msg: "支付渠道出错", detail: true, status: http.StatusBadGateway},
	{bursar.Unavailable, ""}:             {code: 0, msg: "未知错误", status: http.StatusServiceUnavailable},
	{bursar.Internal, ""}:                {code: 0, msg: "未知错误", status: http.StatusInternalServerError},
}

// fault is a refusal this layer decides, or a service error it put in
// context (a NotFound that is about a user, a wrong old password). Its
// message, when set, is already in the words of the seed's clients.
type fault struct {
	code  bursar.Code
	about string
	msg   string
	cause error
}

func (f *fault) Error() string {
	if f.cause != nil {
		return string(f.code) + ": " + f.msg + ": " + f.cause.Error()
	}
	return string(f.code) + ": " + f.msg
}

func (f *fault) Unwrap() error { return f.cause }

// invalid is a bad parameter: code 2 with msg.
func invalid(msg string) error { return &fault{code: bursar.Invalid, msg: msg} }

// recast puts a service error of code in context: about picks its row,
// and msg, when not empty, replaces the row's words. Other errors pass.
func recast(err error, code bursar.Code, about, msg string) error {
	if err == nil || codeOf(err) != code {
		return err
	}
	return &fault{code: code, about: about, msg: msg, cause: err}
}

// codeOf is err's code: a fault's own, else the service's.
func codeOf(err error) bursar.Code {
	if f, ok := errors.AsType[*fault](err); ok {
		return f.code
	}
	return bursar.ErrorCode(err)
}

// writeError answers err in the seed's envelope; an internal error is
// logged here, once, and its text never reaches the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := codeOf(err)
	about, msg := "", ""
	f, isFault := errors.AsType[*fault](err)
	if isFault {
		about, msg = f.about, f.msg
	} else if e, ok := errors.AsType[*bursar.Error](err); ok && (e.Param == aboutPayPass || e.Param == aboutLoginPass) {
		about = e.Param
	}
	rep, ok := table[row{code, about}]
	if !ok {
		if rep, ok = table[row{code, ""}]; !ok {
			code, rep = bursar.Internal, table[row{bursar.Internal, ""}]
		}
	}
	if code == bursar.Internal || code == bursar.Unavailable {
		s.deps.Log.ErrorContext(r.Context(), "seed 1 request failed", "path", r.URL.Path, "code", code, "err", err)
		msg = ""
	}
	switch {
	case msg != "":
	case rep.detail && (!isFault || f.cause != nil):
		msg = rep.msg + "（" + bursar.ErrorMessage(err) + "）"
	default:
		msg = rep.msg
	}
	if rep.until != "" {
		if t, ok := lockedUntil(bursar.ErrorMessage(err)); ok {
			msg += rep.until + stamp(t)
		}
	}
	if secs := bursar.ErrorRetryAfter(err); secs > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	status := rep.status
	if status == 0 {
		status = http.StatusOK
	}
	if rep.shape == successFalse {
		writeJSON(w, status, struct {
			Success bool   `json:"success"`
			Msg     string `json:"msg"`
		}{false, msg})
		return
	}
	writeJSON(w, status, struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}{rep.code, msg})
}

// lockedUntil reads when a locked password unlocks from the service's
// message ("… it is locked until 2026-11-21T10:15:00Z."). The service
// gives the time in no other way (see docs/compat/seed1.md); without it
// the answer just says the password is locked.
func lockedUntil(msg string) (time.Time, bool) {
	_, after, ok := strings.Cut(msg, "locked until ")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSuffix(after, "."))
	return t, err == nil
}
