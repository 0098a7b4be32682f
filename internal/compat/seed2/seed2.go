// Package seed2 serves the course platform's order API (seed 2) under
// /orders/ over Bursar's core, so that apps written against it keep working
// by changing the base URL and sending a token: create, the Alipay and
// WeChat Pay result callbacks, get and list, with the seed's envelope
// ({"code": 0, "data": {"count", "ts", "items"}} or {"code", "err_desc"}),
// its yuan strings, pay_status and servicer numbers and Beijing times.
//
// It translates and checks parameters and shapes answers; every rule lives
// in service. Where the seed trusts its caller (an unsigned payment result)
// the layer keeps the shape and asks the channel instead. The mapping and
// every choice where the seed is silent are in docs/compat/seed2.md.
package seed2

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
)

// Deps is what the layer needs.
type Deps struct {
	Auth   *service.Auth
	Items  *service.Items
	Orders *service.Orders
	Log    *slog.Logger
	// Now is the clock for the envelope's ts; time.Now when nil.
	Now func() time.Time
}

// Server serves seed 2's API under /orders/.
type Server struct {
	deps   Deps
	mux    *http.ServeMux
	routes []string
}

// Prefix is the path prefix the server answers; mount it there.
const Prefix = "/orders/"

// New returns the seed 2 server with every route registered.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{deps: d, mux: http.NewServeMux()}
	// The seed shows GET requests with query parameters; clients post
	// forms and JSON too, so every route takes both methods.
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		s.handle(m+" /orders/create", s.handleOrderCreate)
		s.handle(m+" /orders/alipay", s.handleCallback(bursar.ChannelAlipay))
		s.handle(m+" /orders/wxpay", s.handleCallback(bursar.ChannelWeChat))
		s.handle(m+" /orders/get", s.handleOrderGet)
		s.handle(m+" /orders/list", s.handleOrderList)
	}
	// Anything else under the prefix gets the envelope, not a bare 404.
	s.mux.HandleFunc(Prefix, s.recovering(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, fail(bursar.NotFound, "接口不存在"))
	}))
	s.routes = append(s.routes, Prefix)
	return s
}

// Routes lists the registered route patterns, for documentation and for
// tests that must cover every route.
func (s *Server) Routes() []string { return slices.Clone(s.routes) }

// Handler returns the handler and route pattern r would reach, so that
// metrics and logs outside can name the route, not the path.
func (s *Server) Handler(r *http.Request) (http.Handler, string) { return s.mux.Handler(r) }

// ServeHTTP implements http.Handler for paths under Prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// call is one authenticated request.
type call struct {
	ctx   context.Context
	actor bursar.Actor
	p     params
	r     *http.Request
}

// handler answers a call with the body to send, or an error.
type handler func(c call) (any, error)

// handle registers a route: its parameters are read, its credential
// checked, and its answer or error written as seed 2's envelope.
func (s *Server) handle(pattern string, h handler) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, s.recovering(func(w http.ResponseWriter, r *http.Request) {
		p, err := readParams(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		c := call{ctx: r.Context(), p: p, r: r}
		if c.actor, err = s.authenticate(c.ctx, p.token(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		body, err := h(c)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, body)
	}))
}

// authenticate accepts a user token or a platform key; the seed's apps
// send their user's token, a platform's backend its key.
func (s *Server) authenticate(ctx context.Context, token string) (bursar.Actor, error) {
	if token == "" {
		return bursar.Actor{}, fail(bursar.Unauthenticated, "未登录:请在 Authorization: Bearer 或 access_token 参数中提供令牌")
	}
	a, err := s.deps.Auth.Authenticate(ctx, token)
	if bursar.ErrorCode(err) == bursar.Unauthenticated {
		return bursar.Actor{}, fail(bursar.Unauthenticated, "登录令牌无效或已过期")
	}
	return a, err
}

// recovering turns a panic, which is a bug, into a logged internal error
// in the envelope instead of a dropped connection.
func (s *Server) recovering(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			switch v := recover(); v {
			case nil:
			case http.ErrAbortHandler:
				panic(v) // net/http's own way to abort a response
			default:
				s.deps.Log.ErrorContext(r.Context(), "panic serving seed 2", "path", r.URL.Path, "panic", v,
					"stack", string(debug.Stack()))
				s.writeError(w, r, fail(bursar.Internal, codes[bursar.Internal].Desc))
			}
		}()
		h(w, r)
	}
}

// Every answer is HTTP 200 with the outcome in the body's code, as the
// seed's clients read it.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v) // the client has gone if this fails
}
