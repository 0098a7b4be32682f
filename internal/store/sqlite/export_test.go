package sqlite

import "context"

// Exec runs a raw statement on the write connection, for tests that corrupt
// the database on purpose.
func (db *DB) Exec(ctx context.Context, query string) error {
	_, err := db.write.ExecContext(ctx, query)
	return err
}
