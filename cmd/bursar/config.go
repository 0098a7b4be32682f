package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/postgres"
	"bursar.dev/bursar/internal/store/sqlite"
)

// envSource reads a flag's value from the environment through run's getenv,
// so tests pass an environment instead of changing the process's.
type envSource struct {
	key    string
	getenv func(string) string
}

func (e envSource) Lookup() (string, bool) {
	v := e.getenv(e.key)
	return v, v != ""
}
func (e envSource) String() string   { return "environment variable " + e.key }
func (e envSource) GoString() string { return fmt.Sprintf("envSource{%q}", e.key) }
func (e envSource) IsFromEnv() bool  { return true }
func (e envSource) Key() string      { return e.key }

func env(getenv func(string) string, key string) cli.ValueSourceChain {
	return cli.NewValueSourceChain(envSource{key: key, getenv: getenv})
}

// dbFlags are the flags of every command that opens the database.
func dbFlags(getenv func(string) string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:    "data-dir",
			Value:   "./data",
			Usage:   "folder for the embedded database and other local state",
			Sources: env(getenv, "BURSAR_DATA_DIR"),
		},
		&cli.StringFlag{
			Name:    "db",
			Usage:   "database: a postgres:// URL, or the path of a SQLite file (default: bursar.db in the data dir)",
			Sources: env(getenv, "BURSAR_DB"),
		},
	}
}

// dbConfig is where the database is.
type dbConfig struct {
	dataDir string
	db      string
}

func dbConfigFrom(cmd *cli.Command) dbConfig {
	return dbConfig{dataDir: cmd.String("data-dir"), db: cmd.String("db")}
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// String describes the database for logs, with any password masked.
func (c dbConfig) String() string {
	if isPostgresURL(c.db) {
		if u, err := url.Parse(c.db); err == nil {
			return u.Redacted()
		}
		return "postgres://(unparsable URL)"
	}
	return "sqlite:" + c.sqlitePath()
}

func (c dbConfig) sqlitePath() string {
	if c.db != "" {
		return c.db
	}
	return filepath.Join(c.dataDir, "bursar.db")
}

// openCurrent opens the database, with its schema current, for a command
// other than serve and migrate. It creates the tables of a database never
// migrated, so that any command can come first, but refuses one that is
// partly migrated: this binary is newer than its schema, and migrating it
// here would change the schema under the older servers that may still be
// running on it. That is for `bursar migrate`, or serve as it starts.
func (c dbConfig) openCurrent(ctx context.Context) (store.DB, error) {
	db, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	pending, err := db.MigrationsPending(ctx)
	known, errKnown := db.MigrationsKnown()
	switch {
	case err != nil || errKnown != nil:
		err = errors.Join(err, errKnown)
	case pending == known:
		if err = db.Migrate(ctx); err != nil {
			err = fmt.Errorf("migrate: %w", err)
		}
	case pending > 0:
		err = fmt.Errorf("the database lacks %d of the %d migrations this binary knows: "+
			"run `bursar migrate` (or start `bursar serve`, which migrates) when its servers are upgraded", pending, known)
	}
	if err != nil {
		_ = db.Close() // the error that matters is the one above
		return nil, err
	}
	return db, nil
}

// open opens the configured database; it does not migrate.
func (c dbConfig) open(ctx context.Context) (store.DB, error) {
	if isPostgresURL(c.db) {
		return postgres.Open(ctx, c.db)
	}
	if err := os.MkdirAll(filepath.Dir(c.sqlitePath()), 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return sqlite.Open(c.sqlitePath())
}
