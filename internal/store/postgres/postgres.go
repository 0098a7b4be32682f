// Package postgres implements store.DB on PostgreSQL through pgx, natively
// (not database/sql) so hot paths can batch statements; no pgx type leaves
// the package.
//
// Choices that differ from the sqlite package, decided once here:
//   - Times are timestamptz, read back in UTC; the zero time.Time, "not set"
//     in the domain, is NULL (nullTime/fromNull).
//   - Row locks are SELECT … FOR UPDATE, taken by the *GetForUpdate methods;
//     JobClaimDue adds SKIP LOCKED so that workers never wait for each other.
//   - Transactions run at READ COMMITTED. Balance changes are single
//     conditional UPDATEs, which PostgreSQL re-checks against the newest row
//     version after waiting for a lock, so no balance is read and written
//     back. Rows are always locked in account order (bursar.Entry.Deltas).
//   - InTx retries serialization failures (40001) and deadlocks (40P01) up to
//     maxAttempts times in all.
//   - The SQL stays within what CockroachDB and YugabyteDB accept: no
//     advisory locks, no LISTEN/NOTIFY.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/migration"
)

//go:embed migrations/*.sql
var migrations embed.FS

// defaultMaxConns is the pool size when the URL does not set pool_max_conns.
const defaultMaxConns = 16

// maxAttempts bounds how often InTx runs a transaction that PostgreSQL asked
// to retry.
const maxAttempts = 5

// DB is a Bursar database on a PostgreSQL server.
type DB struct {
	pool *pgxpool.Pool
}

var _ store.DB = (*DB)(nil)

// Open connects to the PostgreSQL server at url (postgres://…). It does not
// migrate; call Migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, bursar.Errorf(bursar.Invalid, "The PostgreSQL URL is not valid: %s", redact(err))
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgx's default (the number of CPUs, at least 4) starves a service
		// whose requests mostly wait on commits; the URL's pool_max_conns wins.
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return &DB{pool: pool}, nil
}

// redact drops the connection string from pgx's parse errors, which quote it
// with its password.
func redact(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap().Error()
	}
	return "check its syntax"
}

// Engine returns "postgres".
func (db *DB) Engine() string { return "postgres" }

// Ping checks that the server answers.
func (db *DB) Ping(ctx context.Context) error {
	return translate(db.pool.Ping(ctx))
}

// Close closes every connection.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// InTx runs fn in a READ COMMITTED transaction, again when PostgreSQL reports
// a serialization failure or deadlock, up to maxAttempts times.
func (db *DB) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return db.inTx(ctx, "BEGIN", true, fn)
}

// InReadTx runs fn in a REPEATABLE READ, READ ONLY transaction: every query
// in it sees the same snapshot.
func (db *DB) InReadTx(ctx context.Context, fn func(store.Tx) error) error {
	return db.inTx(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", false, fn)
}

// inTx runs fn, pipelined when asked (see pipeline.go) until a pipelined
// write goes wrong, and again on the errors retriable names.
func (db *DB) inTx(ctx context.Context, begin string, pipelined bool, fn func(store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.tryTx(ctx, begin, pipelined, fn)
		if pipelined && errors.Is(err, errEager) && !retriable(err) {
			pipelined = false
			attempt-- // not an attempt the database asked for
			continue
		}
		if err == nil || attempt == maxAttempts || !retriable(err) {
			return translate(err)
		}
	}
}

func (db *DB) tryTx(ctx context.Context, begin string, pipelined bool, fn func(store.Tx) error) error {
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer pc.Release()
	c := newConn(pc, begin, pipelined)
	err = fn(&tx{tx: c})
	if c.failed != nil {
		// Whatever fn made of it, a queued write went wrong.
		err = c.failed
	}
	if err != nil {
		c.rollback(ctx) // the error that matters is fn's
		return err
	}
	if err := c.commit(ctx); err != nil {
		c.rollback(ctx)
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func retriable(err error) bool {
	var pe *pgconn.PgError
	// Besides serialization failures and deadlocks, two writers numbering
	// one subject's events at once (see EventInsert).
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01" ||
		pe.Code == "23505" && pe.ConstraintName == "events_subject_seq_unique")
}

var errTooLarge = &bursar.Error{Code: bursar.Invalid, Message: "The amount would make a balance too large."}

// translate marks errors that mean "the database is unreachable or shutting
// down" as bursar.Unavailable, so clients are told to retry, an overflow of a
// balance as bursar.Invalid, and a violated constraint a client could have
// caused with its code (see constraintError).
func translate(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*bursar.Error](err); ok {
		return err
	}
	var pe *pgconn.PgError
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &pe) && pe.Code == "22003": // numeric_value_out_of_range: a balance past the largest amount
		return fmt.Errorf("%w: %w", errTooLarge, err)
	case errors.As(err, &pe) && constraintError(pe) != nil:
		return fmt.Errorf("%w: %w", constraintError(pe), err)
	case errors.As(err, &pe):
		// Class 08 is connection exceptions; 57P0x is the server shutting
		// down or starting; 53300 is too many connections.
		if !strings.HasPrefix(pe.Code, "08") && !strings.HasPrefix(pe.Code, "57P0") && pe.Code != "53300" {
			return err
		}
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.SafeToRetry(err):
	default:
		return err
	}
	return fmt.Errorf("%w: %w", &bursar.Error{Code: bursar.Unavailable, Message: "The database is unavailable; try again."}, err)
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

// Migrate applies the pending migrations, each in its own transaction. The
// schema_migrations table is locked while a migration runs, so processes
// starting together apply each migration once.
func (db *DB) Migrate(ctx context.Context) error {
	list, err := knownMigrations()
	if err != nil {
		return err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer NOT NULL PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL
	)`
	if _, err := db.pool.Exec(ctx, create); err != nil && !isUniqueViolation(err) {
		// Two processes creating the table at once collide on the catalog;
		// the loser finds the table there and goes on.
		return translate(fmt.Errorf("create schema_migrations: %w", err))
	}
	for _, m := range list {
		if err := db.apply(ctx, m); err != nil {
			return translate(fmt.Errorf("migration %s: %w", m.Name, err))
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, m migration.Migration) error {
	return pgx.BeginFunc(ctx, db.pool, func(t pgx.Tx) error {
		if _, err := t.Exec(ctx, `LOCK TABLE schema_migrations IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var applied bool
		const q = `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`
		if err := t.QueryRow(ctx, q, m.Version).Scan(&applied); err != nil || applied {
			return err
		}
		if _, err := t.Exec(ctx, m.SQL); err != nil {
			return err
		}
		_, err := t.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now())
		return err
	})
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// tx implements store.Tx on a pgx transaction.
type tx struct {
	tx *conn
}

// nullTime converts a time that may be unset: the zero time.Time, which
// means "never" or "not yet" in the domain, is stored as NULL rather than as
// a date in year 1.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// fromNull converts a nullable time read back, in UTC; NULL is the zero time.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// seconds converts a duration to the stored form, whole seconds.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// fromSeconds converts stored whole seconds back to a duration.
func fromSeconds(s int64) time.Duration { return time.Duration(s) * time.Second }
