package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/api"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// client talks to a real API server over HTTP.
type client struct {
	t      *testing.T
	base   string
	server *api.Server
	db     store.DB
	key    string // a platform secret key
}

func newClient(t *testing.T, db store.DB) *client {
	t.Helper()
	d := service.Deps{DB: db, Now: time.Now, Log: slog.New(slog.DiscardHandler),
		Pepper: []byte("a test pepper of at least 32 bytes!"), CommissionBPS: 1000}
	auth := service.NewAuth(d)
	secret, _, err := auth.CreatePlatformKey(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Deps{Log: d.Log, Auth: auth, Users: service.NewUsers(d), Items: service.NewItems(d),
		Orders: service.NewOrders(d), Wallets: service.NewWallets(d), Idempotency: service.NewIdempotency(d),
		Refunds: service.NewRefunds(d), Reviews: service.NewReviews(d), Entitlements: service.NewEntitlements(d),
		Withdrawals: service.NewWithdrawals(d), Notifications: service.NewNotifications(d), Webhooks: service.NewWebhooks(d),
		Recon: service.NewRecon(d), Ledger: service.NewLedger(d)})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { dbtest.Verify(t, db) })
	return &client{t: t, base: ts.URL, server: srv, db: db, key: secret}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// do sends a request with the given bearer token and extra headers.
func (c *client) do(method, path, token, body string, headers ...string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// must sends a request and fails unless the status is want.
func (c *client) must(want int, method, path, token, body string) map[string]any {
	c.t.Helper()
	r := c.do(method, path, token, body)
	if r.status != want {
		c.t.Fatalf("%s %s = %d, want %d\n%s", method, path, r.status, want, r.body)
	}
	return r.json(c.t)
}

// user creates a user with a payment password and returns a token for them.
func (c *client) user(id string) string {
	c.t.Helper()
	c.must(201, "POST", "/v1/users", c.key, `{"id":"`+id+`","display_name":"`+id+`"}`)
	c.must(200, "POST", "/v1/users/"+id+"/password", c.key, `{"kind":"payment","new_password":"246810"}`)
	tok := c.must(201, "POST", "/v1/users/"+id+"/tokens", c.key, `{"name":"test"}`)
	return tok["token"].(string)
}

var volatile = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`"(ord|usr|itm|key|tok|adj|req)_[a-z0-9]{26}"`), `"${1}_X"`},
	{regexp.MustCompile(`"[su]t_[A-Z0-9]{26}"`), `"TOKEN"`},
	{regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"`), `"TIME"`},
	{regexp.MustCompile(`"order_no":"\d{24}"`), `"order_no":"NUMBER"`},
	{regexp.MustCompile(`"(entry_id|id)":\d+`), `"${1}":1`},
	{regexp.MustCompile(`escrow:ord_[a-z0-9]{26}`), `escrow:ord_X`},
	{regexp.MustCompile(`(pay|release):ord_[a-z0-9]{26}`), `${1}:ord_X`},
}

// golden compares a response body, with IDs and times replaced by
// placeholders, to testdata/name.golden; -update rewrites the file.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: not JSON: %v", name, err)
	}
	compact, _ := json.Marshal(v)
	for _, r := range volatile {
		compact = r.re.ReplaceAll(compact, []byte(r.repl))
	}
	var pretty bytes.Buffer
	_ = json.Indent(&pretty, compact, "", "  ")
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, pretty.Bytes()) {
		t.Errorf("%s differs from %s:\n%s", name, path, pretty.String())
	}
}
