package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// newAdmin is an operator created at t0 who never failed to sign in.
func newAdmin(name string) bursar.Admin {
	return bursar.Admin{Name: name, Role: bursar.AdminOperator, PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA",
		CreatedAt: t0}
}

// mustAdmins stores admins in one transaction.
func mustAdmins(t testing.TB, db store.DB, as ...bursar.Admin) {
	t.Helper()
	mustWrite(t, db, func(tx store.Tx) error {
		for _, a := range as {
			if err := tx.AdminInsert(context.Background(), a); err != nil {
				return err
			}
		}
		return nil
	})
}

func getAdmin(t testing.TB, db store.DB, name string) bursar.Admin {
	t.Helper()
	a, err := readTx(db, func(tx store.Tx) (bursar.Admin, error) { return tx.AdminGet(context.Background(), name) })
	if err != nil {
		t.Fatalf("AdminGet(%s): %v", name, err)
	}
	return a
}

func adminTimes(a bursar.Admin) []time.Time {
	return []time.Time{a.LockedUntil, a.CreatedAt, a.DisabledAt}
}

// testAdmin covers the console's storage: admins, their sessions, and the
// read models of its pages (the audit log, the refund queue, the dashboard).
func testAdmin(t *testing.T, h Harness) {
	t.Run("admins", func(t *testing.T) { testAdmins(t, h) })
	t.Run("sessions", func(t *testing.T) { testAdminSessions(t, h) })
	t.Run("audit list", func(t *testing.T) { testAuditList(t, h) })
	t.Run("refund queue", func(t *testing.T) { testRefundQueue(t, h) })
	t.Run("dashboard", func(t *testing.T) { testDashboard(t, h) })
}

