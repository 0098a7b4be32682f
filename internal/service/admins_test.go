package service_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

const adminPassword = "correct horse battery"

// withAdmins is setup with the console's use cases and an operator, alice.
func withAdmins(t *testing.T, db store.DB) (*bundle, *service.Admins, *service.Console) {
	t.Helper()
	b := setup(t, db)
	admins, console := service.NewAdmins(b.deps), service.NewConsole(b.deps)
	_, err := admins.Create(context.Background(), "alice", adminPassword, bursar.AdminOperator)
	must(t, err)
	return b, admins, console
}

// wantErr reports err unless its code is want.
func wantErr(t *testing.T, what string, err error, want bursar.Code) {
	t.Helper()
	if got := bursar.ErrorCode(err); got != want {
		t.Errorf("%s: %v (code %q), want code %q", what, err, got, want)
	}
}

// auditOf returns the actions recorded about subject, newest first, as
// "actor action".
func auditOf(t *testing.T, b *bundle, console *service.Console, subject string) []string {
	t.Helper()
	list, _, err := console.Audit(context.Background(), b.platform, bursar.AuditFilter{Subject: subject, Limit: 100})
	must(t, err)
	var out []string
	for _, e := range list {
		out = append(out, e.Actor+" "+e.Action)
	}
	return out
}

func TestAdminCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b, admins, console := withAdmins(t, db)
		tests := []struct {
			name, admin, password string
			role                  bursar.AdminRole
			param                 string // the field at fault; "" when it is created
		}{
			{"a viewer", "bob", adminPassword, bursar.AdminViewer, ""},
			{"a name with dots, dashes and underscores", "carol.w-2_x", adminPassword, bursar.AdminOperator, ""},
			{"a name of 64 characters", strings.Repeat("a", 64), adminPassword, bursar.AdminViewer, ""},
			{"a password of exactly 12 characters", "dave", "123456789012", bursar.AdminViewer, ""},
			{"a password of 12 Chinese characters", "erin", "一二三四五六七八九十甲乙", bursar.AdminViewer, ""},
			{"a password of 200 characters", "frank", strings.Repeat("p", 200), bursar.AdminViewer, ""},
			{"no name", "", adminPassword, bursar.AdminViewer, "name"},
			{"a name of 65 characters", strings.Repeat("a", 65), adminPassword, bursar.AdminViewer, "name"},
			{"a name with a space", "bob smith", adminPassword, bursar.AdminViewer, "name"},
			{"a name with a slash", "bob/x", adminPassword, bursar.AdminViewer, "name"},
			{"a name with a colon", "admin:bob", adminPassword, bursar.AdminViewer, "name"},
			{"a password of 11 characters", "gina", "12345678901", bursar.AdminViewer, "password"},
			{"a password of 11 Chinese characters", "gina", "一二三四五六七八九十甲", bursar.AdminViewer, "password"},
			{"a password of 201 characters", "gina", strings.Repeat("p", 201), bursar.AdminViewer, "password"},
			{"a password that is not UTF-8", "gina", "123456789012\xff", bursar.AdminViewer, "password"},
			{"no role", "gina", adminPassword, "", "role"},
			{"an unknown role", "gina", adminPassword, "admin", "role"},
			{"a role in capitals", "gina", adminPassword, "OPERATOR", "role"},
		}
		for _, tt := range tests {
			a, err := admins.Create(ctx, tt.admin, tt.password, tt.role)
			if tt.param == "" {
				if err != nil {
					t.Errorf("%s: Create: %v", tt.name, err)
					continue
				}
				if a.Name != tt.admin || a.Role != tt.role || a.FailedLogins != 0 || !a.LockedUntil.IsZero() ||
					!a.DisabledAt.IsZero() || !a.CreatedAt.Equal(b.clock.Now()) {
					t.Errorf("%s: Create = %+v", tt.name, a)
				}
				if a.PasswordHash == "" || strings.Contains(a.PasswordHash, tt.password) {
					t.Errorf("%s: the password is not hashed: %q", tt.name, a.PasswordHash)
				}
				continue
			}
			var e *bursar.Error
			if !errors.As(err, &e) || e.Code != bursar.Invalid || e.Param != tt.param {
				t.Errorf("%s: Create: %v, want invalid %s", tt.name, err, tt.param)
			}
		}

		_, err := admins.Create(ctx, "alice", "another password", bursar.AdminViewer)
		wantErr(t, "Create with a taken name", err, bursar.Conflict)
		list, err := admins.List(ctx)
		must(t, err)
		var names []string
		for _, a := range list {
			names = append(names, a.Name+":"+string(a.Role))
		}
		want := strings.Repeat("a", 64) + ":viewer alice:operator bob:viewer carol.w-2_x:operator dave:viewer erin:viewer frank:viewer"
		if got := strings.Join(names, " "); got != want {
			t.Errorf("List = %s\nwant %s", got, want)
		}
		// The refused ones left nothing behind, and the taken name kept its role.
		if _, _, err := admins.SignIn(ctx, "alice", "another password"); bursar.ErrorCode(err) != bursar.Forbidden {
			t.Errorf("the conflicting Create changed alice's password: %v", err)
		}
		if got := auditOf(t, b, console, "admin:bob"); strings.Join(got, ",") != "platform:cli admin.create" {
			t.Errorf("bob's audit = %q, want one platform:cli admin.create", got)
		}
		entries, _, err := console.Audit(ctx, b.platform, bursar.AuditFilter{Subject: "admin:bob", Limit: 1})
		must(t, err)
		if len(entries) != 1 || entries[0].Detail != "viewer" || !entries[0].At.Equal(b.clock.Now()) {
			t.Errorf("bob's creation is recorded as %+v, want the role at the clock's time", entries)
		}
		if got := auditOf(t, b, console, "admin:gina"); len(got) != 0 {
			t.Errorf("refused creations were recorded: %q", got)
		}
	})
}

func TestAdminSignIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b, admins, console := withAdmins(t, db)

		token, a, err := admins.SignIn(ctx, "alice", adminPassword)
		must(t, err)
		if a.Name != "alice" || a.Role != bursar.AdminOperator || !strings.HasPrefix(token, "as_") || len(token) < 20 {
			t.Errorf("SignIn = %q, %+v", token, a)
		}
		got, actor, err := admins.Session(ctx, token)
		must(t, err)
		if got.Name != "alice" || actor != service.AdminActor(got) {
			t.Errorf("Session = %+v, %+v", got, actor)
		}
		if !actor.IsPlatform() || actor.Admin != "alice" || actor.Credential != "console" {
			t.Errorf("the console acts as %+v, want the platform named alice", actor)
		}
		token2, _, err := admins.SignIn(ctx, "alice", adminPassword)
		must(t, err)
		if token2 == token {
			t.Error("two sign-ins gave the same token")
		}

		wrongPassword := func() error { _, _, err := admins.SignIn(ctx, "alice", "wrong password!"); return err }
		_, _, wrongName := admins.SignIn(ctx, "mallory", adminPassword)
		wantErr(t, "SignIn with a wrong name", wrongName, bursar.Forbidden)
		wrong := wrongPassword()
		wantErr(t, "SignIn with a wrong password", wrong, bursar.Forbidden)
		if bursar.ErrorMessage(wrong) != bursar.ErrorMessage(wrongName) {
			t.Errorf("a wrong name says %q and a wrong password %q; they must be the same",
				bursar.ErrorMessage(wrongName), bursar.ErrorMessage(wrong))
		}
		for _, tc := range []struct{ name, password string }{{"", ""}, {"alice", ""}, {"ALICE", adminPassword}, {"alice ", adminPassword}} {
			_, _, err := admins.SignIn(ctx, tc.name, tc.password)
			wantErr(t, "SignIn("+tc.name+", "+tc.password+")", err, bursar.Forbidden)
		}

		want := []string{"system admin.sign_in_failed", "system admin.sign_in_failed", "admin:alice admin.sign_in",
			"admin:alice admin.sign_in", "platform:cli admin.create"}
		if got := auditOf(t, b, console, "admin:alice"); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("alice's audit, newest first = %q\nwant %q", got, want)
		}
		if got := auditOf(t, b, console, "admin:mallory"); len(got) != 0 {
			t.Errorf("a name that is no admin's was recorded: %q", got)
		}
	})
}

