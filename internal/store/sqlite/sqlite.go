// Package sqlite implements store.DB on SQLite through modernc.org/sqlite, a
// pure-Go driver, so Bursar builds with CGO_ENABLED=0 and runs with no server.
//
// Choices that differ from the postgres package, decided once here:
//   - Times are INTEGER Unix milliseconds in UTC, written and read by this
//     package (ms/fromMS), never by the driver: they sort and compare as numbers.
//     The zero time.Time, "not set" in the domain, is NULL (nullMS/fromNullMS).
//   - Constraint violations carry table and column names, not constraint
//     names, so constraints.go matches on those (see the postgres package).
//   - Booleans are INTEGER 0/1 with a CHECK.
//   - There are no row locks. SQLite allows one writer at a time, so writes go
//     through a pool of one connection whose transactions begin IMMEDIATE
//     (the driver's _txlock key): a transaction that reads and then writes
//     holds the write lock from its first statement and can never fail with
//     "database is locked" half way. Reads use a second pool of read-only
//     connections, which WAL mode lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/migration"
)

//go:embed migrations/*.sql
var migrations embed.FS

// readers is how many read-only connections a DB keeps.
const readers = 4

// DB is a Bursar database in one SQLite file.
type DB struct {
	write  *sql.DB // one connection, BEGIN IMMEDIATE
	read   *sql.DB // read-only connections
	commit *committer
	reads  *stmtCache
}

var _ store.DB = (*DB)(nil)

// Open opens (creating if needed) the SQLite database file at path. It does not
// migrate; call Migrate.
func Open(path string) (*DB, error) {
	write, err := sql.Open("sqlite", DSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One writer: SQLite serialises writers anyway, and a single connection
	// turns lock contention into a queue in Go instead of busy-waiting.
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", DSN(path, true))
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Every reader stays open: database/sql keeps two idle by default, so
	// under load it closed the others after each read and opened them
	// again, and a new connection parses the whole schema and forgets its
	// prepared statements (a tenth of the server's CPU in a payment run).
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	db := &DB{write: write, read: read, commit: newCommitter(write), reads: newStmtCache(read)}
	// Creating the file and switching it to WAL needs the write connection
	// once before any reader opens it.
	if err := db.Ping(context.Background()); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// DSN returns the driver connection string Bursar uses for the file at path.
// Every setting that matters is here, and a test reads each back: a key the
// driver silently ignored would otherwise go unnoticed.
func DSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	// Durability first: every commit is on disk before it is acknowledged.
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Wait for the write lock instead of failing at once; with one writer
	// connection per process this only matters across processes.
	q.Add("_pragma", "busy_timeout(10000)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
		// The writer's savepoint and statement journals (group.go) live in
		// memory, not in temporary files: writing them out cost a group
		// commit a third of its time, and they last one transaction. The
		// readers keep theirs on disk, where a big sort, such as the
		// ledger verification's, does not grow the process.
		q.Add("_pragma", "temp_store(MEMORY)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Engine returns "sqlite".
func (db *DB) Engine() string { return "sqlite" }

// Ping checks that both pools can reach the file.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return translate(fmt.Errorf("ping sqlite: %w", err))
	}
	if err := db.read.PingContext(ctx); err != nil {
		return translate(fmt.Errorf("ping sqlite: %w", err))
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.commit.close()
	db.commit.stmts.close()
	db.reads.close()
	return errors.Join(db.read.Close(), db.write.Close())
}

// InTx runs fn in a write transaction, committed together with the others
// waiting at the same moment (see group.go). SQLite has no serialization
// failures under a single writer, so fn runs more than once only when a
// batch it was in fails as a whole.
func (db *DB) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return db.commit.do(ctx, fn)
}

// InReadTx runs fn in a read transaction on the read-only pool; in WAL mode it
// sees the database as of its first read.
func (db *DB) InReadTx(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return translate(fmt.Errorf("begin: %w", err))
	}
	if err := fn(&tx{tx: prepared{tx: sqlTx, stmts: db.reads}}); err != nil {
		_ = sqlTx.Rollback() // the error that matters is fn's
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return translate(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// knownMigrations lists the migrations embedded in this binary.
func knownMigrations() ([]migration.Migration, error) {
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return migration.List(dir)
}

// MigrationsKnown implements store.DB.
func (db *DB) MigrationsKnown() (int, error) {
	list, err := knownMigrations()
	return len(list), err
}

// Migrate applies the pending migrations, each in its own transaction.
func (db *DB) Migrate(ctx context.Context) error {
	list, err := knownMigrations()
	if err != nil {
		return err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`
	if _, err := db.write.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range list {
		if err := db.apply(ctx, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, m migration.Migration) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer sqlTx.Rollback() //nolint:errcheck // a no-op after Commit
	var n int
	if err := sqlTx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := sqlTx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	const q = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`
	if _, err := sqlTx.ExecContext(ctx, q, m.Version, m.Name, ms(time.Now())); err != nil {
		return err
	}
	return sqlTx.Commit()
}

// tx implements store.Tx on a database/sql transaction.
type tx struct {
	tx querier
}

// ms converts t to the stored form: Unix milliseconds, UTC.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts a stored time back, in UTC.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// seconds converts a duration to the stored form, whole seconds.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// fromSeconds converts stored whole seconds back to a duration.
func fromSeconds(s int64) time.Duration { return time.Duration(s) * time.Second }

// nullMS converts a time that may be unset: the zero time.Time, which means
// "never" or "not yet" in the domain, is stored as NULL rather than as a
// date in year 1.
func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// fromNullMS converts a nullable stored time back; NULL is the zero time.
func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

var errTooLarge = &bursar.Error{Code: bursar.Invalid, Message: "The amount would make a balance too large."}

// translate gives database errors that a client could act on their code.
func translate(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		// An INTEGER that overflows becomes a REAL in SQLite, which a STRICT
		// table refuses: the only way Bursar meets this is a balance past
		// the largest amount.
		if se.Code() == sqlite3.SQLITE_CONSTRAINT_DATATYPE {
			return fmt.Errorf("%w: %w", errTooLarge, err)
		}
		if e := constraintError(se); e != nil {
			return fmt.Errorf("%w: %w", e, err)
		}
		switch se.Code() & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("%w: %w", &bursar.Error{Code: bursar.Unavailable, Message: "The database is busy or unavailable; try again."}, err)
		}
	}
	return err
}
