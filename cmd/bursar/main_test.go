package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // for corrupting a database by hand

	"bursar.dev/bursar/internal/store/postgres/pgtest"
)

// binDir holds the binary that tests run as a process; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "bursar-bin-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// lineWriter hands each line written to it to the test over a channel, so the
// server goroutine writes while the test reads.
type lineWriter struct{ lines chan string }

func (w lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		select {
		case w.lines <- l:
		default:
		}
	}
	return len(p), nil
}

// startServe runs `bursar serve` in-process and returns its base URL and a
// function that stops it and returns run's error.
func startServe(t *testing.T, env map[string]string, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := lineWriter{lines: make(chan string, 16)}
	done := make(chan error, 1)
	getenv := func(k string) string { return env[k] }
	go func() {
		done <- run(ctx, append([]string{"bursar", "serve"}, args...), getenv, out, io.Discard)
	}()
	select {
	case line := <-out.lines:
		base, ok := strings.CutPrefix(line, "bursar listening on ")
		if !ok {
			t.Fatalf("serve printed %q first", line)
		}
		var once sync.Once
		var stopErr error
		stop := func() error {
			once.Do(func() {
				cancel()
				select {
				case stopErr = <-done:
				case <-time.After(30 * time.Second):
					t.Fatal("serve did not stop")
				}
			})
			return stopErr
		}
		return base, stop
	case err := <-done:
		t.Fatalf("serve ended before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	cancel()
	return "", nil
}

func TestServe(t *testing.T) {
	tests := []struct {
		name string
		env  func(t *testing.T) map[string]string
		args func(t *testing.T) []string
	}{
		{"on the embedded SQLite default, configured by flags",
			func(*testing.T) map[string]string { return nil },
			func(t *testing.T) []string { return []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()} }},
		{"on SQLite, configured by the environment",
			func(t *testing.T) map[string]string {
				return map[string]string{"BURSAR_ADDR": "127.0.0.1:0", "BURSAR_DATA_DIR": t.TempDir()}
			},
			func(*testing.T) []string { return nil }},
		{"on PostgreSQL",
			func(*testing.T) map[string]string { return nil },
			func(t *testing.T) []string {
				return []string{"--addr", "127.0.0.1:0", "--db", pgtest.URL(t), "--data-dir", t.TempDir()}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, stop := startServe(t, tt.env(t), tt.args(t)...)
			resp, err := http.Get(base + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
				t.Errorf("GET /healthz = %d %s", resp.StatusCode, body)
			}
			if err := stop(); err != nil {
				t.Errorf("serve returned %v after its context ended", err)
			}
		})
	}
}

func TestServeCreatesTheDefaultDatabase(t *testing.T) {
	dir := t.TempDir()
	_, stop := startServe(t, nil, "--addr", "127.0.0.1:0", "--data-dir", dir)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bursar.db")); err != nil {
		t.Errorf("no database in the data dir: %v", err)
	}
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"bursar"}, args...), func(string) string { return "" }, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"ledger", "--help"}, {"ledger", "verify", "--help"}} {
		out, err := runCLI(t, args...)
		if err != nil || !strings.Contains(out, "USAGE:") {
			t.Errorf("bursar %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	serve := func(flags ...string) []string {
		return append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, flags...)
	}
	for _, args := range [][]string{{"bogus"}, {"serve", "--bogus"}, {"ledger", "verify", "--bogus"},
		serve("--public-url", "http://example.com/bursar"), serve("--public-url", "ftp://example.com"),
		serve("--withdrawal-min", "0.01"), serve("--withdrawal-daily-amount", "12.345"),
		serve("--payment-check-after", "0s"), serve("--alipay-config", "x.json")} {
		_, err := runCLI(t, args...)
		if code := exitCode(err); err == nil || code != exitUsage {
			t.Errorf("bursar %s: error %v, exit code %d; want %d", strings.Join(args, " "), err, code, exitUsage)
		}
	}
}

