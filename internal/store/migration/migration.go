// Package migration reads an engine's embedded migration files. Each engine
// applies them with its own SQL; what they share is the naming rule and the
// order, so both engines always agree on what "version 3" is.
package migration

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
)

// Migration is one forward-only schema change.
type Migration struct {
	Version int    // the number the file name starts with
	Name    string // the file name, e.g. "0001_init.sql"
	SQL     string
}

var fileName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// List returns the migrations in fsys's root folder in version order. A file
// whose name does not follow NNNN_name.sql, or two files with one number, are
// errors: a migration must never be skipped or applied in the wrong order.
func List(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if len(ms) > 0 && ms[len(ms)-1].Version == v {
			return nil, fmt.Errorf("migrations %q and %q share number %d", ms[len(ms)-1].Name, e.Name(), v)
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	if !slices.IsSortedFunc(ms, func(a, b Migration) int { return a.Version - b.Version }) {
		return nil, fmt.Errorf("migrations are not in order") // ReadDir sorts by name, so this is a bug
	}
	return ms, nil
}

// Pending counts the migrations of list whose version is not in applied.
// A version applied but not in list, from a newer binary, is not counted:
// it does not make this binary's schema any less current.
func Pending(list []Migration, applied []int) int {
	n := 0
	for _, m := range list {
		if !slices.Contains(applied, m.Version) {
			n++
		}
	}
	return n
}
