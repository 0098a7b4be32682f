package api

import (
	"errors"
	"net/http"
	"strconv"

	"bursar.dev/bursar/internal/bursar"
)

// statuses is the only map from error codes to HTTP statuses in the v1 API.
var statuses = map[bursar.Code]int{
	bursar.Invalid:           http.StatusBadRequest,
	bursar.Unauthenticated:   http.StatusUnauthorized,
	bursar.Forbidden:         http.StatusForbidden,
	bursar.NotFound:          http.StatusNotFound,
	bursar.Conflict:          http.StatusConflict,
	bursar.WrongState:        http.StatusConflict,
	bursar.InsufficientFunds: http.StatusPaymentRequired,
	bursar.Locked:            http.StatusLocked,
	bursar.RateLimited:       http.StatusTooManyRequests,
	bursar.Unavailable:       http.StatusServiceUnavailable,
	bursar.ChannelFailed:     http.StatusBadGateway,
	bursar.Internal:          http.StatusInternalServerError,
}

// errorTypes groups codes the way clients branch on them (Stripe's types).
var errorTypes = map[bursar.Code]string{
	bursar.Unauthenticated: "authentication_error",
	bursar.RateLimited:     "rate_limit_error",
	bursar.ChannelFailed:   "channel_error",
	bursar.Unavailable:     "api_error",
	bursar.Internal:        "api_error",
}

// errorBody is the one error object of the v1 API.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Type      string      `json:"type"`
	Code      bursar.Code `json:"code"`
	Message   string      `json:"message"`
	Param     string      `json:"param,omitempty"`
	RequestID string      `json:"request_id"`
}

// writeError answers with err's code and message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	obj := s.errorObject(r, err)
	status, ok := statuses[obj.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if secs := bursar.ErrorRetryAfter(err); secs > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	} else if obj.Code == bursar.Unavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{obj})
}

// errorObject describes err for a client; an internal error is logged here,
// once, and its text never reaches the client.
func (s *Server) errorObject(r *http.Request, err error) errorObject {
	code := bursar.ErrorCode(err)
	obj := errorObject{Type: "invalid_request_error", Code: code, Message: bursar.ErrorMessage(err), RequestID: requestID(r.Context())}
	if t, ok := errorTypes[code]; ok {
		obj.Type = t
	}
	if e, ok := errors.AsType[*bursar.Error](err); ok {
		obj.Param = e.Param
		if e.Param == "Idempotency-Key" && code == bursar.Conflict {
			obj.Type = "idempotency_error"
		}
	}
	if code == bursar.Internal || code == bursar.Unavailable {
		s.deps.Log.ErrorContext(r.Context(), "request failed", "code", code, "err", err,
			"method", r.Method, "route", r.Pattern, "request_id", requestID(r.Context()))
	}
	return obj
}