func TestMigrateAndLedgerVerify(t *testing.T) {
	dir := t.TempDir()
	if out, err := runCLI(t, "migrate", "--data-dir", dir); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	out, err := runCLI(t, "ledger", "verify", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "ledger OK") {
		t.Fatalf("verify of an empty ledger: %v\n%s", err, out)
	}

	// Break the ledger by hand: a balance with no posting behind it.
	db, err := sql.Open("sqlite", filepath.Join(dir, "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO accounts (id, currency, may_go_negative, shards, created_at) VALUES ('user:u1:cash', 'CNY', 0, 1, 0)`,
		`INSERT INTO account_balances (account_id, shard, currency, may_go_negative, balance) VALUES ('user:u1:cash', 0, 'CNY', 0, 500)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	out, err = runCLI(t, "ledger", "verify", "--data-dir", dir)
	if code := exitCode(err); code != exitProblem {
		t.Errorf("verify of a broken ledger: exit code %d (%v), want %d", code, err, exitProblem)
	}
	for _, want := range []string{"PROBLEM balance_mismatch user:u1:cash: stored balance 500 but postings sum to 0", "PROBLEM nonzero_total CNY"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "ledger", "verify", "--json", "--data-dir", dir)
	if exitCode(err) != exitProblem || !strings.Contains(out, `"check": "balance_mismatch"`) {
		t.Errorf("JSON report: %v\n%s", err, out)
	}
}

// TestCommandsLeaveTheSchemaToMigrate runs commands other than serve and
// migrate on a database never migrated, which they create, and on one that
// lacks a migration, which they refuse, leaving it unchanged, until the
// migration is recorded again.
func TestCommandsLeaveTheSchemaToMigrate(t *testing.T) {
	dir := t.TempDir()
	commands := [][]string{
		{"users", "list"},
		{"orders", "list"},
		{"ledger", "verify"},
		{"keys", "create", "--name", "ci"},
		{"recon", "list"},
	}
	run := func(args []string) (string, error) {
		t.Helper()
		return runCLI(t, append(args, "--data-dir", dir)...)
	}
	if out, err := run(commands[0]); err != nil {
		t.Fatalf("users list on a new data dir: %v\n%s", err, out)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	applied := func() (n int) {
		t.Helper()
		if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	all := applied()
	// The last migration's record goes, as if this binary were newer than
	// the database; it comes back as `bursar migrate` would bring it.
	var version int
	var name string
	var at int64
	if err := db.QueryRow(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version DESC LIMIT 1`).Scan(&version, &name, &at); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = ?`, version); err != nil {
		t.Fatal(err)
	}
	for _, args := range commands {
		out, err := run(args)
		if err == nil || !strings.Contains(out+err.Error(), "bursar migrate") {
			t.Errorf("%s on a database a migration behind: %v\n%s\nwant a refusal that points to bursar migrate", strings.Join(args, " "), err, out)
		}
		if n := applied(); n != all-1 {
			t.Fatalf("%s changed the schema: %d migrations applied, want %d", strings.Join(args, " "), n, all-1)
		}
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, version, name, at); err != nil {
		t.Fatal(err)
	}
	for _, args := range commands {
		if out, err := run(args); err != nil {
			t.Errorf("%s once migrated: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestSIGTERM runs the real binary and stops it with SIGTERM, as a process
// supervisor would.
func TestSIGTERM(t *testing.T) {
	cmd := exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "bursar listening on ") {
		cmd.Process.Kill()
		t.Fatalf("first line %q, %v", line, err)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "bursar listening on "))
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v", err)
	} else {
		resp.Body.Close()
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit 30 s after SIGTERM")
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("the log does not show a clean stop:\n%s", stderr.String())
	}
}

// TestKeysAndTheAPI creates a platform key with the CLI and uses it against a
// served database: create a user, set their payment password, fund them.
func TestKeysAndTheAPI(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, "keys", "create", "--name", "backend", "--json", "--data-dir", dir)
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	var key struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(out), &key); err != nil || !strings.HasPrefix(key.Secret, "sk_") {
		t.Fatalf("keys create printed %q (%v)", out, err)
	}
	base, stop := startServe(t, nil, "--addr", "127.0.0.1:0", "--data-dir", dir)
	defer stop()
	call := func(method, path, body string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/v1/users", `{"id":"u1"}`, 201},
		{"POST", "/v1/users/u1/password", `{"kind":"payment","new_password":"123456"}`, 200},
		{"POST", "/v1/users/u1/wallet/adjustments", `{"amount":100,"reason":"welcome"}`, 201},
		{"GET", "/v1/users/u1/wallet", "", 200},
	} {
		if got := call(c.method, c.path, c.body); got != c.want {
			t.Errorf("%s %s = %d, want %d", c.method, c.path, got, c.want)
		}
	}
	// The seed APIs are served by the same process, over the same users.
	body := func(path, form string) string {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(form))
		req.Header.Set("Authorization", "Bearer "+key.Secret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := body("/api/v1/getCash", "uid=u1"); !strings.Contains(got, `"cash":100`) || !strings.Contains(got, `"success":true`) {
		t.Errorf("seed 1 getCash = %s", got)
	}
	if got := body("/orders/get", "id=nope"); !strings.Contains(got, `"code":`) || !strings.Contains(got, `"err_desc"`) {
		t.Errorf("seed 2 get of a missing order = %s", got)
	}
	if out, err := runCLI(t, "keys", "revoke", key.ID, "--data-dir", dir); err != nil {
		t.Fatalf("keys revoke: %v\n%s", err, out)
	}
	if got := call("GET", "/v1/users/u1", ""); got != http.StatusUnauthorized {
		t.Errorf("a revoked key: %d, want 401", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "ledger", "verify", "--data-dir", dir); err != nil {
		t.Errorf("ledger verify: %v\n%s", err, out)
	}
}