func TestAdminLockout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b, admins, _ := withAdmins(t, db)
		signIn := func(password string) error { _, _, err := admins.SignIn(ctx, "alice", password); return err }
		failed := func() int {
			t.Helper()
			list, err := admins.List(ctx)
			must(t, err)
			return list[0].FailedLogins
		}

		// A right password resets the count: four wrong, one right and
		// four wrong again lock nothing.
		for range bursar.MaxWrongTries - 1 {
			wantErr(t, "a wrong password", signIn("wrong password!"), bursar.Forbidden)
		}
		if got := failed(); got != bursar.MaxWrongTries-1 {
			t.Errorf("FailedLogins = %d after %d wrong, want %d", got, bursar.MaxWrongTries-1, bursar.MaxWrongTries-1)
		}
		must(t, signIn(adminPassword))
		if got := failed(); got != 0 {
			t.Errorf("FailedLogins = %d after a right password, want 0", got)
		}
		for i := range bursar.MaxWrongTries - 1 {
			b.clock.Advance(time.Minute)
			if err := signIn("wrong password!"); bursar.ErrorCode(err) != bursar.Forbidden {
				t.Errorf("wrong password %d after a right one: %v, want forbidden", i+1, err)
			}
		}

		// The fifth wrong in a row locks, and says so.
		lockedAt := b.clock.Now()
		wantErr(t, "the fifth wrong password in a row", signIn("wrong password!"), bursar.Locked)
		for _, pw := range []string{adminPassword, "wrong password!"} {
			wantErr(t, "SignIn during the lock", signIn(pw), bursar.Locked)
		}
		b.clock.Advance(bursar.LockoutPeriod - time.Millisecond)
		wantErr(t, "the right password a millisecond before the lock ends", signIn(adminPassword), bursar.Locked)
		b.clock.Advance(time.Millisecond)
		if !b.clock.Now().Equal(lockedAt.Add(bursar.LockoutPeriod)) {
			t.Fatalf("clock at %v", b.clock.Now())
		}
		if err := signIn(adminPassword); err != nil {
			t.Errorf("the right password once the lock ended: %v", err)
		}
		if list, _ := admins.List(ctx); list[0].FailedLogins != 0 || !list[0].LockedUntil.IsZero() {
			t.Errorf("after signing in the admin is %+v, want no failures and no lock", list[0])
		}

		// After a lock that ended unused, the count starts again from zero.
		for range bursar.MaxWrongTries - 1 {
			_ = signIn("wrong password!")
		}
		b.clock.Advance(time.Hour)
		if err := signIn(adminPassword); err != nil {
			t.Errorf("the right password after four wrong: %v", err)
		}
	})
}

func TestAdminLockoutInParallel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		_, admins, _ := withAdmins(t, db)
		const n = 2 * bursar.MaxWrongTries
		var mu sync.Mutex
		count := map[bursar.Code]int{}
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				_, _, err := admins.SignIn(ctx, "alice", "wrong password!")
				mu.Lock()
				count[bursar.ErrorCode(err)]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if count[bursar.Forbidden]+count[bursar.Locked] != n {
			t.Errorf("answers to %d parallel wrong passwords: %v", n, count)
		}
		// However they raced, no try was lost: the account is locked.
		_, _, err := admins.SignIn(ctx, "alice", adminPassword)
		wantErr(t, "the right password after parallel wrong ones", err, bursar.Locked)
	})
}

