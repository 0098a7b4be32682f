// Package api is Bursar's HTTP edge: the v1 JSON API, the channel callback
// endpoints and the health checks, with one route table in this file. It
// turns requests into service calls and results into responses; it holds no
// business rules and never touches storage directly.
package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

// Deps is what the API needs.
type Deps struct {
	Log *slog.Logger
}

// Server serves the API.
type Server struct {
	deps Deps
	mux  *http.ServeMux
}

// New returns the API server with every route registered.
func New(d Deps) *Server {
	s := &Server{deps: d, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
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
