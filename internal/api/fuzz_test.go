package api_test

// Fuzz tests of the v1 API's outside input: FuzzDecode for the JSON body
// decoding every handler shares, FuzzServer for whole requests to every
// route on a real SQLite database. The rule they check: bad input never
// panics, never answers 5xx, and is always refused with the one error
// object, its code's status and a message.
//
// Run one with, for example:
//
//	go test -run='^$' -fuzz='^FuzzServer$' -fuzztime=30s ./internal/api/

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/api"
	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store/dbtest"
	"bursar.dev/bursar/internal/store/sqlite"
)

// fuzzBody has a field of each kind the handlers' bodies have.
type fuzzBody struct {
	ID       string            `json:"id"`
	Name     *string           `json:"name"`
	Amount   *bursar.Amount    `json:"amount"`
	TTL      int64             `json:"ttl_seconds"`
	Score    int               `json:"score"`
	Live     bool              `json:"live"`
	Kind     bursar.SecretKind `json:"kind"`
	Metadata map[string]string `json:"metadata"`
	Events   []string          `json:"events"`
}

var fuzzFields = map[string]bool{"id": true, "name": true, "amount": true, "ttl_seconds": true, "score": true,
	"live": true, "kind": true, "metadata": true, "events": true}

// FuzzDecode reads any body. What it accepts is one JSON object of known
// fields that reads back the same after encoding; what it refuses is an
// invalid error with a message, naming only a known field, and never Go's
// own text.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"id":"u1","name":"Ann","amount":1990,"ttl_seconds":60,"score":5,"live":true,"kind":"payment","metadata":{"a":"b"},"events":["order.paid"]}`,
		`{}`, ``, ` `, `null`, `[]`, `"x"`, `{"id":1}`, `{"amount":19.9}`, `{"amount":"1990"}`, `{"amount":-9223372036854775808}`,
		`{"nope":1}`, `{"id":"a"}{"id":"b"}`, `{"id":"a"} x`, `{"id":"a"`, `{"metadata":{"a":1}}`, `{"ID":"case"}`,
		`{"score":1e400}`, `{"name":null,"amount":null}`, "{\"id\":\"\xff\"}", `{"id":"a","id":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		var v fuzzBody
		err := api.Decode(r, &v)
		if err != nil {
			e, ok := errors.AsType[*bursar.Error](err)
			if !ok || e.Code != bursar.Invalid || e.Message == "" {
				t.Fatalf("Decode(%q) = %#v, want an invalid *bursar.Error", body, err)
			}
			if strings.Contains(e.Message, "json:") || strings.Contains(e.Message, "Go ") {
				t.Errorf("Decode(%q) shows Go's text: %q", body, e.Message)
			}
			var top map[string]json.RawMessage
			_ = json.Unmarshal(body, &top)
			if _, sent := top[e.Param]; e.Param != "" && !fuzzFields[strings.ToLower(strings.SplitN(e.Param, ".", 2)[0])] && !sent {
				t.Errorf("Decode(%q) blames %q, neither a field nor a name sent", body, e.Param)
			}
			return
		}
		var top map[string]json.RawMessage
		if json.Unmarshal(body, &top) != nil || top == nil {
			t.Fatalf("Decode accepted %q, which is not one JSON object", body)
		}
		for k := range top {
			if !fuzzFields[strings.ToLower(k)] {
				t.Errorf("Decode accepted %q with the unknown field %q", body, k)
			}
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var w fuzzBody
		if err := api.Decode(httptest.NewRequest("POST", "/", bytes.NewReader(again)), &w); err != nil || !reflect.DeepEqual(v, w) {
			t.Errorf("Decode(%q) = %+v, which reads back from %s as %+v (%v)", body, v, again, w, err)
		}
	})
}

// fuzzStatuses is the documented status of each code (openapi.json).
var fuzzStatuses = map[string]int{"invalid": 400, "unauthenticated": 401, "forbidden": 403, "not_found": 404,
	"conflict": 409, "wrong_state": 409, "insufficient_funds": 402, "locked": 423, "rate_limited": 429,
	"unavailable": 503, "channel_failed": 502, "internal": 500}

// fuzzWorld is a marketplace to send requests to: a platform key, a buyer
// and a seller with tokens, an item and an order to pay.
type fuzzWorld struct {
	handler http.Handler
	routes  []string
	subst   map[string]string
	verify  func(t *testing.T)
	state   func(t *testing.T) []string // a line per table a refusal must leave alone
}

func newFuzzWorld(f *testing.F) *fuzzWorld {
	path := filepath.Join(f.TempDir(), "bursar.db")
	db, err := sqlite.Open(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		f.Fatal(err)
	}
	raw, err := sql.Open("sqlite", sqlite.DSN(path, true))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { raw.Close() })
	d := service.Deps{DB: db, Now: time.Now, Log: slog.New(slog.DiscardHandler),
		Pepper: []byte("a test pepper of at least 32 bytes!"), CommissionBPS: 1000}
	auth := service.NewAuth(d)
	srv := api.New(api.Deps{Log: d.Log, Auth: auth, Users: service.NewUsers(d), Items: service.NewItems(d),
		Orders: service.NewOrders(d), Wallets: service.NewWallets(d), Idempotency: service.NewIdempotency(d),
		Refunds: service.NewRefunds(d), Reviews: service.NewReviews(d), Entitlements: service.NewEntitlements(d),
		Withdrawals: service.NewWithdrawals(d), Notifications: service.NewNotifications(d), Webhooks: service.NewWebhooks(d),
		Recon: service.NewRecon(d), Ops: service.NewOps(d, 0), Ledger: service.NewLedger(d)})
	w := &fuzzWorld{handler: srv, subst: map[string]string{}, verify: func(t *testing.T) { dbtest.Verify(t, db) },
		state: tableState(f, raw)}
	for _, r := range srv.Routes() {
		switch r {
		case "GET /docs", "GET /openapi.json":
			continue // documents, not answers
		}
		w.routes = append(w.routes, r)
	}
	key, _, err := auth.CreatePlatformKey(context.Background(), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	w.subst["{key}"] = key
	call := func(method, path, token, body string) map[string]any {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var m map[string]any
		if rec.Code >= 300 || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
			f.Fatalf("%s %s = %d %s", method, path, rec.Code, rec.Body)
		}
		return m
	}
	for _, u := range []string{"buyer", "seller"} {
		call("POST", "/v1/users", key, `{"id":"`+u+`"}`)
		call("POST", "/v1/users/"+u+"/password", key, `{"kind":"payment","new_password":"246810"}`)
		call("POST", "/v1/users/"+u+"/password", key, `{"kind":"login","new_password":"a login password"}`)
		w.subst["{"+u+"}"] = call("POST", "/v1/users/"+u+"/tokens", key, `{"name":"fuzz"}`)["token"].(string)
	}
	call("POST", "/v1/users/buyer/wallet/adjustments", key, `{"amount":100000,"reason":"fuzz"}`)
	item := call("POST", "/v1/items", key, `{"seller_id":"seller","kind":"course","title":"Go","price":1990}`)
	w.subst["{item}"] = item["id"].(string)
	order := call("POST", "/v1/orders", w.subst["{buyer}"], `{"buyer_id":"buyer","item_id":"`+w.subst["{item}"]+`"}`)
	w.subst["{order}"] = order["id"].(string)
	return w
}

// refusalMayWrite are the tables a refused request may change: a wrong
// password counts against its secret. (An Idempotency-Key is forgotten when
// its request is refused, so that it can be fixed and sent again.)
var refusalMayWrite = map[string]bool{"secrets": true}

// tableState returns a reading of every other table: its row count and,
// per column, the total of its numbers or of its texts' lengths. Any
// insert, delete or update of a status, amount or time moves one of them.
func tableState(f *testing.F, raw *sql.DB) func(t *testing.T) []string {
	var selects []string
	for _, table := range queryRows(f, raw, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name`) {
		name := table[0]
		if refusalMayWrite[name] {
			continue
		}
		parts := []string{"count(*)"}
		for _, col := range queryRows(f, raw, `SELECT name, type FROM pragma_table_info(?)`, name) {
			if col[1] == "INTEGER" {
				parts = append(parts, "total("+col[0]+")")
			} else {
				parts = append(parts, "total(length("+col[0]+"))")
			}
		}
		selects = append(selects, fmt.Sprintf("SELECT '%s ' || %s FROM %s", name, strings.Join(parts, " || ' ' || "), name))
	}
	q := strings.Join(selects, " UNION ALL ")
	return func(t *testing.T) []string {
		var state []string
		for _, row := range queryRows(t, raw, q) {
			state = append(state, row[0])
		}
		return state
	}
}

