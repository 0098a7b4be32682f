// Package admin is the console people use to run a marketplace's money:
// server-rendered pages under /admin, with one route table in this file and
// one file per page or action. Every action goes through the same use cases
// as the API, as the platform named by the admin, so the rules and the audit
// log apply.
//
// Sign-in is a session cookie (Secure, HttpOnly, SameSite=Strict) naming a
// server-side session; forms are protected from cross-site requests by
// http.CrossOriginProtection, which checks the browser's Sec-Fetch-Site and
// Origin headers, so no form carries a token.
package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/clientip"
	"bursar.dev/bursar/internal/ratelimit"
	"bursar.dev/bursar/internal/service"
)

// Prefix is where the console is mounted.
const Prefix = "/admin/"

// cookieName names the session cookie. The __Host- prefix makes browsers
// refuse it unless it is Secure, has Path=/ and names no domain.
const cookieName = "__Host-bursar_admin"

// Deps is what the console needs.
type Deps struct {
	Log         *slog.Logger
	Admins      *service.Admins
	Idempotency *service.Idempotency
	Console     *service.Console
	Users       *service.Users
	Orders      *service.Orders
	Refunds     *service.Refunds
	Withdrawals *service.Withdrawals
	Wallets     *service.Wallets
	Recon       *service.Recon
	Webhooks    *service.Webhooks
	// SignIns limits sign-in tries per client address; nil limits none.
	SignIns *ratelimit.Limiter
	// Proxies are the reverse proxies trusted to name the client address
	// that SignIns counts.
	Proxies clientip.Proxies
}

// Server serves the console.
type Server struct {
	deps    Deps
	mux     *http.ServeMux
	handler http.Handler
	pages   map[string]*template.Template
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the console with every route registered.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	s := &Server{deps: d, mux: http.NewServeMux(), pages: parsePages()}
	static, _ := fs.Sub(staticFS, "static") // the directory is embedded above
	files := http.StripPrefix("/admin/static/", http.FileServerFS(static))
	s.mux.Handle("GET /admin/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // files only, no listings
			return
		}
		files.ServeHTTP(w, r)
	}))

	s.mux.HandleFunc("GET /admin/login", s.handleLoginForm)
	s.mux.HandleFunc("POST /admin/login", s.handleLogin)
	s.mux.HandleFunc("POST /admin/logout", s.handleLogout)

	s.page("GET /admin/{$}", s.handleDashboard)
	s.page("GET /admin/orders", s.handleOrders)
	s.page("GET /admin/orders/{id}", s.handleOrder)
	s.page("GET /admin/refunds", s.handleRefunds)
	s.action("POST /admin/refunds/{id}/approve", s.handleRefundApprove)
	s.action("POST /admin/refunds/{id}/reject", s.handleRefundReject)
	s.page("GET /admin/withdrawals", s.handleWithdrawals)
	s.action("POST /admin/withdrawals/{id}/approve", s.handleWithdrawalApprove)
	s.action("POST /admin/withdrawals/{id}/reject", s.handleWithdrawalReject)
	s.page("GET /admin/users/{id}", s.handleUser)
	s.action("POST /admin/users/{id}/adjustments", s.handleAdjust)
	s.page("GET /admin/reconciliation", s.handleRecon)
	s.page("GET /admin/reconciliation/{id}", s.handleReconRun)
	s.action("POST /admin/reconciliation/exceptions/{id}/resolve", s.handleReconResolve)
	s.page("GET /admin/webhooks", s.handleWebhooks)
	s.action("POST /admin/webhooks/events/{id}/resend", s.handleResend)
	s.page("GET /admin/audit", s.handleAudit)

	s.handler = withHeaders(http.NewCrossOriginProtection().Handler(s.mux))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Handler reports the route pattern r matches, so metrics count pages by
// route rather than by path.
func (s *Server) Handler(r *http.Request) (http.Handler, string) { return s.mux.Handler(r) }

// withHeaders sets what every console answer needs: no caching of pages
// about money, no framing (clickjacking), no sniffing, and a policy that
// allows only the console's own files.
func withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}

type ctxKey struct{}

// session is who is signed in, for the request.
type session struct {
	admin bursar.Admin
	actor bursar.Actor
}

func sessionOf(r *http.Request) session {
	s, _ := r.Context().Value(ctxKey{}).(session)
	return s
}

// signedIn wraps a handler that needs a session: without one, a page
// redirects to the sign-in form and comes back after it.
func (s *Server) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		if err == nil {
			admin, actor, err := s.deps.Admins.Session(r.Context(), c.Value)
			if err == nil {
				h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, session{admin, actor})))
				return
			}
			if bursar.ErrorCode(err) != bursar.Unauthenticated {
				s.fail(w, r, err)
				return
			}
		}
		next := "/admin/"
		if r.Method == http.MethodGet {
			next = r.URL.RequestURI()
		}
		http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(next), http.StatusSeeOther)
	}
}

