package service

import (
	"context"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Auth issues and checks bearer credentials.
type Auth struct{ deps Deps }

// NewAuth returns the authentication use cases.
func NewAuth(d Deps) *Auth { return &Auth{deps: d} }

// Token prefixes say what a bearer token is, so a leaked one is easy to
// recognise and a key is never mistaken for a user token.
const (
	platformKeyPrefix = "sk_"
	userTokenPrefix   = "ut_"
)

// CreatePlatformKey creates a platform secret key. The secret is returned
// once and only its hash is stored.
func (a *Auth) CreatePlatformKey(ctx context.Context, name string) (string, bursar.Credential, error) {
	if len(name) > 100 {
		return "", bursar.Credential{}, bursar.InvalidParam("name", "A key's name is at most 100 characters.")
	}
	secret := newToken(platformKeyPrefix)
	c := bursar.Credential{ID: bursar.CredentialID(newID("key_")), Kind: bursar.CredentialPlatform,
		Name: name, Hash: hashToken(secret), CreatedAt: a.deps.now()}
	err := a.deps.DB.InTx(ctx, func(tx store.Tx) error { return tx.CredentialInsert(ctx, c) })
	return secret, c, err
}

// Authenticate returns who a bearer token acts as, or bursar.Unauthenticated.
func (a *Auth) Authenticate(ctx context.Context, token string) (bursar.Actor, error) {
	bad := bursar.Errorf(bursar.Unauthenticated, "The bearer token is not valid, has expired or was revoked.")
	if !strings.HasPrefix(token, platformKeyPrefix) && !strings.HasPrefix(token, userTokenPrefix) {
		return bursar.Actor{}, bad
	}
	var c bursar.Credential
	err := a.deps.read(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.CredentialGetByHash(ctx, hashToken(token))
		return err
	})
	switch {
	case bursar.ErrorCode(err) == bursar.NotFound:
		return bursar.Actor{}, bad
	case err != nil:
		return bursar.Actor{}, err
	case !c.Usable(a.deps.now()):
		return bursar.Actor{}, bad
	}
	return bursar.Actor{Credential: c.ID, Kind: c.Kind, User: c.User}, nil
}

// Login checks a user's login password and returns a new user token, or the
// error of the try (Forbidden, Locked; RateLimited, unchecked, after too
// many wrong tries lately). The slow hash runs outside any
// transaction; the attempt is then counted under the secret's row lock, so
// parallel wrong tries lock it after exactly bursar.MaxWrongTries.
func (a *Auth) Login(ctx context.Context, user bursar.UserID, password string) (_ string, _ bursar.Credential, err error) {
	if err := a.deps.tryLimit(userKey(user)); err != nil {
		return "", bursar.Credential{}, err
	}
	defer func() { a.deps.tried(userKey(user), err) }()
	s, err := a.secret(ctx, user, bursar.SecretLogin)
	if err != nil {
		return "", bursar.Credential{}, err
	}
	right := verifyLogin(s.Hash, password)
	var token string
	var c bursar.Credential
	err = a.deps.inTx(ctx, func(tx store.Tx, keep *error) error {
		if err := tryPassword(ctx, tx, user, bursar.SecretLogin, right, a.deps.now(), keep); err != nil || *keep != nil {
			return err
		}
		var err error
		token, c, err = a.mint(ctx, tx, user, "login", 0)
		return err
	})
	return token, c, err
}

// MintToken creates a user token for user on the platform's behalf.
func (a *Auth) MintToken(ctx context.Context, actor bursar.Actor, user bursar.UserID, name string, ttl time.Duration) (string, bursar.Credential, error) {
	if !actor.MaySee(user) {
		return "", bursar.Credential{}, notFound("user", user)
	}
	if err := platformOnly(actor); err != nil {
		return "", bursar.Credential{}, err
	}
	if ttl < 0 || ttl > 365*24*time.Hour {
		return "", bursar.Credential{}, bursar.InvalidParam("ttl_seconds", "A token lives between 1 second and 365 days.")
	}
	var token string
	var c bursar.Credential
	err := a.deps.DB.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.UserGet(ctx, user); err != nil {
			return err
		}
		var err error
		token, c, err = a.mint(ctx, tx, user, name, ttl)
		return err
	})
	return token, c, err
}

func (a *Auth) mint(ctx context.Context, tx store.Tx, user bursar.UserID, name string, ttl time.Duration) (string, bursar.Credential, error) {
	if ttl == 0 {
		ttl = a.deps.TokenTTL
	}
	if ttl == 0 {
		ttl = 30 * 24 * time.Hour
	}
	if len(name) > 100 {
		return "", bursar.Credential{}, bursar.InvalidParam("name", "A token's name is at most 100 characters.")
	}
	now := a.deps.now()
	token := newToken(userTokenPrefix)
	c := bursar.Credential{ID: bursar.CredentialID(newID("tok_")), Kind: bursar.CredentialUser, User: user,
		Name: name, Hash: hashToken(token), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	return token, c, tx.CredentialInsert(ctx, c)
}

// Revoke ends a user token: the user may revoke their own (logout), the
// platform any.
func (a *Auth) Revoke(ctx context.Context, actor bursar.Actor, token string) error {
	return a.deps.DB.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.CredentialGetByHash(ctx, hashToken(token))
		if err != nil || !actor.MaySee(c.User) || c.Kind != bursar.CredentialUser {
			return bursar.Errorf(bursar.NotFound, "There is no such token.")
		}
		return tx.CredentialRevoke(ctx, c.ID, a.deps.now())
	})
}

// RevokeKey revokes a platform key by its ID; for the CLI.
func (a *Auth) RevokeKey(ctx context.Context, id bursar.CredentialID) error {
	return a.deps.DB.InTx(ctx, func(tx store.Tx) error { return tx.CredentialRevoke(ctx, id, a.deps.now()) })
}

func (a *Auth) secret(ctx context.Context, user bursar.UserID, kind bursar.SecretKind) (bursar.Secret, error) {
	var s bursar.Secret
	err := a.deps.read(ctx, func(tx store.Tx) error {
		var err error
		s, err = tx.SecretGet(ctx, user, kind)
		return err
	})
	if bursar.ErrorCode(err) == bursar.NotFound {
		return s, bursar.Errorf(bursar.Forbidden, "The user ID or the %s password is wrong.", kind)
	}
	return s, err
}

// tryPassword counts one try of a user's password under its row lock. A
// wrong or locked try is stored and its error put in *keep, so the caller
// commits the count and reports the error.
func tryPassword(ctx context.Context, tx store.Tx, user bursar.UserID, kind bursar.SecretKind, right bool, now time.Time, keep *error) error {
	s, err := tx.SecretGetForUpdate(ctx, user, kind)
	if bursar.ErrorCode(err) == bursar.NotFound {
		*keep = bursar.Errorf(bursar.Forbidden, "No %s password is set for this user.", kind)
		return nil
	}
	if err != nil {
		return err
	}
	next, tryErr := s.Try(right, now)
	if next != s {
		if err := tx.SecretPut(ctx, next); err != nil {
			return err
		}
	}
	*keep = tryErr
	return nil
}
