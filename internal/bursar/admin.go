package bursar

import (
	"strings"
	"time"
	"unicode/utf8"
)

// AdminRole says what a person at the console may do.
type AdminRole string

// The admin roles.
const (
	AdminViewer   AdminRole = "viewer"   // reads everything, changes nothing
	AdminOperator AdminRole = "operator" // also decides refunds and withdrawals, adjusts balances, resolves and re-sends
)

// Admin is a person who signs in to the console. The name is their login.
type Admin struct {
	Name         string
	Role         AdminRole
	PasswordHash string // argon2id
	// FailedLogins counts wrong passwords in a row; at five the account is
	// locked until LockedUntil.
	FailedLogins int
	LockedUntil  time.Time
	CreatedAt    time.Time
	DisabledAt   time.Time // zero: may sign in
}

// CanAct reports whether the admin may change things, not only look.
func (a Admin) CanAct() bool { return a.Role == AdminOperator }

// ValidateAdminName checks a login name: 1 to 64 of [0-9A-Za-z_.-].
func ValidateAdminName(s string) error {
	// validID's alphabet, and dots.
	if !validID(strings.ReplaceAll(s, ".", "_")) {
		return InvalidParam("name", "An admin's name is 1 to 64 letters, digits, dots, dashes or underscores.")
	}
	return nil
}

// ValidateAdminPassword checks a new console password: 12 to 200 characters.
func ValidateAdminPassword(s string) error {
	if n := utf8.RuneCountInString(s); n < 12 || n > 200 || !utf8.ValidString(s) {
		return InvalidParam("password", "An admin password is 12 to 200 characters.")
	}
	return nil
}

// AdminSession is a signed-in browser. Only a hash of its cookie is kept.
type AdminSession struct {
	Hash      string
	Admin     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Dashboard is the console's first page: what is happening with the money.
type Dashboard struct {
	PaidCount  int    // purchases and top-ups paid since the dashboard's start (today, Beijing time)
	PaidAmount Amount // their total
	// OrdersByStatus counts purchases by status.
	OrdersByStatus           map[OrderStatus]int
	Escrow                   Amount // held for sellers, in every escrow account
	RefundsWaiting           int    // requested: waiting for the seller or the platform
	RefundsWaitingAmount     Amount
	RefundsProcessing        int // approved, at the channel
	WithdrawalsWaiting       int // requested: waiting for the platform's approval
	WithdrawalsWaitingAmount Amount
	WithdrawalsProcessing    int
	Hourly                   []HourlyPayments // oldest first; hours with none are left out
	HourlyFrom               time.Time        // the first hour Hourly covers
}

// HourlyPayments counts the purchases and top-ups paid in an hour.
type HourlyPayments struct {
	Hour   time.Time
	Count  int
	Amount Amount
}

// AuditFilter selects audit log entries, newest first.
type AuditFilter struct {
	Subject string
	Before  int64 // a cursor: only entries older than this ID
	Limit   int
}