func testAdmins(t *testing.T, h Harness) {
	ctx := context.Background()

	// full sets every field, each time in China Standard Time; bare leaves
	// the optional times zero.
	full := bursar.Admin{Name: "alice.w-1_x", Role: bursar.AdminViewer, PasswordHash: "$argon2id$full", FailedLogins: 4,
		LockedUntil: t0.Add(15 * time.Minute).In(cst), CreatedAt: t0.In(cst), DisabledAt: t0.Add(time.Hour).In(cst)}
	bare := newAdmin("bob")

	t.Run("admins read back as stored, in UTC", func(t *testing.T) {
		db := h.Open(t)
		mustAdmins(t, db, full, bare)
		for _, a := range []bursar.Admin{full, bare} {
			gets := map[string]func(tx store.Tx) (bursar.Admin, error){
				"AdminGet":          func(tx store.Tx) (bursar.Admin, error) { return tx.AdminGet(ctx, a.Name) },
				"AdminGetForUpdate": func(tx store.Tx) (bursar.Admin, error) { return tx.AdminGetForUpdate(ctx, a.Name) },
			}
			for name, get := range gets {
				got, err := writeTx(db, get)
				if err != nil {
					t.Fatalf("%s(%s): %v", name, a.Name, err)
				}
				if diff := cmp.Diff(a, got); diff != "" {
					t.Errorf("%s(%s) mismatch (-want +got):\n%s", name, a.Name, diff)
				}
				checkUTC(t, name, adminTimes(got)...)
			}
		}
		const q = `SELECT count(*) FROM admins WHERE name = 'bob' AND locked_until IS NULL AND disabled_at IS NULL
			AND failed_logins = 0`
		if n := h.Count(t, db, q); n != 1 {
			t.Errorf("the bare admin is not stored with NULL lock and disabled times")
		}
	})

	t.Run("an update stores role, hash, failures, lock and disabled time only", func(t *testing.T) {
		db := h.Open(t)
		mustAdmins(t, db, full, bare)
		a := bare
		a.Role, a.PasswordHash, a.FailedLogins = bursar.AdminViewer, "$argon2id$new", 3
		a.LockedUntil, a.DisabledAt = t0.Add(time.Hour).In(cst), t0.Add(2*time.Hour)
		want := a
		a.CreatedAt = t0.Add(24 * time.Hour) // not mutable: ignored
		mustWrite(t, db, func(tx store.Tx) error { return tx.AdminUpdate(ctx, a) })
		got := getAdmin(t, db, "bob")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("AdminGet after AdminUpdate mismatch (-want +got):\n%s", diff)
		}
		checkUTC(t, "AdminGet", adminTimes(got)...)

		// Clearing the lock and the disabled time stores NULLs again.
		cleared := full
		cleared.FailedLogins, cleared.LockedUntil, cleared.DisabledAt = 0, time.Time{}, time.Time{}
		mustWrite(t, db, func(tx store.Tx) error { return tx.AdminUpdate(ctx, cleared) })
		if diff := cmp.Diff(cleared, getAdmin(t, db, full.Name)); diff != "" {
			t.Errorf("AdminGet after clearing the lock mismatch (-want +got):\n%s", diff)
		}
		const q = `SELECT count(*) FROM admins WHERE name = 'alice.w-1_x' AND locked_until IS NULL AND disabled_at IS NULL`
		if n := h.Count(t, db, q); n != 1 {
			t.Errorf("a cleared lock or disabled time is not stored as NULL")
		}
		if diff := cmp.Diff(want, getAdmin(t, db, "bob")); diff != "" {
			t.Errorf("updating one admin changed another (-want +got):\n%s", diff)
		}
	})

	fails := []struct {
		name string
		fn   func(tx store.Tx) error
		code bursar.Code
	}{
		{"a taken name is a conflict", func(tx store.Tx) error {
			a := newAdmin("bob")
			a.Role = bursar.AdminViewer
			return tx.AdminInsert(ctx, a)
		}, bursar.Conflict},
		{"a missing admin is not found", func(tx store.Tx) error {
			_, err := tx.AdminGet(ctx, "nobody")
			return err
		}, bursar.NotFound},
		{"locking a missing admin is not found", func(tx store.Tx) error {
			_, err := tx.AdminGetForUpdate(ctx, "nobody")
			return err
		}, bursar.NotFound},
		{"names are case-sensitive", func(tx store.Tx) error {
			_, err := tx.AdminGet(ctx, "BOB")
			return err
		}, bursar.NotFound},
		{"an update of a missing admin is not found", func(tx store.Tx) error {
			a := newAdmin("nobody")
			a.FailedLogins = 1
			return tx.AdminUpdate(ctx, a)
		}, bursar.NotFound},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			mustAdmins(t, db, newAdmin("bob"))
			wantCode(t, tt.name, db.InTx(ctx, tt.fn), tt.code)
			if diff := cmp.Diff(newAdmin("bob"), getAdmin(t, db, "bob")); diff != "" {
				t.Errorf("after a failed call the admin changed (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("the database refuses a role that is not viewer or operator", func(t *testing.T) {
		db := h.Open(t)
		a := newAdmin("carol")
		a.Role = "root"
		if err := db.InTx(ctx, func(tx store.Tx) error { return tx.AdminInsert(ctx, a) }); err == nil {
			t.Errorf("AdminInsert with role %q succeeded", a.Role)
		}
	})

	t.Run("admins are listed by name", func(t *testing.T) {
		db := h.Open(t)
		got, err := readTx(db, func(tx store.Tx) ([]bursar.Admin, error) { return tx.AdminList(ctx) })
		if err != nil || len(got) != 0 {
			t.Fatalf("AdminList of none = %v, %v; want none", got, err)
		}
		mustAdmins(t, db, newAdmin("carol"), full, newAdmin("bob"))
		got, err = readTx(db, func(tx store.Tx) ([]bursar.Admin, error) { return tx.AdminList(ctx) })
		if err != nil {
			t.Fatalf("AdminList: %v", err)
		}
		if diff := cmp.Diff([]bursar.Admin{full, newAdmin("bob"), newAdmin("carol")}, got); diff != "" {
			t.Errorf("AdminList mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("parallel sign-ins counted under the lock lose no count", func(t *testing.T) {
		db := h.Open(t)
		mustAdmins(t, db, newAdmin("bob"))
		const n = 12
		atOnce(n, func(int) {
			err := db.InTx(ctx, func(tx store.Tx) error {
				a, err := tx.AdminGetForUpdate(ctx, "bob")
				if err != nil {
					return err
				}
				a.FailedLogins++
				return tx.AdminUpdate(ctx, a)
			})
			if err != nil {
				t.Errorf("count a failed sign-in: %v", err)
			}
		})
		if got := getAdmin(t, db, "bob").FailedLogins; got != n {
			t.Errorf("FailedLogins = %d after %d counted in parallel, want %d", got, n, n)
		}
	})
}

func testAdminSessions(t *testing.T, h Harness) {
	ctx := context.Background()
	session := func(hash, admin string, created time.Time, ttl time.Duration) bursar.AdminSession {
		return bursar.AdminSession{Hash: hash, Admin: admin, CreatedAt: created, ExpiresAt: created.Add(ttl)}
	}
	get := func(db store.DB, hash string) (bursar.AdminSession, error) {
		return readTx(db, func(tx store.Tx) (bursar.AdminSession, error) { return tx.AdminSessionGet(ctx, hash) })
	}
	insert := func(db store.DB, s bursar.AdminSession) error {
		return db.InTx(ctx, func(tx store.Tx) error { return tx.AdminSessionInsert(ctx, s) })
	}

	t.Run("a session reads back as stored, in UTC", func(t *testing.T) {
		db := h.Open(t)
		mustAdmins(t, db, newAdmin("bob"))
		s := session("h1", "bob", t0.In(cst), 12*time.Hour)
		if err := insert(db, s); err != nil {
			t.Fatalf("AdminSessionInsert: %v", err)
		}
		got, err := get(db, "h1")
		if err != nil {
			t.Fatalf("AdminSessionGet: %v", err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("AdminSessionGet mismatch (-want +got):\n%s", diff)
		}
		checkUTC(t, "AdminSessionGet", got.CreatedAt, got.ExpiresAt)
		_, err = get(db, "H1")
		wantCode(t, "AdminSessionGet of another hash", err, bursar.NotFound)
	})

	t.Run("a missing session is not found", func(t *testing.T) {
		db := h.Open(t)
		_, err := get(db, "nope")
		wantCode(t, "AdminSessionGet", err, bursar.NotFound)
	})

	t.Run("a session of a missing admin is refused", func(t *testing.T) {
		db := h.Open(t)
		err := insert(db, session("h1", "nobody", t0, time.Hour))
		wantCode(t, "AdminSessionInsert", err, bursar.NotFound)
	})

	t.Run("a taken hash is a conflict", func(t *testing.T) {
		db := h.Open(t)
		mustAdmins(t, db, newAdmin("bob"), newAdmin("carol"))
		if err := insert(db, session("h1", "bob", t0, time.Hour)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "AdminSessionInsert", insert(db, session("h1", "carol", t0, time.Hour)), bursar.Conflict)
		if got, err := get(db, "h1"); err != nil || got.Admin != "bob" {
			t.Errorf("after the conflict the session is %+v, %v; want bob's", got, err)
		}
	})

	t.Run("a get does not check expiry", func(t *testing.T) {
		db := h.Open(t)
		mustAdmins(t, db, newAdmin("bob"))
		s := session("old", "bob", t0.Add(-48*time.Hour), time.Hour)
		if err := insert(db, s); err != nil {
			t.Fatal(err)
		}
		if got, err := get(db, "old"); err != nil || !got.ExpiresAt.Equal(s.ExpiresAt) {
			t.Errorf("AdminSessionGet of an expired session = %+v, %v; want it", got, err)
		}
	})

	t.Run("an insert sweeps the sessions expired at its creation", func(t *testing.T) {
		db := h.Open(t)
		mustAdmins(t, db, newAdmin("bob"), newAdmin("carol"))
		// Every one is written three hours before t0, when none has ended
		// yet, so only the insert at t0 sweeps.
		early := t0.Add(-3 * time.Hour)
		before := []bursar.AdminSession{
			session("expired", "bob", early, 2*time.Hour),                               // ended an hour before t0
			session("other_zone", "carol", early.In(cst), 3*time.Hour-time.Millisecond), // ended 1 ms before t0
			session("at_creation", "carol", early, 3*time.Hour),                         // ends exactly at t0
			session("live", "bob", early, 3*time.Hour+time.Millisecond),                 // ends 1 ms after t0
			session("later", "carol", early, 12*time.Hour),                              // ends long after
		}
		for _, s := range before {
			if err := insert(db, s); err != nil {
				t.Fatalf("AdminSessionInsert(%s): %v", s.Hash, err)
			}
		}
		if n := h.Count(t, db, `SELECT count(*) FROM admin_sessions`); n != 5 {
			t.Fatalf("%d sessions stored before the sweep, want 5", n)
		}
		if err := insert(db, session("new", "bob", t0.In(cst), 12*time.Hour)); err != nil {
			t.Fatalf("AdminSessionInsert(new): %v", err)
		}
		want := map[string]bool{"expired": false, "at_creation": false, "other_zone": false,
			"live": true, "later": true, "new": true}
		for hash, kept := range want {
			_, err := get(db, hash)
			switch {
			case kept && err != nil:
				t.Errorf("session %s: %v, want it kept", hash, err)
			case !kept && bursar.ErrorCode(err) != bursar.NotFound:
				t.Errorf("session %s: %v, want it swept (not found)", hash, err)
			}
		}
		if n := h.Count(t, db, `SELECT count(*) FROM admin_sessions`); n != 3 {
			t.Errorf("%d sessions stored after the sweep, want 3", n)
		}
	})

	t.Run("a delete removes one session, and a missing one is no error", func(t *testing.T) {
		db := h.Open(t)
		mustAdmins(t, db, newAdmin("bob"))
		for _, hash := range []string{"h1", "h2"} {
			if err := insert(db, session(hash, "bob", t0, time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 { // the second time there is nothing to delete
			if err := db.InTx(ctx, func(tx store.Tx) error { return tx.AdminSessionDelete(ctx, "h1") }); err != nil {
				t.Fatalf("AdminSessionDelete(h1): %v", err)
			}
		}
		_, err := get(db, "h1")
		wantCode(t, "AdminSessionGet after the delete", err, bursar.NotFound)
		if _, err := get(db, "h2"); err != nil {
			t.Errorf("the other session: %v", err)
		}
	})

	t.Run("ending an admin's sessions leaves other admins' alone", func(t *testing.T) {
		db := h.Open(t)
		mustAdmins(t, db, newAdmin("bob"), newAdmin("eve"))
		for _, s := range []bursar.AdminSession{session("b1", "bob", t0, time.Hour), session("b2", "bob", t0, time.Hour),
			session("e1", "eve", t0, time.Hour)} {
			if err := insert(db, s); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.InTx(ctx, func(tx store.Tx) error { return tx.AdminSessionsEnd(ctx, "bob") }); err != nil {
			t.Fatalf("AdminSessionsEnd(bob): %v", err)
		}
		for _, hash := range []string{"b1", "b2"} {
			_, err := get(db, hash)
			wantCode(t, "bob's session "+hash+" after the end", err, bursar.NotFound)
		}
		if _, err := get(db, "e1"); err != nil {
			t.Errorf("eve's session: %v", err)
		}
	})
}

func testAuditList(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	// Seven entries: ord_1 gets the 1st, 3rd, 5th and 7th; times go
	// backwards, so only the ID can give the order.
	var written []bursar.AuditEntry
	for i := range 7 {
		subject := "ord_1"
		if i%2 == 1 {
			subject = fmt.Sprint("usr_", i)
		}
		a := bursar.AuditEntry{Actor: "admin:alice", Action: fmt.Sprint("action.", i), Subject: subject,
			Detail: fmt.Sprintf(`{"n":%d,"note":"备注 <b>"}`, i), At: t0.Add(-time.Duration(i) * time.Minute).In(cst)}
		mustWrite(t, db, func(tx store.Tx) error { return tx.AuditInsert(ctx, a) })
		written = append(written, a)
	}
	list := func(t *testing.T, f bursar.AuditFilter) ([]bursar.AuditEntry, bool) {
		t.Helper()
		type page struct {
			list []bursar.AuditEntry
			more bool
		}
		p, err := readTx(db, func(tx store.Tx) (page, error) {
			l, more, err := tx.AuditList(ctx, f)
			return page{l, more}, err
		})
		if err != nil {
			t.Fatalf("AuditList(%+v): %v", f, err)
		}
		return p.list, p.more
	}
	actions := func(es []bursar.AuditEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Action)
		}
		return out
	}

	t.Run("entries read back as written, newest first, in UTC", func(t *testing.T) {
		got, more := list(t, bursar.AuditFilter{Limit: 100})
		if more || len(got) != len(written) {
			t.Fatalf("AuditList = %d entries, more %v; want %d, false", len(got), more, len(written))
		}
		for i, e := range got {
			w := written[len(written)-1-i]
			w.ID = e.ID
			w.At = w.At.UTC()
			if diff := cmp.Diff(w, e); diff != "" {
				t.Errorf("entry %d mismatch (-want +got):\n%s", i, diff)
			}
			checkUTC(t, "AuditList", e.At)
			if i > 0 && e.ID >= got[i-1].ID {
				t.Errorf("entry %d has ID %d, not below the one before (%d)", i, e.ID, got[i-1].ID)
			}
		}
	})

	all, _ := list(t, bursar.AuditFilter{Limit: 100})
	tests := []struct {
		name string
		f    bursar.AuditFilter
		want []string
		more bool
	}{
		{"a limit takes the newest and says there are more", bursar.AuditFilter{Limit: 3},
			[]string{"action.6", "action.5", "action.4"}, true},
		{"a limit of exactly all says there are no more", bursar.AuditFilter{Limit: 7},
			[]string{"action.6", "action.5", "action.4", "action.3", "action.2", "action.1", "action.0"}, false},
		{"a subject's entries only", bursar.AuditFilter{Subject: "ord_1", Limit: 10},
			[]string{"action.6", "action.4", "action.2", "action.0"}, false},
		{"a subject's entries, a page", bursar.AuditFilter{Subject: "ord_1", Limit: 2},
			[]string{"action.6", "action.4"}, true},
		{"a cursor takes the older ones", bursar.AuditFilter{Before: all[2].ID, Limit: 2},
			[]string{"action.3", "action.2"}, true},
		{"a cursor with a subject", bursar.AuditFilter{Subject: "ord_1", Before: all[2].ID, Limit: 2},
			[]string{"action.2", "action.0"}, false},
		{"the last page", bursar.AuditFilter{Before: all[5].ID, Limit: 5}, []string{"action.0"}, false},
		{"past the oldest there are none", bursar.AuditFilter{Before: all[6].ID, Limit: 5}, nil, false},
		{"a subject with none", bursar.AuditFilter{Subject: "ord_2", Limit: 5}, nil, false},
		{"a subject matches exactly, not as a prefix", bursar.AuditFilter{Subject: "ord_", Limit: 5}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more := list(t, tt.f)
			if diff := cmp.Diff(tt.want, actions(got)); diff != "" {
				t.Errorf("AuditList(%+v) mismatch (-want +got):\n%s", tt.f, diff)
			}
			if more != tt.more {
				t.Errorf("AuditList(%+v) more = %v, want %v", tt.f, more, tt.more)
			}
		})
	}

	t.Run("paging by cursor visits every entry once", func(t *testing.T) {
		var seen []string
		f := bursar.AuditFilter{Limit: 2}
		for range 10 {
			page, more := list(t, f)
			seen = append(seen, actions(page)...)
			if !more {
				break
			}
			f.Before = page[len(page)-1].ID
		}
		if diff := cmp.Diff(actions(all), seen); diff != "" {
			t.Errorf("paged AuditList mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("a limit below 1 is invalid", func(t *testing.T) {
		for _, limit := range []int{0, -1} {
			_, err := readTx(db, func(tx store.Tx) ([]bursar.AuditEntry, error) {
				l, _, err := tx.AuditList(ctx, bursar.AuditFilter{Limit: limit})
				return l, err
			})
			wantCode(t, fmt.Sprint("AuditList with limit ", limit), err, bursar.Invalid)
		}
	})
}

func testRefundQueue(t *testing.T, h Harness) {
	ctx := context.Background()
	at := func(r bursar.Refund, minute int) bursar.Refund {
		r.CreatedAt = t0.Add(time.Duration(minute) * time.Minute)
		return r
	}
	processing := func(r bursar.Refund) bursar.Refund {
		r = decide(r, bursar.RefundProcessing, t0.Add(time.Hour))
		r.ChannelRefundNo = string(r.ID) + "-1"
		return r
	}
	db := h.Open(t)
	// rfd_b and rfd_a share a creation time, so the ID decides.
	rs := []bursar.Refund{
		at(openRefund("rfd_d", "ord_4"), 3),
		at(processing(openRefund("rfd_b", "ord_2")), 2),
		at(openRefund("rfd_a", "ord_1"), 2),
		inCST(at(openRefund("rfd_c", "ord_3"), 1)),
		at(decide(openRefund("rfd_rejected", "ord_1"), bursar.RefundRejected, t0.Add(time.Hour)), 0),
		at(decide(openRefund("rfd_succeeded", "ord_2"), bursar.RefundSucceeded, t0.Add(time.Hour)), 0),
	}
	mustRefunds(t, db, rs...)
	queue := func(t *testing.T, limit int) []bursar.Refund {
		t.Helper()
		got, err := readTx(db, func(tx store.Tx) ([]bursar.Refund, error) { return tx.RefundQueue(ctx, limit) })
		if err != nil {
			t.Fatalf("RefundQueue(%d): %v", limit, err)
		}
		return got
	}

	t.Run("only open refunds, oldest first, as stored", func(t *testing.T) {
		got := queue(t, 100)
		if diff := cmp.Diff([]bursar.RefundID{"rfd_c", "rfd_a", "rfd_b", "rfd_d"}, refundIDs(got)); diff != "" {
			t.Errorf("RefundQueue order (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]bursar.Refund{rs[3], rs[2], rs[1], rs[0]}, got); diff != "" {
			t.Errorf("RefundQueue mismatch (-want +got):\n%s", diff)
		}
		for _, r := range got {
			checkUTC(t, "RefundQueue", r.CreatedAt, r.DecidedAt)
		}
	})

	t.Run("a limit takes the oldest", func(t *testing.T) {
		if diff := cmp.Diff([]bursar.RefundID{"rfd_c", "rfd_a"}, refundIDs(queue(t, 2))); diff != "" {
			t.Errorf("RefundQueue(2) mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]bursar.RefundID{"rfd_c"}, refundIDs(queue(t, 1))); diff != "" {
			t.Errorf("RefundQueue(1) mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("a refund leaves the queue when decided", func(t *testing.T) {
		db := h.Open(t)
		mustRefunds(t, db, openRefund("rfd_1", "ord_1"))
		mustWrite(t, db, func(tx store.Tx) error {
			return tx.RefundUpdate(ctx, decide(openRefund("rfd_1", "ord_1"), bursar.RefundRejected, t0), bursar.RefundRequested)
		})
		got, err := readTx(db, func(tx store.Tx) ([]bursar.Refund, error) { return tx.RefundQueue(ctx, 10) })
		if err != nil || len(got) != 0 {
			t.Errorf("RefundQueue after the decision = %v, %v; want none", refundIDs(got), err)
		}
	})

	t.Run("a limit below 1 is invalid", func(t *testing.T) {
		for _, limit := range []int{0, -1} {
			_, err := readTx(db, func(tx store.Tx) ([]bursar.Refund, error) { return tx.RefundQueue(ctx, limit) })
			wantCode(t, fmt.Sprint("RefundQueue(", limit, ")"), err, bursar.Invalid)
		}
	})
}

// inCST moves a refund's creation time to China Standard Time, for the
// round trip to UTC.
func inCST(r bursar.Refund) bursar.Refund {
	r.CreatedAt = r.CreatedAt.In(cst)
	return r
}

func testDashboard(t *testing.T, h Harness) {
	ctx := context.Background()
	dashboard := func(t *testing.T, db store.DB, since, hourlyFrom time.Time) bursar.Dashboard {
		t.Helper()
		d, err := readTx(db, func(tx store.Tx) (bursar.Dashboard, error) { return tx.Dashboard(ctx, since, hourlyFrom) })
		if err != nil {
			t.Fatalf("Dashboard(%v, %v): %v", since, hourlyFrom, err)
		}
		for _, hp := range d.Hourly {
			checkUTC(t, "Dashboard hour", hp.Hour)
		}
		return d
	}
	// A map with no keys and none at all are both "no purchases".
	equateEmpty := cmp.FilterValues(func(x, y map[bursar.OrderStatus]int) bool { return len(x) == 0 && len(y) == 0 },
		cmp.Comparer(func(_, _ map[bursar.OrderStatus]int) bool { return true }))
	equateEmptyHours := cmp.FilterValues(func(x, y []bursar.HourlyPayments) bool { return len(x) == 0 && len(y) == 0 },
		cmp.Comparer(func(_, _ []bursar.HourlyPayments) bool { return true }))

	t.Run("an empty database has all zero", func(t *testing.T) {
		db := h.Open(t)
		got := dashboard(t, db, t0, t0.Add(-72*time.Hour))
		if diff := cmp.Diff(bursar.Dashboard{}, got, equateEmpty, equateEmptyHours); diff != "" {
			t.Errorf("Dashboard of nothing mismatch (-want +got):\n%s", diff)
		}
	})

	// since is midnight in Beijing, 16:00 UTC the day before; the chart
	// starts an hour earlier.
	since := time.Date(2026, 11, 21, 0, 0, 0, 0, cst)
	hourlyFrom := since.Add(-time.Hour)
	hour := func(h int) time.Time { return time.Date(2026, 11, 20, h, 0, 0, 0, time.UTC) }
	order := func(id bursar.OrderID, typ bursar.OrderType, status bursar.OrderStatus, paid time.Time, amount bursar.Amount) bursar.Order {
		o := pendingOrder(id)
		o.Type, o.Status, o.Amount, o.PaidAt = typ, status, cny(amount), paid
		if typ != bursar.OrderPurchase {
			o.Seller, o.Item = "", ""
		}
		return o
	}
	paidWithdrawal := func(id bursar.OrderID, status bursar.OrderStatus, paid time.Time, amount bursar.Amount) bursar.Order {
		o := withdrawal(id, "s_1", status, t0, amount)
		o.PaidAt = paid
		return o
	}
	db := h.Open(t)
	// Each amount is a power of two, so a sum tells which orders it took.
	mustOrders(t, db,
		order("p_at_since", bursar.OrderPurchase, bursar.OrderPaid, since, 1),
		order("p_completed", bursar.OrderPurchase, bursar.OrderCompleted, since.Add(time.Hour), 2),
		order("p_refund_req", bursar.OrderPurchase, bursar.OrderRefundRequested, since.Add(2*time.Hour-time.Millisecond), 4),
		order("p_refunded", bursar.OrderPurchase, bursar.OrderRefunded, since.Add(2*time.Hour).UTC(), 8),
		order("t_topup", bursar.OrderTopup, bursar.OrderCompleted, since.Add(90*time.Minute), 16),
		order("p_before", bursar.OrderPurchase, bursar.OrderCompleted, since.Add(-time.Millisecond), 32),
		order("p_too_old", bursar.OrderPurchase, bursar.OrderCompleted, hourlyFrom.Add(-time.Millisecond), 64),
		order("p_pending", bursar.OrderPurchase, bursar.OrderPending, since.Add(time.Hour), 128), // a paid time, yet pending
		order("p_closed", bursar.OrderPurchase, bursar.OrderClosed, since.Add(time.Hour), 256),
		order("t_pending", bursar.OrderTopup, bursar.OrderPending, time.Time{}, 512),
		paidWithdrawal("w_succeeded", bursar.OrderSucceeded, since.Add(time.Hour), 1024),
		paidWithdrawal("w_requested", bursar.OrderRequested, time.Time{}, 2048),
		paidWithdrawal("w_requested_2", bursar.OrderRequested, time.Time{}, 4096),
		paidWithdrawal("w_processing", bursar.OrderProcessing, time.Time{}, 8192),
		paidWithdrawal("w_failed", bursar.OrderFailed, since.Add(time.Hour), 16384),
		order("p_unpaid", bursar.OrderPurchase, bursar.OrderPending, time.Time{}, 32768),
	)
	refund := func(id bursar.RefundID, order bursar.OrderID, status bursar.RefundStatus, amount bursar.Amount) bursar.Refund {
		r := openRefund(id, order)
		r.Amount = cny(amount)
		if status != bursar.RefundRequested {
			r = decide(r, status, t0.Add(time.Hour))
			if status == bursar.RefundSucceeded {
				r.ToEarnings, r.ToCash = amount, 0
			}
		}
		return r
	}
	mustRefunds(t, db,
		refund("rfd_requested", "p_refund_req", bursar.RefundRequested, 100),
		refund("rfd_requested_2", "p_other", bursar.RefundRequested, 200),
		refund("rfd_processing", "p_third", bursar.RefundProcessing, 400),
		refund("rfd_succeeded", "p_refunded", bursar.RefundSucceeded, 800),
		refund("rfd_rejected", "p_refund_req", bursar.RefundRejected, 1600),
	)
	// Escrow is 1000 + 300 + 50: two orders' escrows, one emptied by its
	// release, and a duplicate payment's; the money elsewhere is not escrow.
	alipay := bursar.ChannelAccount(bursar.ChannelAlipay)
	for _, e := range []bursar.Entry{
		transfer("pay:p_at_since", bursar.PlatformAdjustments, bursar.EscrowAccount("p_at_since"), 1000),
		transfer("pay:p_refund_req", bursar.PlatformAdjustments, bursar.EscrowAccount("p_refund_req"), 500),
		transfer("part:p_refund_req", bursar.EscrowAccount("p_refund_req"), bursar.UserEarningsAccount("s_1"), 200),
		transfer("pay:p_completed", alipay, bursar.EscrowAccount("p_completed"), 3000),
		transfer("fee:p_completed", bursar.EscrowAccount("p_completed"), bursar.PlatformFees, 300),
		transfer("release:p_completed", bursar.EscrowAccount("p_completed"), bursar.UserEarningsAccount("s_1"), 2700),
		transfer("dup:p_completed", alipay, bursar.DuplicateEscrowAccount("p_completed", bursar.ChannelAlipay), 50),
		transfer("topup:t_topup", alipay, bursar.UserCashAccount("b_1"), 7000),
		transfer("withdraw:w_requested", bursar.UserEarningsAccount("s_1"), bursar.PayoutPending, 2048),
	} {
		mustPost(t, db, e)
	}
	mustVerify(t, db)

	t.Run("the planted figures", func(t *testing.T) {
		want := bursar.Dashboard{
			PaidCount: 5, PaidAmount: 1 + 2 + 4 + 8 + 16,
			OrdersByStatus: map[bursar.OrderStatus]int{bursar.OrderPaid: 1, bursar.OrderCompleted: 3,
				bursar.OrderRefundRequested: 1, bursar.OrderRefunded: 1, bursar.OrderPending: 2, bursar.OrderClosed: 1},
			Escrow:         1000 + 300 + 50,
			RefundsWaiting: 2, RefundsWaitingAmount: 100 + 200, RefundsProcessing: 1,
			WithdrawalsWaiting: 2, WithdrawalsWaitingAmount: 2048 + 4096, WithdrawalsProcessing: 1,
			Hourly: []bursar.HourlyPayments{
				{Hour: hour(15), Count: 1, Amount: 32},
				{Hour: hour(16), Count: 1, Amount: 1},
				{Hour: hour(17), Count: 3, Amount: 2 + 4 + 16},
				{Hour: hour(18), Count: 1, Amount: 8},
			},
		}
		for _, zone := range []*time.Location{cst, time.UTC} {
			got := dashboard(t, db, since.In(zone), hourlyFrom.In(zone))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Dashboard with times in %v mismatch (-want +got):\n%s", zone, diff)
			}
		}
	})

	tests := []struct {
		name        string
		since, from time.Time
		count       int
		amount      bursar.Amount
		hourly      []bursar.HourlyPayments
	}{
		{"a millisecond later leaves out the payment at since", since.Add(time.Millisecond), since.Add(time.Millisecond),
			4, 2 + 4 + 8 + 16, []bursar.HourlyPayments{{Hour: hour(17), Count: 3, Amount: 22}, {Hour: hour(18), Count: 1, Amount: 8}}},
		{"an hour's bucket keeps its hour when the chart starts within it", since, since.Add(90 * time.Minute),
			5, 31, []bursar.HourlyPayments{{Hour: hour(17), Count: 2, Amount: 4 + 16}, {Hour: hour(18), Count: 1, Amount: 8}}},
		{"since the zero time takes every paid one", time.Time{}, hourlyFrom.Add(-time.Hour),
			7, 1 + 2 + 4 + 8 + 16 + 32 + 64, []bursar.HourlyPayments{{Hour: hour(14), Count: 1, Amount: 64},
				{Hour: hour(15), Count: 1, Amount: 32}, {Hour: hour(16), Count: 1, Amount: 1},
				{Hour: hour(17), Count: 3, Amount: 22}, {Hour: hour(18), Count: 1, Amount: 8}}},
		{"after the last payment there are none", since.Add(3 * time.Hour), since.Add(3 * time.Hour), 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dashboard(t, db, tt.since, tt.from)
			if got.PaidCount != tt.count || got.PaidAmount != tt.amount {
				t.Errorf("Dashboard(%v) paid = %d, %d; want %d, %d", tt.since, got.PaidCount, got.PaidAmount, tt.count, tt.amount)
			}
			if diff := cmp.Diff(tt.hourly, got.Hourly, equateEmptyHours); diff != "" {
				t.Errorf("Dashboard(%v, %v) hourly mismatch (-want +got):\n%s", tt.since, tt.from, diff)
			}
			// The queues and escrow do not depend on the times.
			if got.Escrow != 1350 || got.RefundsWaiting != 2 || got.WithdrawalsWaiting != 2 || len(got.OrdersByStatus) != 6 {
				t.Errorf("Dashboard(%v) escrow %d, refunds %d, withdrawals %d, %d statuses; want 1350, 2, 2, 6",
					tt.since, got.Escrow, got.RefundsWaiting, got.WithdrawalsWaiting, len(got.OrdersByStatus))
			}
		})
	}
}
