package service

import (
	"context"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Admins are the people who sign in to the console: their accounts and
// sessions. A console session acts as the platform, named by the admin, so
// every action goes through the same use cases and audit as the API's.
type Admins struct{ deps Deps }

// NewAdmins returns the admin use cases.
func NewAdmins(d Deps) *Admins { return &Admins{deps: d} }

// commandLine is who makes, disables and enables admins: only someone with
// the server's database, through the command line, so the audit log names
// it "platform:cli" rather than a job's "system".
var commandLine = bursar.Actor{Kind: bursar.CredentialPlatform, Credential: "cli"}

// SessionTTL is how long a console session lasts without signing in again.
const SessionTTL = 12 * time.Hour

// adminSessionPrefix starts a console session cookie's value.
const adminSessionPrefix = "as_"

// Create adds an admin, for the command line. bursar.Conflict if the name
// is taken.
func (s *Admins) Create(ctx context.Context, name, password string, role bursar.AdminRole) (bursar.Admin, error) {
	if err := bursar.ValidateAdminName(name); err != nil {
		return bursar.Admin{}, err
	}
	if err := bursar.ValidateAdminPassword(password); err != nil {
		return bursar.Admin{}, err
	}
	if role != bursar.AdminViewer && role != bursar.AdminOperator {
		return bursar.Admin{}, bursar.InvalidParam("role", "An admin's role is viewer or operator.")
	}
	a := bursar.Admin{Name: name, Role: role, PasswordHash: hashLogin(password), CreatedAt: s.deps.now()}
	err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		if err := tx.AdminInsert(ctx, a); err != nil {
			return err
		}
		return audit(ctx, tx, commandLine, "admin.create", "admin:"+name, string(role), a.CreatedAt)
	})
	return a, err
}

// List returns every admin.
func (s *Admins) List(ctx context.Context) ([]bursar.Admin, error) {
	var list []bursar.Admin
	err := s.deps.read(ctx, func(tx store.Tx) (err error) {
		list, err = tx.AdminList(ctx)
		return err
	})
	return list, err
}

// SetDisabled disables an admin, ending their sessions, or enables one
// again, who must then sign in anew.
func (s *Admins) SetDisabled(ctx context.Context, name string, disabled bool) (bursar.Admin, error) {
	var a bursar.Admin
	err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		var err error
		if a, err = tx.AdminGetForUpdate(ctx, name); err != nil {
			return err
		}
		now := s.deps.now()
		action := "admin.enable"
		a.DisabledAt = time.Time{}
		if disabled {
			a.DisabledAt, action = now, "admin.disable"
		}
		if err := tx.AdminUpdate(ctx, a); err != nil {
			return err
		}
		if err := tx.AdminSessionsEnd(ctx, name); err != nil {
			return err
		}
		return audit(ctx, tx, commandLine, action, "admin:"+name, "", now)
	})
	return a, err
}

// errSignIn is the one answer for a wrong name, a wrong password and a
// disabled admin, so the form tells a guesser nothing.
var errSignIn = bursar.Errorf(bursar.Forbidden, "The name or the password is wrong.")