func TestAdminDisabled(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b, admins, console := withAdmins(t, db)
		token, _, err := admins.SignIn(ctx, "alice", adminPassword)
		must(t, err)

		a, err := admins.SetDisabled(ctx, "alice", true)
		must(t, err)
		if !a.DisabledAt.Equal(b.clock.Now()) {
			t.Errorf("SetDisabled = %+v, want disabled now", a)
		}
		_, _, err = admins.Session(ctx, token)
		wantErr(t, "the session of a disabled admin", err, bursar.Unauthenticated)
		_, _, err = admins.SignIn(ctx, "alice", adminPassword)
		wantErr(t, "a disabled admin's right password", err, bursar.Forbidden)
		_, _, wrong := admins.SignIn(ctx, "alice", "wrong password!")
		if bursar.ErrorMessage(err) != bursar.ErrorMessage(wrong) {
			t.Errorf("a disabled admin is told %q, a wrong password %q; they must be the same",
				bursar.ErrorMessage(err), bursar.ErrorMessage(wrong))
		}
		_, err = admins.SetDisabled(ctx, "nobody", true)
		wantErr(t, "SetDisabled of no admin", err, bursar.NotFound)

		a, err = admins.SetDisabled(ctx, "alice", false)
		must(t, err)
		if !a.DisabledAt.IsZero() {
			t.Errorf("SetDisabled(false) = %+v, want enabled", a)
		}
		if _, _, err := admins.SignIn(ctx, "alice", adminPassword); err != nil {
			t.Errorf("sign in once enabled again: %v", err)
		}
		got := auditOf(t, b, console, "admin:alice")
		want := []string{"admin:alice admin.sign_in", "platform:cli admin.enable", "system admin.sign_in_failed",
			"system admin.sign_in_refused", "platform:cli admin.disable", "admin:alice admin.sign_in", "platform:cli admin.create"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("alice's audit, newest first = %q\nwant %q", got, want)
		}
	})
}

func TestAdminSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b, admins, _ := withAdmins(t, db)
		token, _, err := admins.SignIn(ctx, "alice", adminPassword)
		must(t, err)
		other, _, err := admins.SignIn(ctx, "alice", adminPassword)
		must(t, err)

		for _, bad := range []string{"", "as_", "as_NOTATOKEN", strings.ToLower(token), token + "x"} {
			_, _, err := admins.Session(ctx, bad)
			wantErr(t, "Session("+bad+")", err, bursar.Unauthenticated)
		}

		b.clock.Advance(service.SessionTTL - time.Millisecond)
		if _, _, err := admins.Session(ctx, token); err != nil {
			t.Errorf("a session a millisecond before it expires: %v", err)
		}
		b.clock.Advance(time.Millisecond)
		_, _, err = admins.Session(ctx, token)
		wantErr(t, "a session at its expiry", err, bursar.Unauthenticated)

		// A new sign-in sweeps the expired ones; the new one works.
		fresh, _, err := admins.SignIn(ctx, "alice", adminPassword)
		must(t, err)
		for _, tok := range []string{token, other} {
			_, _, err = admins.Session(ctx, tok)
			wantErr(t, "an expired session after a sweep", err, bursar.Unauthenticated)
		}

		// Signing out ends that session only, and twice is harmless.
		another, _, err := admins.SignIn(ctx, "alice", adminPassword)
		must(t, err)
		for range 2 {
			must(t, admins.SignOut(ctx, fresh))
		}
		_, _, err = admins.Session(ctx, fresh)
		wantErr(t, "a session after SignOut", err, bursar.Unauthenticated)
		if _, _, err := admins.Session(ctx, another); err != nil {
			t.Errorf("another session after one signed out: %v", err)
		}
		must(t, admins.SignOut(ctx, "as_NOTATOKEN"))
	})
}
