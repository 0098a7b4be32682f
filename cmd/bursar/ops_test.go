package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/metrics/metricstest"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/postgres/pgtest"
)

// serveLogged runs `bursar serve` in-process, as startServe does, keeping
// its log.
func serveLogged(t *testing.T, args ...string) (string, *metricstest.Log) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	logs := &metricstest.Log{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"bursar", "serve", "--addr", "127.0.0.1:0"}, args...), func(string) string { return "" }, w, logs)
		w.Close()
	}()
	line, err := bufio.NewReader(r).ReadString('\n')
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "bursar listening on ")
	if !ok {
		cancel()
		t.Fatalf("serve printed %q first (%v): %v", line, err, <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return base, logs
}

// metricsOf reads and parses /metrics.
func metricsOf(t *testing.T, base string) metricstest.Families {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	return metricstest.Parse(t, resp.Body)
}

func readyz(t *testing.T, base string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestOperatorsView serves a database, pays an order, and reads what an
// operator sees: /metrics counting the requests and the payment, the access
// log line of a request under the Request-Id it answered with, and
// /readyz before and after a migration goes missing.
func TestOperatorsView(t *testing.T) {
	tests := []struct {
		engine string
		db     func(t *testing.T) (args []string, exec func(q string))
	}{
		{"sqlite", func(t *testing.T) ([]string, func(string)) {
			dir := t.TempDir()
			return []string{"--data-dir", dir}, func(q string) {
				db, err := sql.Open("sqlite", filepath.Join(dir, "bursar.db"))
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"postgres", func(t *testing.T) ([]string, func(string)) {
			url := pgtest.URL(t)
			return []string{"--db", url, "--data-dir", t.TempDir()}, func(q string) {
				conn, err := pgx.Connect(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(context.Background())
				if _, err := conn.Exec(context.Background(), q); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.engine, func(t *testing.T) {
			db, exec := tt.db(t)
			key := createKey(t, db...)
			base, logs := serveLogged(t, append(db, "--sandbox=false")...)
			a := client{t, base}
			if status, body := readyz(t, base); status != http.StatusOK || body["status"] != "ok" {
				t.Errorf("/readyz of a fresh database = %d %v", status, body)
			}

			buyer := a.user(key, "buyer")
			a.user(key, "seller")
			a.must(201, key, "POST", "/v1/users/buyer/wallet/adjustments", `{"amount":10000,"reason":"funds"}`)
			item := a.must(201, key, "POST", "/v1/items", `{"seller_id":"seller","kind":"course","title":"Go","price":1990}`)["id"].(string)
			order := a.must(201, buyer, "POST", "/v1/orders", `{"buyer_id":"buyer","item_id":"`+item+`"}`)["id"].(string)
			a.must(200, buyer, "POST", "/v1/orders/"+order+"/pay", `{"method":"wallet","payment_password":"246810"}`)

			// One request by hand, for its Request-Id.
			req, _ := http.NewRequest("GET", base+"/v1/orders/"+order, nil)
			req.Header.Set("Authorization", "Bearer "+buyer)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			id := resp.Header.Get("Request-Id")
			lines := logs.Lines(t, map[string]any{"msg": "request", "request_id": id})
			if len(lines) != 1 {
				t.Fatalf("%d access log lines with request_id %q, want 1", len(lines), id)
			}
			for k, want := range map[string]any{"level": "INFO", "method": "GET", "route": "GET /v1/orders/{id}",
				"path": "/v1/orders/" + order, "status": 200.0, "remote": "127.0.0.1"} {
				if lines[0][k] != want {
					t.Errorf("access log %s = %v, want %v", k, lines[0][k], want)
				}
			}
			if b, _ := lines[0]["bytes"].(float64); b <= 0 {
				t.Errorf("access log bytes = %v", lines[0]["bytes"])
			}

			fams := metricsOf(t, base)
			for _, c := range []struct {
				name   string
				labels map[string]string
				want   float64
			}{
				{"bursar_http_requests_total", map[string]string{"route": "POST /v1/orders/{id}/pay", "code": "200"}, 1},
				{"bursar_http_requests_total", map[string]string{"route": "POST /v1/users", "code": "201"}, 2},
				{"bursar_http_requests_total", map[string]string{"route": "GET /readyz", "code": "200"}, 1},
				{"bursar_http_request_duration_seconds", map[string]string{"route": "POST /v1/orders/{id}/pay"}, 1},
				{"bursar_stats_up", map[string]string{}, 1},
				{"bursar_payments", map[string]string{"channel": "wallet", "status": "paid"}, 1},
				{"bursar_payment_amount_fen", map[string]string{"channel": "wallet", "status": "paid"}, 1990},
				{"bursar_jobs", map[string]string{"kind": "release"}, 1},
				{"bursar_job_queue_lag_seconds", map[string]string{}, 0},
			} {
				if got, ok := fams.Value(c.name, c.labels); !ok || got != c.want {
					t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
				}
			}

			// A binary newer than the schema: its last migration not applied.
			exec(`DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`)
			status, body := readyz(t, base)
			checks, _ := body["checks"].(map[string]any)
			if status != http.StatusServiceUnavailable || body["status"] != "unavailable" || checks["migrations"] != "1 pending" ||
				checks["database"] != "ok" {
				t.Errorf("/readyz with a migration missing = %d %v", status, body)
			}
		})
	}
}

// TestSIGTERMFinishesInFlightWork stops the real binary while a request is
// half sent and a webhook delivery is waiting for its endpoint's answer:
// both must complete, the delivery be recorded as delivered, and the
// process exit cleanly.
func TestSIGTERMFinishesInFlightWork(t *testing.T) {
	dir := t.TempDir()
	key := createKey(t, "--data-dir", dir)
	arrived, answer := make(chan struct{}, 1), make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		<-answer // the endpoint is slow: it answers once the process got SIGTERM
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	defer func() {
		select {
		case <-answer:
		default:
			close(answer)
		}
	}()

	p := startProcess(t, "--data-dir", dir, "--sandbox=false", "--webhook-timeout", "20s", "--shutdown-timeout", "20s")
	a := client{t, p.base}
	a.must(201, key, "POST", "/v1/webhook_endpoints", `{"url":"`+hook.URL+`/hook","events":["order.paid"]}`)
	buyer := a.user(key, "buyer")
	a.user(key, "seller")
	a.must(201, key, "POST", "/v1/users/buyer/wallet/adjustments", `{"amount":10000,"reason":"funds"}`)
	item := a.must(201, key, "POST", "/v1/items", `{"seller_id":"seller","kind":"course","title":"Go","price":1990}`)["id"].(string)
	order := a.must(201, buyer, "POST", "/v1/orders", `{"buyer_id":"buyer","item_id":"`+item+`"}`)["id"].(string)
	a.must(200, buyer, "POST", "/v1/orders/"+order+"/pay", `{"method":"wallet","payment_password":"246810"}`)
	select {
	case <-arrived:
	case <-time.After(15 * time.Second):
		t.Fatal("the order.paid delivery did not arrive")
	}

	// A request in flight: its headers and half its body are sent.
	body, bodyW := io.Pipe()
	req, _ := http.NewRequest("POST", p.base+"/v1/users", body)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	if _, err := io.WriteString(bodyW, `{"id":"late`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the server reads the first bytes

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	// No new connection is taken any more.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	if resp, err := fresh.Get(p.base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("a new request after SIGTERM got %d, want a refused connection", resp.StatusCode)
	}
	// The request in flight finishes, and so does the delivery.
	if _, err := io.WriteString(bodyW, `comer"}`); err != nil {
		t.Fatal(err)
	}
	bodyW.Close()
	if r := <-res; r.err != nil || r.status != http.StatusCreated {
		t.Errorf("the request in flight at SIGTERM: %d %s %v, want 201", r.status, r.body, r.err)
	}
	close(answer)

	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.logText())
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatal("no exit 30 s after SIGTERM")
	}
	log := p.logText()
	for _, want := range []string{`"msg":"requests drained; waiting for running jobs and deliveries"`, `"msg":"stopped"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s:\n%s", want, log)
		}
	}
	out, err := runCLI(t, "webhooks", "deliveries", "--json", "--data-dir", dir)
	if err != nil {
		t.Fatalf("webhooks deliveries: %v\n%s", err, out)
	}
	var ds []map[string]any
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(ds) != 1 || ds[0]["status"] != "succeeded" || ds[0]["attempts"] != 1.0 {
		t.Errorf("the delivery in flight at SIGTERM: %v, want succeeded at the first attempt", ds)
	}
}

// TestDebugAddr serves Go's profiles at --debug-addr, and never through the
// API's port.
func TestDebugAddr(t *testing.T) {
	base, logs := serveLogged(t, "--data-dir", t.TempDir(), "--sandbox=false", "--debug-addr", "127.0.0.1:0")
	lines := logs.Lines(t, map[string]any{"msg": "serving profiles"})
	if len(lines) != 1 {
		t.Fatalf("%d log lines say where the profiles are, want 1", len(lines))
	}
	debug := "http://" + lines[0]["addr"].(string)
	for _, c := range []struct {
		url      string
		want     int
		contains string
	}{
		{debug + "/debug/pprof/heap?debug=1", http.StatusOK, "heap profile"},
		{debug + "/debug/pprof/", http.StatusOK, "goroutine"},
		{base + "/debug/pprof/", http.StatusNotFound, ""},
		{base + "/debug/pprof/heap", http.StatusNotFound, ""},
	} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != c.want || !strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s = %d %.200q, want %d with %q", c.url, resp.StatusCode, body, c.want, c.contains)
		}
	}
}

// TestServePurgesExpiredIdempotencyKeys leaves a key in the database that
// is two days old and one that is new: serve purges the first as it starts,
// and keeps the second.
func TestServePurgesExpiredIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := dbConfig{dataDir: dir}.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx store.Tx) error {
		if _, _, err := tx.IdempotencyBegin(ctx, "key_1", "old", "h", time.Now().Add(-48*time.Hour)); err != nil {
			return err
		}
		_, _, err := tx.IdempotencyBegin(ctx, "key_1", "new", "h", time.Now())
		return err
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	_, logs := serveLogged(t, "--data-dir", dir, "--sandbox=false")
	deadline := time.Now().Add(10 * time.Second)
	for len(logs.Lines(t, map[string]any{"msg": "purged expired Idempotency-Keys"})) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no purge logged 10 s after serve started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := logs.Lines(t, map[string]any{"msg": "purged expired Idempotency-Keys"})[0]["count"]; got != 1.0 {
		t.Errorf("purged %v keys, want 1", got)
	}
}
