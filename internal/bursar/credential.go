package bursar

import "time"

// CredentialKind says what a bearer token may do.
type CredentialKind string

// The credential kinds.
const (
	// CredentialPlatform is a platform secret key (sk_…): the marketplace's
	// backend, acting for any user.
	CredentialPlatform CredentialKind = "platform"
	// CredentialUser is a user token (ut_…): one user acting on their own objects.
	CredentialUser CredentialKind = "user"
)

// CredentialID identifies a credential; it is not secret.
type CredentialID string

// Credential is a bearer token as stored: only a hash of the secret is kept.
type Credential struct {
	ID        CredentialID
	Kind      CredentialKind
	User      UserID // the user a user token acts as; empty for platform keys
	Name      string // a label for people: "production backend", "login"
	Hash      string // SHA-256 of the secret, hex
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	RevokedAt time.Time // zero: not revoked
}

// Usable reports whether the credential may authenticate a request at now.
func (c Credential) Usable(now time.Time) bool {
	return c.RevokedAt.IsZero() && (c.ExpiresAt.IsZero() || now.Before(c.ExpiresAt))
}

// Actor is who makes a request: the platform, or one user.
type Actor struct {
	Credential CredentialID
	Kind       CredentialKind
	User       UserID // set for user tokens
	// Admin names the person at the console acting as the platform; the
	// audit log records them by name.
	Admin string
}

// MaySee reports whether the actor may act on objects owned by any of users.
// The platform may act for anyone; a user only on their own objects.
func (a Actor) MaySee(users ...UserID) bool {
	if a.Kind == CredentialPlatform {
		return true
	}
	for _, u := range users {
		if u != "" && u == a.User {
			return true
		}
	}
	return false
}

// IsPlatform reports whether the actor is the platform.
func (a Actor) IsPlatform() bool { return a.Kind == CredentialPlatform }
