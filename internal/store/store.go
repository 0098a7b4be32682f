// Package store is the storage contract of Bursar: the DB and Tx interfaces
// that the service layer programs against. Its implementations live beneath
// it, one per engine (postgres, sqlite), and storetest holds the conformance
// suite both must pass.
//
// Only domain-shaped methods belong here; no driver or SQL type appears in a
// signature. Business rules belong in service, not in the engines: with two
// engines each rule would otherwise be written twice. The engines own what a
// database does best: atomicity, uniqueness and the never-negative balance check.
package store

import (
	"context"

	"bursar.dev/bursar/internal/bursar"
)

// DB runs work in transactions; there is no way to write outside one.
type DB interface {
	// InTx runs fn in a read-write transaction and commits it if fn returns
	// nil. Engines may run fn more than once when the database asks for a
	// retry (a serialization failure or deadlock), so fn must have no effect
	// outside the transaction. A database that cannot be reached gives
	// bursar.Unavailable.
	InTx(ctx context.Context, fn func(Tx) error) error
	// InReadTx runs fn in a read-only transaction that sees one consistent
	// snapshot of the database.
	InReadTx(ctx context.Context, fn func(Tx) error) error
	// Migrate applies every migration that has not been applied yet. It is
	// safe to call from several processes at once.
	Migrate(ctx context.Context) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Engine names the implementation: "postgres" or "sqlite".
	Engine() string
	Close() error
}

// Tx is every query the service needs. Methods are noun-first, so they group
// by table.
type Tx interface {
	// EntryPost posts a validated entry atomically: it creates accounts it
	// names for the first time, applies each account's net change and records
	// the entry and its postings. An entry whose key was posted before with the
	// same fingerprint changes nothing and reports Replayed; with another
	// fingerprint it fails with bursar.Conflict. An account that may not go
	// negative and would fails with bursar.InsufficientFunds; an account that
	// exists in another currency fails with bursar.Invalid. On error nothing
	// of the entry has been written, but the transaction must be abandoned.
	EntryPost(ctx context.Context, e bursar.Entry) (bursar.PostResult, error)
	// EntryGet returns the entry posted under key, or bursar.NotFound.
	EntryGet(ctx context.Context, key string) (bursar.PostedEntry, error)
	// AccountGet returns an account with its balance, or bursar.NotFound.
	AccountGet(ctx context.Context, id bursar.AccountID) (bursar.Account, error)
	// LedgerVerify checks every ledger invariant (see bursar.LedgerCheck) over
	// the whole database and reports what it found; it returns an error only
	// when it could not look.
	LedgerVerify(ctx context.Context) (bursar.LedgerReport, error)
}