// page registers a page that any signed-in admin may see.
func (s *Server) page(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, s.signedIn(h)) }

// action registers a form's target: an operator's alone. It answers by
// redirecting back to the page the form was on (or to the handler's
// choice) with what happened, so a reload does not post twice.
func (s *Server) action(pattern string, h func(w http.ResponseWriter, r *http.Request) (string, error)) {
	s.mux.HandleFunc(pattern, s.signedIn(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		back := safeBack(r.FormValue("back"))
		if !sessionOf(r).admin.CanAct() {
			redirectWith(w, r, back, "error", "Your role is viewer: ask an operator to do this.")
			return
		}
		// A form's one-time key makes it act once: the same form sent again
		// (a double click, a resubmission) gets the first outcome.
		key, actor := r.FormValue("key"), sessionOf(r).actor
		if key != "" {
			request := []byte(r.URL.Path + "\n" + r.PostForm.Encode())
			replay, err := s.deps.Idempotency.Begin(r.Context(), actor, "console:"+key, request)
			switch {
			case bursar.ErrorCode(err) == bursar.Conflict:
				redirectWith(w, r, back, "error", "This form was sent already and is still being done; reload the page in a moment.")
				return
			case err != nil:
				s.fail(w, r, err)
				return
			case replay != nil:
				redirectWith(w, r, back, "ok", string(replay.Body))
				return
			}
		}
		done, err := h(w, r)
		if key != "" {
			// Kept with the outcome, even if the browser has gone.
			ctx := context.WithoutCancel(r.Context())
			var settle error
			if err == nil {
				settle = s.deps.Idempotency.Finish(ctx, actor, "console:"+key, http.StatusOK, []byte(done))
			} else {
				settle = s.deps.Idempotency.Forget(ctx, actor, "console:"+key) // refused: it can be fixed and sent again
			}
			if settle != nil {
				s.deps.Log.ErrorContext(ctx, "console form key not settled", "err", settle)
			}
		}
		if err != nil {
			if bursar.ErrorCode(err) == bursar.Internal || bursar.ErrorCode(err) == bursar.Unavailable {
				s.deps.Log.ErrorContext(r.Context(), "console action failed", "path", r.URL.Path, "admin", sessionOf(r).admin.Name, "err", err)
			}
			redirectWith(w, r, back, "error", bursar.ErrorMessage(err))
			return
		}
		redirectWith(w, r, back, "ok", done)
	}))
}

// safeBack keeps a form's return address within the console: a path under
// Prefix, with no dot segments (which a redirect would clean away), spelt
// out or escaped: browsers take "%2e%2e" for "..".
func safeBack(s string) string {
	p, _, _ := strings.Cut(s, "?")
	u, err := url.Parse(s)
	if err != nil || !strings.HasPrefix(s, Prefix) || strings.ContainsAny(s, "\\\r\n") || !cleanPath(p) || !cleanPath(u.Path) {
		return Prefix
	}
	return s
}

func cleanPath(p string) bool {
	return path.Clean(p) == strings.TrimSuffix(p, "/") || path.Clean(p)+"/" == p
}

func redirectWith(w http.ResponseWriter, r *http.Request, back, key, msg string) {
	u, _ := url.Parse(back) // safeBack keeps it a path
	q := u.Query()
	for _, k := range []string{"ok", "error", "sig"} {
		q.Del(k)
	}
	q.Set(key, msg)
	q.Set("sig", flashSig(r, key, msg))
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// flashSig signs a message the console shows after an action, with the
// session it was shown to, so that a link carrying its own "ok=…" (sent to
// an admin to make them believe something was done) shows nothing. Any
// process can check it: the key is the session's own cookie.
func flashSig(r *http.Request, kind, msg string) string {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, []byte(c.Value))
	m.Write([]byte(kind + "\n" + msg))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// flash returns the message an action left for the page, if it is signed
// for this session.
func flash(r *http.Request, kind string) string {
	q := r.URL.Query()
	msg := q.Get(kind)
	if msg == "" || !hmac.Equal([]byte(q.Get("sig")), []byte(flashSig(r, kind, msg))) {
		return ""
	}
	return msg
}

// fail shows an error page: not found for an object that is not there,
// the message for other refusals, and a plain apology for failures, which
// are logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadRequest
	msg := bursar.ErrorMessage(err)
	switch bursar.ErrorCode(err) {
	case bursar.NotFound:
		status = http.StatusNotFound
	case bursar.Forbidden:
		status = http.StatusForbidden
	case bursar.Internal, bursar.Unavailable:
		status = http.StatusInternalServerError
		if bursar.ErrorCode(err) == bursar.Unavailable {
			status = http.StatusServiceUnavailable
		}
		msg = "Something went wrong on our side; it has been logged. Try again in a moment."
		s.deps.Log.ErrorContext(r.Context(), "console page failed", "path", r.URL.Path, "err", err)
	}
	w.WriteHeader(status)
	s.render(w, r, "error", "Error", map[string]any{"Message": msg, "Status": status})
}
