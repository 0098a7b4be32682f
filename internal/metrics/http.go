package metrics

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// unmatched is the route of a request no pattern matched (a 404 or 405):
// one label value, whatever the path, so scanners cannot grow the series.
const unmatched = "unmatched"

// probes are the routes load balancers and Prometheus call every few
// seconds: answered well, they are logged at debug, not info.
var probes = map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}

// router is a handler that can say which of its handlers, under which
// pattern, a request reaches: http.ServeMux, and the API and seed servers,
// which delegate to their own ServeMux.
type router interface {
	Handler(r *http.Request) (http.Handler, string)
}

// Route returns the pattern the innermost router under h matches r with:
// "GET /v1/orders/{id}" rather than the path, so that a label has as many
// values as there are routes. It is the r.Pattern the innermost ServeMux
// sets, found without serving; "unmatched" when no pattern matched.
func Route(h http.Handler, r *http.Request) string {
	route := ""
	for range 4 { // the API sits two routers deep; a bound keeps a cycle harmless
		rt, ok := h.(router)
		if !ok {
			break
		}
		next, pattern := rt.Handler(r)
		if pattern == "" {
			// Not found (or a redirect) inside: a catch-all outside
			// does not make it a route.
			return unmatched
		}
		h, route = next, pattern
	}
	if route == "" {
		return unmatched
	}
	return route
}

// Wrap counts, times and logs every request next answers. It also gives
// each request its ID first, so the access log and the answer carry the
// same one: the client's X-Request-Id when sane, else a new req_… ID. The
// API adopts it as its Request-Id; routes outside the API answer with it
// too. next should be the router of every route (the main ServeMux), so
// the route can be named.
func (m *Metrics) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !saneID(id) {
			id = "req_" + strings.ToLower(rand.Text())
		}
		r.Header.Set("X-Request-Id", id)
		w.Header().Set("Request-Id", id)
		rec := &recorder{ResponseWriter: w}
		m.inFlight.Inc()
		panicked := true
		defer func() {
			m.inFlight.Dec()
			status := rec.status
			switch {
			case status == 0 && panicked:
				status = http.StatusInternalServerError // net/http drops the connection
			case status == 0:
				status = http.StatusOK
			}
			took := time.Since(start)
			route := Route(next, r)
			m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
			m.latency.WithLabelValues(route).Observe(took.Seconds())
			level := slog.LevelInfo
			if probes[route] && status < 400 {
				level = slog.LevelDebug
			}
			m.log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(took.Microseconds())/1000),
				slog.Int64("bytes", rec.bytes),
				slog.String("request_id", id),
				slog.String("remote", m.proxies.Of(r)))
		}()
		next.ServeHTTP(rec, r)
		panicked = false
	})
}

// saneID reports whether a client's request ID can be used as ours: the
// API's rule, 1 to 64 printable ASCII characters.
func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := range len(id) {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// recorder notes the status and the size of an answer.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
