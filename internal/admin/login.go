package admin

import (
	"net/http"
	"strconv"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
)

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "login", "Sign in", map[string]any{"Next": safeBack(r.URL.Query().Get("next"))})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	next := safeBack(r.FormValue("next"))
	var token string
	var err error
	if ok, wait := s.deps.SignIns.Allow(s.deps.Proxies.Of(r)); !ok {
		err = bursar.TooManyTries(wait)
	} else {
		token, _, err = s.deps.Admins.SignIn(r.Context(), r.FormValue("name"), r.FormValue("password"))
	}
	if err != nil {
		status := http.StatusUnauthorized
		switch bursar.ErrorCode(err) {
		case bursar.Forbidden:
		case bursar.Locked:
			status = http.StatusLocked
		case bursar.RateLimited:
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.FormatInt(bursar.ErrorRetryAfter(err), 10))
		default:
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(status)
		s.render(w, r, "login", "Sign in", map[string]any{"Next": next, "Name": r.FormValue("name"),
			"Error": bursar.ErrorMessage(err)})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/", MaxAge: int(service.SessionTTL / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		if err := s.deps.Admins.SignOut(r.Context(), c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}
