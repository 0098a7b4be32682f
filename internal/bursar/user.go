package bursar

import (
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"
)

// User is a buyer and/or seller.
type User struct {
	ID          UserID
	DisplayName string
	AvatarURL   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ParseUserID checks a user ID given from outside: 1 to 64 of [0-9A-Za-z_-],
// so it can stand inside a ledger account name.
func ParseUserID(s string) (UserID, error) {
	if !validID(s) {
		return "", InvalidParam("user_id", "A user ID is 1 to 64 letters, digits, '_' or '-'.")
	}
	return UserID(s), nil
}

// ValidateProfile checks a display name and an avatar URL.
func ValidateProfile(name, avatar string) error {
	if n := utf8.RuneCountInString(name); !utf8.ValidString(name) || n > 64 {
		return InvalidParam("display_name", "A display name is at most 64 characters of valid UTF-8.")
	}
	if avatar == "" {
		return nil
	}
	u, err := url.Parse(avatar)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(avatar) > 1024 {
		return InvalidParam("avatar_url", "An avatar URL is an http(s) URL of at most 1024 characters.")
	}
	return nil
}

// SecretKind names one of a user's two passwords.
type SecretKind string

// The passwords a user has.
const (
	SecretLogin   SecretKind = "login"   // signs in; argon2id
	SecretPayment SecretKind = "payment" // authorises wallet payments and withdrawals; a PIN under a keyed hash
)

// Lockout policy for both passwords: after MaxWrongTries wrong tries in a row
// the password is locked for LockoutPeriod. A right try resets the count.
const (
	MaxWrongTries = 5
	LockoutPeriod = 15 * time.Minute
)

// Secret is a stored password with its attempt counter.
type Secret struct {
	User        UserID
	Kind        SecretKind
	Hash        string // self-describing: the scheme is part of the string
	WrongTries  int
	LockedUntil time.Time // zero when not locked
	UpdatedAt   time.Time
}

// Locked returns an error saying until when the secret is locked, or nil.
func (s Secret) Locked(now time.Time) error {
	if now.Before(s.LockedUntil) {
		return &Error{Code: Locked, Param: string(s.Kind) + "_password",
			Message: fmt.Sprintf("Too many wrong %s passwords: it is locked until %s.", s.Kind, s.LockedUntil.UTC().Format(time.RFC3339))}
	}
	return nil
}

// Try records one verification outcome and returns the secret as it must be
// stored, with the error to report: nil when right, Forbidden when wrong,
// Locked when wrong for the MaxWrongTries-th time or already locked.
func (s Secret) Try(right bool, now time.Time) (Secret, error) {
	if err := s.Locked(now); err != nil {
		return s, err
	}
	if right {
		if s.WrongTries != 0 || !s.LockedUntil.IsZero() {
			s.WrongTries, s.LockedUntil, s.UpdatedAt = 0, time.Time{}, now
		}
		return s, nil // unchanged when there was nothing to reset: no write on the payment path
	}
	s.UpdatedAt = now
	s.WrongTries++
	if s.WrongTries >= MaxWrongTries {
		s.WrongTries, s.LockedUntil = 0, now.Add(LockoutPeriod)
		return s, s.Locked(now)
	}
	return s, &Error{Code: Forbidden, Param: string(s.Kind) + "_password",
		Message: fmt.Sprintf("The %s password is wrong; %d tries left before it locks.", s.Kind, MaxWrongTries-s.WrongTries)}
}

// ValidatePassword checks a new password of the given kind: a login password
// is 8 to 128 characters; a payment password is 6 digits.
func ValidatePassword(kind SecretKind, pw string) error {
	switch kind {
	case SecretLogin:
		if n := utf8.RuneCountInString(pw); n < 8 || n > 128 {
			return InvalidParam("password", "A login password is 8 to 128 characters.")
		}
	case SecretPayment:
		if len(pw) != 6 || !isDigits(pw) {
			return InvalidParam("password", "A payment password is 6 digits.")
		}
	default:
		return InvalidParam("kind", "Unknown password kind %q.", kind)
	}
	return nil
}
