package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/api"
	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestReadyz asks /readyz of a healthy database, then of one whose
// earliest due job is seven minutes late.
func TestReadyz(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		d := service.Deps{DB: db, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
		srv := api.New(api.Deps{Log: d.Log, Ops: service.NewOps(d, 5*time.Minute)})
		tests := []struct {
			name       string
			plant      time.Duration // a job due this long ago; 0 for none
			wantStatus int
			want       map[string]any
		}{
			{"ready", 0, http.StatusOK,
				map[string]any{"status": "ok", "checks": map[string]any{"database": "ok", "migrations": "ok", "jobs": "ok"}}},
			{"a job seven minutes late", 7*time.Minute + 12*time.Second, http.StatusServiceUnavailable,
				map[string]any{"status": "unavailable", "checks": map[string]any{"database": "ok", "migrations": "ok", "jobs": "lag 7m12s, 1 due"}}},
		}
		for _, tt := range tests {
			if tt.plant > 0 {
				err := db.InTx(context.Background(), func(tx store.Tx) error {
					return tx.JobSchedule(context.Background(), bursar.JobRelease, "ord_late", time.Now().Add(-tt.plant))
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("%s: body %s: %v", tt.name, w.Body, err)
			}
			if w.Code != tt.wantStatus || w.Header().Get("Request-Id") == "" {
				t.Errorf("%s: status %d, Request-Id %q; want %d and an ID", tt.name, w.Code, w.Header().Get("Request-Id"), tt.wantStatus)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s: body (-want +got):\n%s", tt.name, diff)
			}
		}
	})
}

// TestErrorLogCarriesRequestID makes a request fail inside (its database is
// closed) and finds the error logged with the request's ID, the one the
// answer carries.
func TestErrorLogCarriesRequestID(t *testing.T) {
	db := dbtest.Open(t, "sqlite")
	db.Close()
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	d := service.Deps{DB: db, Now: time.Now, Log: log}
	srv := api.New(api.Deps{Log: log, Auth: service.NewAuth(d)})
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/v1/users/u1", nil)
	r.Header.Set("Authorization", "Bearer sk_test_whatever")
	r.Header.Set("X-Request-Id", "req_from_the_client")
	srv.ServeHTTP(w, r)
	if w.Code < 500 || w.Header().Get("Request-Id") != "req_from_the_client" {
		t.Fatalf("status %d, Request-Id %q; want a 5xx with the client's ID", w.Code, w.Header().Get("Request-Id"))
	}
	var line map[string]any
	if err := json.Unmarshal(logged.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", logged.String(), err)
	}
	for k, want := range map[string]any{"msg": "request failed", "level": "ERROR", "request_id": "req_from_the_client",
		"route": "GET /v1/users/{id}", "method": "GET"} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v\n%s", k, line[k], want, logged.String())
		}
	}
}
