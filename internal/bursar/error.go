package bursar

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error for callers. The list is closed: add to it only when
// a caller must act differently. Each surface (the v1 API, the compat APIs, the
// CLI) maps codes to its own status numbers in exactly one table.
type Code string

// The error codes. The comment gives the v1 HTTP status each maps to.
const (
	Invalid           Code = "invalid"            // bad input; 400
	Unauthenticated   Code = "unauthenticated"    // no or bad credentials; 401
	Forbidden         Code = "forbidden"          // authenticated, not allowed; 403
	NotFound          Code = "not_found"          // 404
	Conflict          Code = "conflict"           // duplicate, or a key reused with different content; 409
	WrongState        Code = "wrong_state"        // the object is not in a state that allows this; 409
	InsufficientFunds Code = "insufficient_funds" // an account that may not go negative is too small; 402
	Locked            Code = "locked"             // a password is locked after too many wrong tries; 423
	RateLimited       Code = "rate_limited"       // too many requests; 429
	Unavailable       Code = "unavailable"        // a dependency is down; retry later; 503
	ChannelFailed     Code = "channel_failed"     // Alipay or WeChat Pay refused (unreachable is Unavailable); 502
	Internal          Code = "internal"           // everything else; 500, message never shown
)

// Error is an error a client can act on. Message is safe to show to the people
// using the client; it never contains internal details.
type Error struct {
	Code    Code
	Message string
	// Param names the input field at fault, when there is one ("amount").
	Param string
	// RetryAfter is how long a RateLimited caller should wait before its
	// next try succeeds; 0 when nobody knows.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Param)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// TooManyTries returns a RateLimited error for a caller that may try again
// after wait.
func TooManyTries(wait time.Duration) *Error {
	e := &Error{Code: RateLimited, RetryAfter: wait}
	e.Message = fmt.Sprintf("Too many tries: try again in %d seconds.", ErrorRetryAfter(e))
	return e
}

// InvalidParam returns an Invalid error about one input field.
func InvalidParam(param, format string, args ...any) *Error {
	return &Error{Code: Invalid, Message: fmt.Sprintf(format, args...), Param: param}
}

// ErrorCode returns the code of the first *Error in err's chain, Internal when
// there is none, and "" for a nil error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic text that leaks nothing for any other error.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "Internal error."
}

// ErrorRetryAfter returns the RetryAfter of the first *Error in err's chain
// in whole seconds, rounded up as HTTP's Retry-After wants them; 0 when
// there is none.
func ErrorRetryAfter(err error) int64 {
	if e, ok := errors.AsType[*Error](err); ok && e.RetryAfter > 0 {
		return int64((e.RetryAfter + time.Second - 1) / time.Second)
	}
	return 0
}
