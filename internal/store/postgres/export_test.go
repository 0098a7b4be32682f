package postgres

import "context"

// Exec runs a raw statement, for tests that corrupt the database on purpose.
func (db *DB) Exec(ctx context.Context, query string) error {
	_, err := db.pool.Exec(ctx, query)
	return err
}

// QueryInt runs a raw query that returns one integer, for tests that check
// how something was stored.
func (db *DB) QueryInt(ctx context.Context, query string) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, query).Scan(&n)
	return n, err
}
