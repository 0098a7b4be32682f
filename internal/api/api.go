// Package api is Bursar's HTTP edge: the v1 JSON API and the health checks,
// with one route table in this file. It turns requests into service calls
// and results into responses; it holds no business rules and never touches
// storage directly.
package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"

	"bursar.dev/bursar/internal/clientip"
	"bursar.dev/bursar/internal/ratelimit"
	"bursar.dev/bursar/internal/service"
)

// Deps is what the API needs.
type Deps struct {
	Log           *slog.Logger
	Auth          *service.Auth
	Users         *service.Users
	Items         *service.Items
	Orders        *service.Orders
	Wallets       *service.Wallets
	Idempotency   *service.Idempotency
	Refunds       *service.Refunds
	Reviews       *service.Reviews
	Entitlements  *service.Entitlements
	Withdrawals   *service.Withdrawals
	Notifications *service.Notifications
	Webhooks      *service.Webhooks
	Recon         *service.Recon
	Ops           *service.Ops
	Ledger        *service.Ledger
	// SignIns limits logins per client address; nil limits none.
	SignIns *ratelimit.Limiter
	// Proxies are the reverse proxies trusted to name the client address
	// that SignIns counts.
	Proxies clientip.Proxies
}

// Server serves the API.
type Server struct {
	deps    Deps
	mux     *http.ServeMux
	handler http.Handler
	routes  []string
}

// New returns the API server with every route registered.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	s := &Server{deps: d, mux: http.NewServeMux()}
	s.handle("GET /healthz", s.handleHealthz)
	s.handle("GET /readyz", s.handleReadyz)

	// Public: logging in is how a user gets a token. Being the one door
	// to guessing that needs no credential, it is limited per address.
	s.handle("POST /v1/login", s.public(s.perAddress(s.handleLogin)))
	// Public: the channels' notifications carry signatures, not tokens.
	s.handle("POST /v1/notify/{channel}", s.handleNotify)

	s.handle("POST /v1/users", s.private(s.handleUserCreate))
	s.handle("GET /v1/users/{id}", s.private(s.handleUserGet))
	s.handle("POST /v1/users/{id}", s.private(s.handleUserUpdate))
	s.handle("POST /v1/users/{id}/password", s.private(s.handlePasswordSet))
	s.handle("POST /v1/users/{id}/password/verify", s.private(s.handlePasswordVerify))
	s.handle("POST /v1/users/{id}/tokens", s.private(s.handleTokenMint))
	s.handle("POST /v1/tokens/revoke", s.private(s.handleTokenRevoke))
	s.handle("GET /v1/users/{id}/wallet", s.private(s.handleWalletGet))
	s.handle("GET /v1/users/{id}/wallet/statement", s.private(s.handleWalletStatement))
	s.handle("POST /v1/users/{id}/wallet/adjustments", s.private(s.handleWalletAdjust))

	s.handle("POST /v1/items", s.private(s.handleItemCreate))
	s.handle("GET /v1/items/{id}", s.private(s.handleItemGet))

	s.handle("POST /v1/orders", s.private(s.handleOrderCreate))
	s.handle("GET /v1/orders", s.private(s.handleOrderList))
	s.handle("GET /v1/orders/{id}", s.private(s.handleOrderGet))
	s.handle("POST /v1/orders/{id}/pay", s.private(s.handleOrderPay))
	s.handle("GET /v1/orders/{id}/payments", s.private(s.handleOrderPayments))
	s.handle("POST /v1/orders/{id}/sync", s.private(s.handleOrderSync))
	s.handle("POST /v1/orders/{id}/confirm", s.private(s.handleOrderConfirm))
	s.handle("POST /v1/orders/{id}/refunds", s.private(s.handleRefundCreate))
	s.handle("GET /v1/orders/{id}/refunds", s.private(s.handleRefundList))
	s.handle("POST /v1/orders/{id}/review", s.private(s.handleReviewCreate))

	s.handle("POST /v1/topups", s.private(s.handleTopupCreate))
	s.handle("POST /v1/withdrawals", s.private(s.handleWithdrawalCreate))
	s.handle("POST /v1/withdrawals/{id}/approve", s.private(s.handleWithdrawalApprove))
	s.handle("POST /v1/withdrawals/{id}/reject", s.private(s.handleWithdrawalReject))

	s.handle("GET /v1/refunds/{id}", s.private(s.handleRefundGet))
	s.handle("POST /v1/refunds/{id}/approve", s.private(s.handleRefundApprove))
	s.handle("POST /v1/refunds/{id}/reject", s.private(s.handleRefundReject))

	s.handle("GET /v1/users/{id}/reviews", s.private(s.handleReviewList))
	s.handle("GET /v1/users/{id}/rating", s.private(s.handleRatingGet))
	s.handle("GET /v1/entitlements", s.private(s.handleEntitlementGet))

	s.handle("POST /v1/webhook_endpoints", s.private(s.handleEndpointCreate))
	s.handle("GET /v1/webhook_endpoints", s.private(s.handleEndpointList))
	s.handle("GET /v1/webhook_endpoints/{id}", s.private(s.handleEndpointGet))
	s.handle("POST /v1/webhook_endpoints/{id}", s.private(s.handleEndpointUpdate))
	s.handle("POST /v1/webhook_endpoints/{id}/rotate_secret", s.private(s.handleEndpointRotate))
	s.handle("GET /v1/events", s.private(s.handleEventList))
	s.handle("GET /v1/events/{id}", s.private(s.handleEventGet))
	s.handle("POST /v1/events/{id}/resend", s.private(s.handleEventResend))
	s.handle("GET /v1/webhook_deliveries", s.private(s.handleDeliveryList))
	s.handle("GET /v1/webhook_deliveries/{id}", s.private(s.handleDeliveryGet))
	s.handle("GET /v1/reconciliations", s.private(s.handleReconList))
	s.handle("POST /v1/reconciliations", s.private(s.handleReconCreate))
	s.handle("GET /v1/reconciliations/{id}", s.private(s.handleReconGet))
	s.handle("GET /v1/reconciliation_exceptions", s.private(s.handleReconExceptionList))
	s.handle("POST /v1/reconciliation_exceptions/{id}/resolve", s.private(s.handleReconExceptionResolve))
	s.handle("GET /v1/ledger/verification", s.private(s.handleLedgerVerification))

	s.handle("GET /openapi.json", s.handleOpenAPI)
	s.handle("GET /docs", s.handleDocs)

	s.handler = s.withRequestID(s.withRecovery(s.withMisses(s.mux)))
	return s
}

// handle registers a route and remembers its pattern for Routes.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, h)
	s.routes = append(s.routes, pattern)
}

// Routes lists the registered route patterns, for documentation and for
// tests that must cover every route.
func (s *Server) Routes() []string { return slices.Clone(s.routes) }

// Handler returns the handler and route pattern r would reach, so that
// metrics and logs outside can name the route, not the path.
func (s *Server) Handler(r *http.Request) (http.Handler, string) { return s.mux.Handler(r) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// handleHealthz answers as long as the process serves requests; readiness
// (database, migrations, jobs) is /readyz's business.
func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client has gone if this fails
}
