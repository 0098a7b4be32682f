package metrics_test

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/clientip"
	"bursar.dev/bursar/internal/metrics"
	"bursar.dev/bursar/internal/metrics/metricstest"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// mux is shaped like serve's: the API at /, a seed layer with its own
// router under a prefix, a sandbox whose handler is no router, /metrics.
func mux() *http.ServeMux {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	v1 := http.NewServeMux()
	v1.Handle("GET /v1/orders/{id}", ok)
	v1.Handle("GET /healthz", ok)
	seed := http.NewServeMux()
	seed.Handle("POST /api/v1/getCash", ok)
	seed.Handle("/api/v1/", http.NotFoundHandler())
	m := http.NewServeMux()
	m.Handle("/", v1)
	m.Handle("/api/v1/", seed)
	m.Handle("/alipay/", ok)
	m.Handle("GET /metrics", ok)
	return m
}

func TestRoute(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"GET", "/v1/orders/ord_1", "GET /v1/orders/{id}"},
		{"GET", "/v1/orders/ord_2", "GET /v1/orders/{id}"},
		{"DELETE", "/v1/orders/ord_1", "unmatched"}, // a 405 inside the API
		{"GET", "/v1/nothing/here", "unmatched"},    // the outer / is a catch-all, not a route
		{"GET", "/wp-login.php", "unmatched"},
		{"POST", "/api/v1/getCash", "POST /api/v1/getCash"},
		{"POST", "/api/v1/noSuchCall", "/api/v1/"}, // the seed's own catch-all answers in its envelope
		{"GET", "/alipay/sandbox/pay", "/alipay/"},
		{"GET", "/metrics", "GET /metrics"},
	}
	m := mux()
	for _, tt := range tests {
		if got := metrics.Route(m, httptest.NewRequest(tt.method, tt.path, nil)); got != tt.want {
			t.Errorf("Route(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

// scrape reads /metrics as Prometheus does.
func scrape(t *testing.T, h http.Handler) metricstest.Families {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d\n%s", w.Code, w.Body)
	}
	return metricstest.Parse(t, w.Body)
}

func TestWrapCountsAndLogs(t *testing.T) {
	var logs metricstest.Log
	proxies, err := clientip.ParseProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(metrics.Options{Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Proxies: proxies})
	h := m.Wrap(mux())
	const client = "192.0.2.7:5555"
	tests := []struct {
		method, path, requestID string
		peer, forwardedFor      string // the client when peer is ""
		wantRoute               string
		wantStatus              int
		wantID                  string // "" for a new req_… one
		wantLevel               string
		wantRemote              string // "192.0.2.7" when ""
	}{
		{"GET", "/v1/orders/ord_1", "", "", "", "GET /v1/orders/{id}", 200, "", "INFO", ""},
		{"GET", "/v1/orders/ord_2", "client-chosen-7", "", "", "GET /v1/orders/{id}", 200, "client-chosen-7", "INFO", ""},
		{"GET", "/v1/orders/ord_3", "bad id with spaces", "", "", "GET /v1/orders/{id}", 200, "", "INFO", ""},
		{"GET", "/no/such/path", "", "", "", "unmatched", 404, "", "INFO", ""},
		{"POST", "/api/v1/getCash", "", "", "", "POST /api/v1/getCash", 200, "", "INFO", ""},
		{"GET", "/healthz", "", "", "", "GET /healthz", 200, "", "DEBUG", ""}, // a probe
		// A client's own X-Forwarded-For is not believed...
		{"GET", "/v1/orders/ord_4", "", "", "198.51.100.9", "GET /v1/orders/{id}", 200, "", "INFO", ""},
		// ...a trusted proxy's is.
		{"GET", "/v1/orders/ord_5", "", "10.1.2.3:5555", "198.51.100.9", "GET /v1/orders/{id}", 200, "", "INFO", "198.51.100.9"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		r.RemoteAddr = cmp.Or(tt.peer, client)
		if tt.forwardedFor != "" {
			r.Header.Set("X-Forwarded-For", tt.forwardedFor)
		}
		if tt.requestID != "" {
			r.Header.Set("X-Request-Id", tt.requestID)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		lines := logs.Lines(t, nil)
		line := lines[len(lines)-1]
		id := w.Header().Get("Request-Id")
		if tt.wantID != "" && id != tt.wantID || tt.wantID == "" && !strings.HasPrefix(id, "req_") {
			t.Errorf("%s %s: Request-Id %q, want %q", tt.method, tt.path, id, tt.wantID)
		}
		want := map[string]any{"msg": "request", "level": tt.wantLevel, "method": tt.method, "route": tt.wantRoute,
			"path": tt.path, "status": float64(tt.wantStatus), "bytes": float64(w.Body.Len()), "request_id": id,
			"remote": cmp.Or(tt.wantRemote, "192.0.2.7")}
		for k, v := range want {
			if line[k] != v {
				t.Errorf("%s %s: access log %s = %v, want %v", tt.method, tt.path, k, line[k], v)
			}
		}
		if d, ok := line["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("%s %s: access log duration_ms = %v", tt.method, tt.path, line["duration_ms"])
		}
	}

	fams := scrape(t, m.Handler())
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"bursar_http_requests_total", map[string]string{"route": "GET /v1/orders/{id}", "code": "200"}, 5},
		{"bursar_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}, 1},
		{"bursar_http_requests_total", map[string]string{"route": "POST /api/v1/getCash", "code": "200"}, 1},
		{"bursar_http_request_duration_seconds", map[string]string{"route": "GET /v1/orders/{id}"}, 5},
		{"bursar_http_requests_in_flight", map[string]string{}, 0},
	} {
		if got, ok := fams.Value(c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := fams["bursar_stats_up"]; ok {
		t.Error("bursar_stats_up is served without a database to read")
	}
}

func TestDatabaseFigures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		now := time.Now()
		err := db.InTx(ctx, func(tx store.Tx) error {
			if err := tx.JobSchedule(ctx, bursar.JobRelease, "ord_1", now.Add(-90*time.Second)); err != nil {
				return err
			}
			if err := tx.JobSchedule(ctx, bursar.JobRelease, "ord_2", now.Add(time.Hour)); err != nil {
				return err
			}
			_, err := tx.NoticeInsert(ctx, bursar.Notice{Channel: bursar.ChannelWeChat, ReceivedAt: now, Body: []byte("forged"),
				Outcome: bursar.NoticeRejected, Detail: "bad signature"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		d := service.Deps{DB: db, Now: time.Now}
		m := metrics.New(metrics.Options{Ops: service.NewOps(d, time.Minute), Log: slog.New(slog.DiscardHandler)})
		fams := scrape(t, m.Handler())
		for _, c := range []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{"bursar_stats_up", map[string]string{}, 1},
			{"bursar_jobs", map[string]string{"kind": "release"}, 2},
			{"bursar_jobs_due", map[string]string{"kind": "release"}, 1},
			{"bursar_channel_notifications_total", map[string]string{"channel": "wechat", "outcome": "rejected"}, 1},
			{"bursar_webhook_deliveries", map[string]string{"status": "failed"}, 0},
		} {
			if got, ok := fams.Value(c.name, c.labels); !ok || got != c.want {
				t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
			}
		}
		if lag, _ := fams.Value("bursar_job_queue_lag_seconds", map[string]string{}); lag < 90 || lag > 120 {
			t.Errorf("bursar_job_queue_lag_seconds = %v, want about 90", lag)
		}
	})
}

// hungDB is a database whose reads wait until they are given up.
type hungDB struct{ store.DB }

func (hungDB) InReadTx(ctx context.Context, _ func(store.Tx) error) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestSlowDatabase checks that a database that does not answer makes the
// scrape report bursar_stats_up 0 within the timeout, with the HTTP and
// runtime figures still there.
func TestSlowDatabase(t *testing.T) {
	db := dbtest.Open(t, "sqlite")
	d := service.Deps{DB: hungDB{db}, Now: time.Now}
	m := metrics.New(metrics.Options{Ops: service.NewOps(d, time.Minute), Log: slog.New(slog.DiscardHandler),
		ScrapeTimeout: 200 * time.Millisecond})
	start := time.Now()
	fams := scrape(t, m.Handler())
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the scrape took %v", took)
	}
	if up, ok := fams.Value("bursar_stats_up", map[string]string{}); !ok || up != 0 {
		t.Errorf("bursar_stats_up = %v (found %v), want 0", up, ok)
	}
	for _, name := range []string{"bursar_http_requests_in_flight", "go_goroutines"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s is missing when the database hangs", name)
		}
	}
}
