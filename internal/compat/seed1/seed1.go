// Package seed1 serves seed 1's payment API (a consulting marketplace's
// /api/v1/initOrder, payByWallet, payByPing, ...) verbatim over Bursar's
// core, so its existing apps switch by changing the base URL and sending a
// token. It translates: the seed's parameters into service calls, Bursar's
// objects into the seed's (Chinese status strings, 'deal' | 'recharge' |
// 'withdrawals', fen, Mongo-style _id and __v), and bursar error codes into
// the seed's numeric codes, in one table (errors.go).
//
// It holds no business rule of its own: prices, ownership, escrow and
// passwords are the service's. Where the seed took a user id on trust, the
// layer keeps the parameter and checks it against the caller's token.
// docs/compat/seed1.md records every mapping and every choice made where
// the seed is silent or contradicts itself.
package seed1

import (
	"log/slog"
	"net/http"
	"slices"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
)

// Prefix is the path prefix the server answers under.
const Prefix = "/api/v1/"

// Deps is what the seed 1 layer needs.
type Deps struct {
	Auth         *service.Auth
	Users        *service.Users
	Items        *service.Items
	Orders       *service.Orders
	Wallets      *service.Wallets
	Refunds      *service.Refunds
	Reviews      *service.Reviews
	Entitlements *service.Entitlements
	Withdrawals  *service.Withdrawals
	Log          *slog.Logger
	// Now is the clock shouldContinueTalk compares a chat's window with;
	// time.Now when nil. It must be the services' clock.
	Now func() time.Time
	// PingApp is the Ping++ app id written into charges ("app" field);
	// "app_bursar" when empty. The apps' Ping++ SDK does not check it.
	PingApp string
}

// Server serves seed 1's API under Prefix.
type Server struct {
	deps   Deps
	mux    *http.ServeMux
	routes []string
}

// New returns the seed 1 server with every route registered.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.PingApp == "" {
		d.PingApp = "app_bursar"
	}
	s := &Server{deps: d, mux: http.NewServeMux()}

	s.handle("initOrder", s.handleOrderCreate)
	s.handle("payByWallet", s.handleOrderPayWallet)
	s.handle("payByPing", s.handleOrderPayChannel)
	s.handle("withdrawCash", s.handleWithdrawalCreate)
	s.handle("confirmOrder", s.handleOrderConfirm)
	s.handle("setPayPass", s.handlePayPassSet)
	s.handle("getOrderDetail", s.handleOrderGet)
	s.handle("getOrder", s.handleOrderList)
	s.handle("applyRefund", s.handleRefundCreate)
	s.handle("getCash", s.handleWalletGet)
	s.handle("confirmPass", s.handlePassVerify)
	s.handle("shouldCreateNewTalk", s.handleTalkFind)
	s.handle("shouldContinueTalk", s.handleTalkCheck)
	s.handle("comment", s.handleReviewCreate)

	// Anything else under the prefix (a GET, a mistyped name) gets the
	// seed's envelope rather than net/http's plain-text 404 or 405.
	s.mux.HandleFunc(Prefix, s.handleUnknown)
	return s
}

// handle registers a seed endpoint: every one is a POST.
func (s *Server) handle(name string, h handler) {
	pattern := "POST " + Prefix + name
	s.mux.Handle(pattern, s.endpoint(h))
	s.routes = append(s.routes, pattern)
}

// Routes lists the endpoints' patterns, for documentation and for tests
// that must cover every route.
func (s *Server) Routes() []string { return slices.Clone(s.routes) }

// Handler returns the handler and route pattern r would reach, so that
// metrics and logs outside can name the route, not the path.
func (s *Server) Handler(r *http.Request) (http.Handler, string) { return s.mux.Handler(r) }

// ServeHTTP implements http.Handler for paths under Prefix; others get 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, &fault{code: bursar.NotFound, about: aboutRoute, msg: "没有此接口：" + r.Method + " " + r.URL.Path + "（接口均为 POST）"})
}
