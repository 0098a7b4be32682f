package sqlite

import (
	"context"
	"database/sql"
)

// Exec runs a raw statement on the write connection, for tests that corrupt
// the database on purpose.
func (db *DB) Exec(ctx context.Context, query string) error {
	_, err := db.write.ExecContext(ctx, query)
	return err
}

// QueryInt runs a raw query that returns one integer, for tests that check
// how something was stored.
func (db *DB) QueryInt(ctx context.Context, query string) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, query).Scan(&n)
	return n, err
}

// Queued is how many write transactions wait for the committer.
func (db *DB) Queued() int { return len(db.commit.queue) }

// Batches is how many transactions the committer committed with more than
// one member.
func (db *DB) Batches() int64 { return db.commit.batches.Load() }

// FailNextBatch makes the next batch fail as a whole just before its commit,
// as a full disk would.
func (db *DB) FailNextBatch() { db.commit.failNext.Store(true) }

// ReadStats describes the pool of read-only connections.
func (db *DB) ReadStats() sql.DBStats { return db.read.Stats() }
