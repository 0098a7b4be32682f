package admin_test

// Fuzz tests of the console's outside input: FuzzSafeBack for the return
// address every form carries, FuzzForms for the sign-in form and an
// operator's action form, posted whole to a console on a real SQLite
// database. The rule they check: no answer is 5xx, every redirect stays
// in the console, and a refusal says why on the page it sends back to.
//
// Run one with, for example:
//
//	go test -run='^$' -fuzz='^FuzzForms$' -fuzztime=30s ./internal/admin/

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/admin"
	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store/dbtest"
)

var fuzzBacks = []string{"/admin/", "/admin/orders?status=paid", "/admin/users/buyer", "", "/", "//evil.example/admin/",
	"https://evil.example/admin/", "/admin/../x", "/admin/%2e%2e/x", "/admin/./", "/admin\\evil", "/admin/\r\nSet-Cookie: x",
	"/admin//evil.example", "/admin/?next=//evil", "/admin/%0d%0a", "/Admin/", "/admin/orders/../../x"}

// FuzzSafeBack checks the return address of any form: under the console,
// with no dot segments or line breaks, the same once made safe again, and
// resolved by a browser to the console's own host.
func FuzzSafeBack(f *testing.F) {
	for _, s := range fuzzBacks {
		f.Add(s)
	}
	base, _ := url.Parse("https://bursar.example/admin/orders")
	f.Fuzz(func(t *testing.T, s string) {
		got := admin.SafeBack(s)
		if got != s && got != admin.Prefix {
			t.Fatalf("SafeBack(%q) = %q: neither the input nor the console's home", s, got)
		}
		if admin.SafeBack(got) != got {
			t.Errorf("SafeBack(%q) = %q, which is not safe again", s, got)
		}
		if !strings.HasPrefix(got, admin.Prefix) || strings.ContainsAny(got, "\\\r\n") {
			t.Errorf("SafeBack(%q) = %q", s, got)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("SafeBack(%q) = %q, which does not parse: %v", s, got, err)
		}
		to := base.ResolveReference(u)
		if to.Host != base.Host || to.Scheme != base.Scheme || !strings.HasPrefix(to.Path, admin.Prefix) {
			t.Errorf("SafeBack(%q) = %q, which a browser follows to %s", s, got, to)
		}
		if p := u.Path; path.Clean(p) != strings.TrimSuffix(p, "/") && path.Clean(p)+"/" != p {
			t.Errorf("SafeBack(%q) = %q, with dot segments", s, got)
		}
	})
}

// FuzzForms posts any sign-in form, and any wallet adjustment form as a
// signed-in operator. Sign-in answers a redirect into the console or the
// form again with its reason; an action answers a redirect into the
// console saying what happened or why not. The ledger verifies after each.
func FuzzForms(f *testing.F) {
	ctx := context.Background()
	db := dbtest.Open(f, "sqlite")
	d := service.Deps{DB: db, Now: time.Now, Log: slog.New(slog.DiscardHandler), Pepper: []byte("a test pepper of at least 32 bytes!")}
	admins, users := service.NewAdmins(d), service.NewUsers(d)
	const password = "a long admin password"
	if _, err := admins.Create(ctx, "alice", password, bursar.AdminOperator); err != nil {
		f.Fatal(err)
	}
	_, key, err := service.NewAuth(d).CreatePlatformKey(ctx, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := users.Create(ctx, bursar.Actor{Credential: key.ID, Kind: bursar.CredentialPlatform}, service.UserInput{ID: "buyer"}); err != nil {
		f.Fatal(err)
	}
	session, _, err := admins.SignIn(ctx, "alice", password)
	if err != nil {
		f.Fatal(err)
	}
	srv := admin.New(admin.Deps{Log: d.Log, Admins: admins, Idempotency: service.NewIdempotency(d), Console: service.NewConsole(d),
		Users: users, Orders: service.NewOrders(d), Refunds: service.NewRefunds(d), Withdrawals: service.NewWithdrawals(d),
		Wallets: service.NewWallets(d), Recon: service.NewRecon(d), Webhooks: service.NewWebhooks(d)})

	for _, back := range fuzzBacks {
		f.Add(false, "alice", password, back, "", "")
		f.Add(true, "cash", "12.50", back, "a reason", "k1")
	}
	for _, a := range []string{"-3.00", "0", "1e3", "99999999999999999999", "12.345", " 1 ", "-0.00", "¥1", ""} {
		f.Add(true, "cash", a, "/admin/users/buyer", "fuzz", "")
		f.Add(true, "earnings", a, "/admin/users/buyer", "", "")
	}
	f.Add(false, "alice", "wrong", "/admin/", "", "")
	f.Add(false, "", "", "", "", "")
	f.Add(false, strings.Repeat("a", 20<<10), "x", "/admin/", "", "")

	f.Fuzz(func(t *testing.T, act bool, a, b, back, reason, key string) {
		var target string
		var form url.Values
		if act {
			target = "/admin/users/buyer/adjustments"
			form = url.Values{"account": {a}, "amount": {b}, "back": {back}, "reason": {reason}, "key": {key}}
		} else {
			target = "/admin/login"
			form = url.Values{"name": {a}, "password": {b}, "next": {back}}
		}
		req := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if act {
			req.AddCookie(&http.Cookie{Name: "__Host-bursar_admin", Value: session})
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		fail := func(what string) {
			t.Helper()
			t.Fatalf("POST %s %s\n→ %d %s\n%s", target, form.Encode(), rec.Code, rec.Header(), what)
		}
		switch rec.Code {
		case http.StatusSeeOther:
			loc := rec.Header().Get("Location")
			if admin.SafeBack(loc) != loc {
				fail("a redirect out of the console")
			}
			if act {
				q, err := url.Parse(loc)
				if err != nil || (q.Query().Get("ok") == "") == (q.Query().Get("error") == "") {
					fail("an action's redirect says neither what happened nor why not")
				}
			}
		case http.StatusUnauthorized, http.StatusLocked, http.StatusTooManyRequests:
			if act || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), `class="flash error"`) {
				fail("a refused sign-in is the form again with its reason")
			}
		default:
			fail("an unexpected status")
		}
		dbtest.Verify(t, db)
	})
}
