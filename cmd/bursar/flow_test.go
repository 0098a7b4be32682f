package main

import (
	"bufio"
	"encoding/json"
	"fmt"
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

	"bursar.dev/bursar/internal/store/postgres/pgtest"
)

// client is a small client of a running Bursar for end-to-end tests.
type client struct {
	t    *testing.T
	base string
}

func (a client) call(token, method, path, body string) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		a.t.Fatalf("%s %s: not JSON: %s", method, path, b)
	}
	return resp.StatusCode, m
}

func (a client) must(want int, token, method, path, body string) map[string]any {
	a.t.Helper()
	got, m := a.call(token, method, path, body)
	if got != want {
		a.t.Fatalf("%s %s = %d, want %d: %v", method, path, got, want, m)
	}
	return m
}

// user creates a user with a payment password and returns a token for them.
func (a client) user(key, id string) string {
	a.must(201, key, "POST", "/v1/users", `{"id":"`+id+`"}`)
	a.must(200, key, "POST", "/v1/users/"+id+"/password", `{"kind":"payment","new_password":"246810"}`)
	return a.must(201, key, "POST", "/v1/users/"+id+"/tokens", `{}`)["token"].(string)
}

func createKey(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCLI(t, append([]string{"keys", "create", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	var key struct{ Secret string }
	if err := json.Unmarshal([]byte(out), &key); err != nil {
		t.Fatal(err)
	}
	return key.Secret
}

// TestMarketplaceFlow is the end-to-end path over HTTP against a real
// `bursar serve`: a buyer funded by an adjustment buys a session, chats
// while the window is open, and confirms; another buys a course and gets an
// approved refund. The ledger verifies afterwards.
func TestMarketplaceFlow(t *testing.T) {
	dir := t.TempDir()
	key := createKey(t, "--data-dir", dir)
	base, stop := startServe(t, nil, "--addr", "127.0.0.1:0", "--data-dir", dir, "--commission-bps", "500")
	a := client{t, base}
	alice, bob, expert := a.user(key, "alice"), a.user(key, "bob"), a.user(key, "expert")
	for _, u := range []string{"alice", "bob"} {
		a.must(201, key, "POST", "/v1/users/"+u+"/wallet/adjustments", `{"amount":20000,"reason":"launch credit","operator":"ops"}`)
	}
	chat := a.must(201, expert, "POST", "/v1/items", `{"seller_id":"expert","kind":"session","title":"1:1 chat","price":9900,"duration_seconds":86400}`)["id"].(string)
	course := a.must(201, expert, "POST", "/v1/items", `{"seller_id":"expert","kind":"course","title":"Course","price":4990}`)["id"].(string)

	// Alice buys a session, chats, confirms.
	o := a.must(201, alice, "POST", "/v1/orders", `{"buyer_id":"alice","item_id":"`+chat+`"}`)["id"].(string)
	a.must(200, alice, "POST", "/v1/orders/"+o+"/pay", `{"method":"wallet","payment_password":"246810"}`)
	ent := a.must(200, alice, "GET", "/v1/entitlements?item_id="+chat, "")
	if ent["has_access"] != true || ent["order_id"] != o {
		t.Errorf("during the chat: %v", ent)
	}
	a.must(200, alice, "POST", "/v1/orders/"+o+"/confirm", "")
	if ent := a.must(200, alice, "GET", "/v1/entitlements?item_id="+chat, ""); ent["has_access"] != false {
		t.Errorf("after confirming, the chat is still open: %v", ent)
	}
	a.must(201, alice, "POST", "/v1/orders/"+o+"/review", `{"score":5,"comment":"very helpful"}`)

	// Bob buys a course and gets his money back.
	c := a.must(201, bob, "POST", "/v1/orders", `{"buyer_id":"bob","item_id":"`+course+`"}`)["id"].(string)
	a.must(200, bob, "POST", "/v1/orders/"+c+"/pay", `{"method":"wallet","payment_password":"246810"}`)
	rf := a.must(201, bob, "POST", "/v1/orders/"+c+"/refunds", `{"reason":"not what I expected"}`)["id"].(string)
	if r := a.must(200, expert, "POST", "/v1/refunds/"+rf+"/approve", `{}`); r["status"] != "succeeded" {
		t.Errorf("approved refund: %v", r)
	}
	if ent := a.must(200, bob, "GET", "/v1/entitlements?item_id="+course, ""); ent["has_access"] != false {
		t.Errorf("a refunded course still grants access: %v", ent)
	}

	wallets := map[string]float64{"alice": 20000 - 9900, "bob": 20000, "expert": 9900 - 495}
	for u, want := range wallets {
		w := a.must(200, key, "GET", "/v1/users/"+u+"/wallet", "")
		if w["total"] != want {
			t.Errorf("%s's wallet total = %v, want %v", u, w["total"], want)
		}
	}
	if r := a.must(200, bob, "GET", "/v1/users/expert/rating", ""); r["count"] != 1.0 || r["average"] != 5.0 {
		t.Errorf("rating: %v", r)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "ledger", "verify", "--data-dir", dir); err != nil || !strings.Contains(out, "ledger OK") {
		t.Errorf("ledger verify: %v\n%s", err, out)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	errBuild  error
)

// binary builds bursar once for the tests that run it as a process, with
// the race detector when they run with it.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "bursar")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
			errBuild = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if errBuild != nil {
		t.Fatal(errBuild)
	}
	return binPath
}

// process is a `bursar serve` running as its own process.
type process struct {
	cmd  *exec.Cmd
	base string
	log  *strings.Builder
	mu   *sync.Mutex
	done chan error
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, log: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			p.mu.Lock()
			p.log.WriteString(s.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "bursar listening on ") {
		_ = cmd.Process.Kill()
		t.Fatalf("first line %q, %v", line, err)
	}
	p.base = strings.TrimSpace(strings.TrimPrefix(line, "bursar listening on "))
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		p.stop(t)
		// The race detector reports as it finds, so a report is in the log
		// even from a process killed later.
		if log := p.logText(); strings.Contains(log, "WARNING: DATA RACE") {
			t.Errorf("the serve process had a data race:\n%s", log)
		}
	})
	return p
}

func (p *process) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Error("no exit 30 s after SIGTERM")
	}
}

