package postgres

import "context"

// Exec runs a raw statement, for tests that corrupt the database on purpose.
func (db *DB) Exec(ctx context.Context, query string) error {
	_, err := db.pool.Exec(ctx, query)
	return err
}
