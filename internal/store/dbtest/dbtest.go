// Package dbtest opens a fresh, migrated database of each engine for tests of
// the layers above storage, so every use case is tested on SQLite and on
// PostgreSQL alike.
//
// Import it only from tests.
package dbtest

import (
	"context"
	"path/filepath"
	"testing"

	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/postgres"
	"bursar.dev/bursar/internal/store/postgres/pgtest"
	"bursar.dev/bursar/internal/store/sqlite"
)

// Engines are the names Each runs.
var Engines = []string{"sqlite", "postgres"}

// Open returns a new, migrated database of the named engine, closed when t
// ends. PostgreSQL skips or fails t as package pgtest says when no server
// is available.
func Open(t testing.TB, engine string) store.DB {
	t.Helper()
	ctx := context.Background()
	var db store.DB
	var err error
	switch engine {
	case "sqlite":
		db, err = sqlite.Open(filepath.Join(t.TempDir(), "bursar.db"))
	case "postgres":
		db, err = postgres.Open(ctx, pgtest.URL(t))
	default:
		t.Fatalf("dbtest: unknown engine %q", engine)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// Each runs fn as a subtest per engine, each with its own database.
func Each(t *testing.T, fn func(t *testing.T, db store.DB)) {
	for _, e := range Engines {
		t.Run(e, func(t *testing.T) { fn(t, Open(t, e)) })
	}
}

// Verify fails t unless every ledger invariant holds on db. Tests that move
// money end with it.
func Verify(t testing.TB, db store.DB) {
	t.Helper()
	err := db.InReadTx(context.Background(), func(tx store.Tx) error {
		r, err := tx.LedgerVerify(context.Background())
		if err == nil && !r.OK() {
			t.Errorf("ledger invariants broken: %v", r.Problems)
		}
		return err
	})
	if err != nil {
		t.Fatalf("LedgerVerify: %v", err)
	}
}