func (p *process) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// TestTwoProcessesReleaseOnce runs two `bursar serve` processes on one
// PostgreSQL database. Both run the job loop; each paid order's escrow must
// be released exactly once, so the seller ends with exactly one payout per
// order and the ledger verifies.
func TestTwoProcessesReleaseOnce(t *testing.T) {
	url := pgtest.URL(t)
	pepper := filepath.Join(t.TempDir(), "pepper")
	if err := os.WriteFile(pepper, []byte(strings.Repeat("p", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	key := createKey(t, "--db", url)
	// No sandboxes: two processes would share their state files.
	common := []string{"--db", url, "--pepper-file", pepper, "--commission-bps", "1000", "--data-dir", t.TempDir(), "--sandbox=false"}
	p1 := startProcess(t, common...)
	p2 := startProcess(t, common...)
	a1, a2 := client{t, p1.base}, client{t, p2.base}
	buyer := a1.user(key, "buyer")
	a1.user(key, "seller")
	a1.must(201, key, "POST", "/v1/users/buyer/wallet/adjustments", `{"amount":1000000,"reason":"funds"}`)
	item := a1.must(201, key, "POST", "/v1/items",
		`{"seller_id":"seller","kind":"session","title":"Go","price":1000,"hold_seconds":1,"duration_seconds":3600}`)["id"].(string)
	const orders = 40
	ids := make([]string, orders)
	for i := range orders {
		a := []client{a1, a2}[i%2]
		ids[i] = a.must(201, buyer, "POST", "/v1/orders", `{"buyer_id":"buyer","item_id":"`+item+`"}`)["id"].(string)
		a.must(200, buyer, "POST", "/v1/orders/"+ids[i]+"/pay", `{"method":"wallet","payment_password":"246810"}`)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, list := a1.call(key, "GET", "/v1/orders?role=seller&user_id=seller&status=completed&limit=100", "")
		if n := len(list["data"].([]any)); n == orders {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d orders released after 60 s", len(list["data"].([]any)), orders)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, id := range ids {
		o := a1.must(200, key, "GET", "/v1/orders/"+id+"?expand=entries", "")
		releases := 0
		for _, e := range o["entries"].([]any) {
			if e.(map[string]any)["kind"] == "release" {
				releases++
			}
		}
		if releases != 1 {
			t.Errorf("order %s has %d release entries, want 1", id, releases)
		}
	}
	if w := a2.must(200, key, "GET", "/v1/users/seller/wallet", ""); w["earnings"] != float64(orders*900) {
		t.Errorf("seller earnings = %v, want %d", w["earnings"], orders*900)
	}
	p1.stop(t)
	p2.stop(t)
	ran := func(p *process) int { return strings.Count(p.logText(), `"msg":"ran jobs"`) }
	t.Logf("job batches run: process 1 %d, process 2 %d", ran(p1), ran(p2))
	if out, err := runCLI(t, "ledger", "verify", "--db", url); err != nil {
		t.Errorf("ledger verify: %v\n%s", err, out)
	}
}