// queryRows returns every row of q, each column as text.
func queryRows(tb testing.TB, raw *sql.DB, q string, args ...any) [][]string {
	tb.Helper()
	rows, err := raw.QueryContext(context.Background(), q, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		row := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func (w *fuzzWorld) expand(s string) string {
	for k, v := range w.subst {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// FuzzServer sends any request to any route: the route (by number), the
// path's {id}, the bearer token, an Idempotency-Key and the body.
// Placeholders such as {buyer} or {order} stand for the world's tokens
// and ids. The answer is never 5xx; a refusal is the error object with
// its code's status, a message and the request's ID.
func FuzzServer(f *testing.F) {
	w := newFuzzWorld(f)
	bodies := map[string][]string{
		"POST /v1/login":                         {`{"user_id":"buyer","password":"a login password"}`, `{"user_id":"buyer","password":"wrong"}`},
		"POST /v1/orders":                        {`{"item_id":"{item}"}`, `{"buyer_id":"buyer","seller_id":"seller","amount":1,"subject":"x"}`},
		"POST /v1/orders/{id}/pay":               {`{"method":"wallet","payment_password":"246810"}`, `{"method":"wallet","payment_password":"000000"}`},
		"POST /v1/users/{id}/password/verify":    {`{"kind":"payment","password":"246810"}`},
		"POST /v1/users/{id}/wallet/adjustments": {`{"amount":-1,"reason":"x"}`},
		"POST /v1/topups":                        {`{"user_id":"buyer","amount":100,"channel":"alipay"}`},
		"POST /v1/withdrawals":                   {`{"user_id":"seller","amount":100,"payment_password":"246810"}`},
		"POST /v1/webhook_endpoints":             {`{"url":"https://example.com/hook","events":["order.paid"]}`},
	}
	for i, r := range w.routes {
		id := "{order}"
		switch {
		case strings.Contains(r, "/users/"):
			id = "buyer"
		case strings.Contains(r, "/notify/"):
			id = "alipay"
		}
		f.Add(uint8(i), id, "{key}", "", []byte(`{}`))
		for _, b := range bodies[r] {
			f.Add(uint8(i), id, "{buyer}", "", []byte(b))
			f.Add(uint8(i), id, "{key}", "k1", []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, id, token, idemKey string, body []byte) {
		pattern := w.routes[int(route)%len(w.routes)]
		method, p, _ := strings.Cut(pattern, " ")
		p = strings.NewReplacer("{id}", url.PathEscape(w.expand(id)), "{channel}", url.PathEscape(w.expand(id)), "{$}", "").Replace(p)
		req := httptest.NewRequest(method, p, bytes.NewReader([]byte(w.expand(string(body)))))
		if tok := w.expand(token); tok != "" && !strings.ContainsAny(tok, "\r\n\x00") {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if idemKey != "" && !strings.ContainsAny(idemKey, "\r\n\x00") {
			req.Header.Set("Idempotency-Key", idemKey)
		}
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		before := w.state(t)
		w.handler.ServeHTTP(rec, req)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("%s %s\n%s\n→ %d %s\n%s", method, p, body, rec.Code, rec.Body, fmt.Sprintf(format, args...))
		}
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			fail("a 5xx answer")
		}
		// A channel's acknowledgement is in the channel's own format.
		ack := pattern == "POST /v1/notify/{channel}" && rec.Code < 300
		redirect := rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !redirect && !ack {
			fail("Content-Type %q", ct)
		}
		if rec.Code < 400 {
			w.verify(t)
			return
		}
		var e struct {
			Error struct {
				Type      string `json:"type"`
				Code      string `json:"code"`
				Message   string `json:"message"`
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		if err := dec.Decode(&e); err != nil || dec.More() {
			fail("not one JSON value: %v", err)
		}
		if want, ok := fuzzStatuses[e.Error.Code]; !ok || want != rec.Code {
			fail("code %q with status %d", e.Error.Code, rec.Code)
		}
		if e.Error.Type == "" || e.Error.Message == "" || e.Error.RequestID == "" || e.Error.RequestID != rec.Header().Get("Request-Id") {
			fail("an incomplete error object")
		}
		if after := w.state(t); !slices.Equal(before, after) {
			fail("a refusal changed the database:\nbefore %q\nafter  %q", before, after)
		}
		w.verify(t)
	})
}
