package api

import "net/http"

// readiness is /readyz's answer: "ok" or "unavailable", and each check's
// finding.
type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// handleReadyz answers 200 when this process should take traffic: the
// database answers, its schema is as new as this binary, and the jobs keep
// up. Otherwise 503, naming what failed, so a load balancer stops sending
// requests while /healthz keeps the process alive.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.deps.Ops == nil {
		writeJSON(w, http.StatusServiceUnavailable, readiness{Status: "unavailable", Checks: map[string]string{}})
		return
	}
	res := s.deps.Ops.Ready(r.Context())
	if !res.Ready {
		writeJSON(w, http.StatusServiceUnavailable, readiness{Status: "unavailable", Checks: res.Checks})
		return
	}
	writeJSON(w, http.StatusOK, readiness{Status: "ok", Checks: res.Checks})
}
