package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"

	"bursar.dev/bursar/internal/bursar"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	actorKey
)

// withRequestID gives every request an ID: the client's X-Request-Id when it
// is sane, a new one otherwise. It is sent back as Request-Id and appears
// in error bodies and logs.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if len(id) == 0 || len(id) > 64 || !printableASCII(id) {
			id = "req_" + strings.ToLower(rand.Text())
		}
		w.Header().Set("Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// withMisses answers a request for a path the API does not have, or with a
// method its path does not take, with the error object, a 404 not_found,
// where the mux would answer in plain text. The mux's redirects to a
// cleaned-up path stay as they are: they name a route.
func (s *Server) withMisses(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := s.mux.Handler(r); pattern == "" {
			s.writeError(w, r, bursar.Errorf(bursar.NotFound,
				"There is no %s %s in this API; /openapi.json lists every route.", r.Method, r.URL.Path))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withRecovery turns a panic in a handler into a logged 500 with the error
// object, instead of a connection the client sees close. A panic is a bug;
// the request's transaction, if any, was rolled back by the unwinding.
func (s *Server) withRecovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			switch v {
			case nil:
				return
			case http.ErrAbortHandler:
				panic(v) // net/http's own way to abort a response
			}
			s.deps.Log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path,
				"request_id", requestID(r.Context()), "panic", v, "stack", string(debug.Stack()))
			s.writeError(w, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func actorOf(r *http.Request) bursar.Actor {
	a, _ := r.Context().Value(actorKey).(bursar.Actor)
	return a
}

// maxBody bounds request bodies; the API's largest body is far smaller.
const maxBody = 1 << 20

// public wraps a handler that needs no credential.
func (s *Server) public(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// perAddress refuses a request, before reading its body, when its client
// address has sent too many lately.
func (s *Server) perAddress(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if ok, wait := s.deps.SignIns.Allow(s.deps.Proxies.Of(r)); !ok {
			return bursar.TooManyTries(wait)
		}
		return h(w, r)
	}
}

// private wraps a handler that needs a bearer credential, and makes POSTs
// idempotent under an Idempotency-Key header.
func (s *Server) private(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bursar"`)
			s.writeError(w, r, bursar.Errorf(bursar.Unauthenticated, "Send a platform key or user token as \"Authorization: Bearer …\"."))
			return
		}
		actor, err := s.deps.Auth.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), actorKey, actor))
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" {
			if err := h(w, r); err != nil {
				s.writeError(w, r, err)
			}
			return
		}
		s.idempotent(w, r, actor, key, h)
	}
}

// idempotent runs h once per key: a retry of the same request gets the
// first answer again. Only answers that mean "it happened" (2xx) or "it may
// have happened" (500) are kept; a refused request leaves no trace, so the
// client can fix it and retry under the same key.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, actor bursar.Actor, key string, h func(http.ResponseWriter, *http.Request) error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.writeError(w, r, bodyError(err))
		return
	}
	fingerprint := append([]byte(r.Method+" "+r.URL.Path+"\n"), body...)
	replay, err := s.deps.Idempotency.Begin(r.Context(), actor, key, fingerprint)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if replay != nil {
		w.Header().Set("Idempotent-Replayed", "true")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(replay.Status)
		_, _ = w.Write(replay.Body) //nolint:gosec // G705: our own stored JSON answer, served as application/json
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w}
	if err := h(rec, r); err != nil {
		s.writeError(rec, r, err)
	}
	// The answer is stored even if the client has gone: its retry must see it.
	ctx := context.WithoutCancel(r.Context())
	if rec.status < 300 || rec.status == http.StatusInternalServerError {
		err = s.deps.Idempotency.Finish(ctx, actor, key, rec.status, rec.body.Bytes())
	} else {
		err = s.deps.Idempotency.Forget(ctx, actor, key)
	}
	if err != nil {
		s.deps.Log.ErrorContext(ctx, "idempotency key not settled", "key", key, "err", err,
			"request_id", requestID(ctx))
	}
}

// recorder keeps a copy of a response for the idempotency store.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