// SignIn checks an admin's password and starts a session, returning the
// cookie value. Five wrong passwords in a row lock the account for
// bursar.LockoutPeriod; past Deps.Tries a try is refused, RateLimited,
// before the slow hash, which runs outside any transaction.
func (s *Admins) SignIn(ctx context.Context, name, password string) (_ string, _ bursar.Admin, err error) {
	if err := s.deps.tryLimit("admin:" + name); err != nil {
		return "", bursar.Admin{}, err
	}
	defer func() { s.deps.tried("admin:"+name, err) }()
	var a bursar.Admin
	err = s.deps.read(ctx, func(tx store.Tx) (err error) {
		a, err = tx.AdminGet(ctx, name)
		return err
	})
	if bursar.ErrorCode(err) == bursar.NotFound {
		hashLogin(password) // as slow as a real check, so timing tells nothing
		return "", bursar.Admin{}, errSignIn
	}
	if err != nil {
		return "", bursar.Admin{}, err
	}
	right := verifyLogin(a.PasswordHash, password)
	token := newToken(adminSessionPrefix)
	err = s.deps.inTx(ctx, func(tx store.Tx, keep *error) error {
		cur, err := tx.AdminGetForUpdate(ctx, name)
		if err != nil {
			return err
		}
		now := s.deps.now()
		if now.Before(cur.LockedUntil) {
			*keep = bursar.Errorf(bursar.Locked, "Too many wrong passwords: this admin is locked until %s.",
				cur.LockedUntil.Format(time.RFC3339))
			return nil
		}
		if !right || !cur.DisabledAt.IsZero() {
			if right {
				*keep = errSignIn
				return audit(ctx, tx, bursar.Actor{}, "admin.sign_in_refused", "admin:"+name, "disabled", now)
			}
			cur.FailedLogins++
			*keep = errSignIn
			if cur.FailedLogins >= bursar.MaxWrongTries {
				cur.FailedLogins, cur.LockedUntil = 0, now.Add(bursar.LockoutPeriod)
				*keep = bursar.Errorf(bursar.Locked, "Too many wrong passwords: this admin is locked until %s.",
					cur.LockedUntil.Format(time.RFC3339))
			}
			if err := tx.AdminUpdate(ctx, cur); err != nil {
				return err
			}
			return audit(ctx, tx, bursar.Actor{}, "admin.sign_in_failed", "admin:"+name, "", now)
		}
		if cur.FailedLogins != 0 || !cur.LockedUntil.IsZero() {
			cur.FailedLogins, cur.LockedUntil = 0, time.Time{}
			if err := tx.AdminUpdate(ctx, cur); err != nil {
				return err
			}
		}
		a = cur
		sess := bursar.AdminSession{Hash: hashToken(token), Admin: name, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
		if err := tx.AdminSessionInsert(ctx, sess); err != nil {
			return err
		}
		return audit(ctx, tx, bursar.Actor{Admin: name}, "admin.sign_in", "admin:"+name, "", now)
	})
	if err != nil {
		return "", bursar.Admin{}, err
	}
	return token, a, nil
}

// Session returns the admin a session cookie belongs to and the actor the
// console acts as, or bursar.Unauthenticated when it is unknown, expired,
// or its admin was disabled.
func (s *Admins) Session(ctx context.Context, token string) (bursar.Admin, bursar.Actor, error) {
	bad := bursar.Errorf(bursar.Unauthenticated, "Sign in to the console.")
	var a bursar.Admin
	err := s.deps.read(ctx, func(tx store.Tx) error {
		sess, err := tx.AdminSessionGet(ctx, hashToken(token))
		if err != nil {
			return err
		}
		if !s.deps.now().Before(sess.ExpiresAt) {
			return bad
		}
		a, err = tx.AdminGet(ctx, sess.Admin)
		return err
	})
	if bursar.ErrorCode(err) == bursar.NotFound || bursar.ErrorCode(err) == bursar.Unauthenticated || err == nil && !a.DisabledAt.IsZero() {
		return bursar.Admin{}, bursar.Actor{}, bad
	}
	if err != nil {
		return bursar.Admin{}, bursar.Actor{}, err
	}
	return a, AdminActor(a), nil
}

// AdminActor is the actor a console admin acts as: the platform, named.
func AdminActor(a bursar.Admin) bursar.Actor {
	return bursar.Actor{Kind: bursar.CredentialPlatform, Credential: "console", Admin: a.Name}
}

// SignOut ends a session.
func (s *Admins) SignOut(ctx context.Context, token string) error {
	return s.deps.DB.InTx(ctx, func(tx store.Tx) error { return tx.AdminSessionDelete(ctx, hashToken(token)) })
}
