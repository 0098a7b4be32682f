package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	"bursar.dev/bursar/internal/bursar"

	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/sqlite"
	"bursar.dev/bursar/internal/store/storetest"
)

func open(t testing.TB) store.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "bursar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

var harness = storetest.Harness{
	Open: open,
	Exec: func(t testing.TB, db store.DB, query string) {
		t.Helper()
		if err := db.(*sqlite.DB).Exec(context.Background(), query); err != nil {
			t.Fatalf("exec %s: %v", query, err)
		}
	},
	Count: func(t testing.TB, db store.DB, query string) int64 {
		t.Helper()
		n, err := db.(*sqlite.DB).QueryInt(context.Background(), query)
		if err != nil {
			t.Fatalf("query %s: %v", query, err)
		}
		return n
	},
}

func TestConformance(t *testing.T) { storetest.Run(t, harness) }

func BenchmarkEntryPost(b *testing.B) { storetest.Bench(b, harness) }

// TestPragmas opens the file with the application's own DSNs and reads each
// setting back, so a key the driver ignored fails here.
func TestPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	w, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	for _, readOnly := range []bool{false, true} {
		conn, err := sql.Open("sqlite", sqlite.DSN(path, readOnly))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000",
			"query_only": map[bool]string{false: "0", true: "1"}[readOnly],
			"temp_store": map[bool]string{false: "2", true: "0"}[readOnly],
		}
		for pragma, w := range want {
			var got string
			if err := conn.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", pragma, err)
			}
			if got != w {
				t.Errorf("read-only=%v: PRAGMA %s = %q, want %q", readOnly, pragma, got, w)
			}
		}
		conn.Close()
	}
}

// TestReadersStayOpen runs more read transactions at once than the pool
// has connections, over and over: each connection must be opened once and
// kept, not closed after a read and opened again.
func TestReadersStayOpen(t *testing.T) {
	db := open(t).(*sqlite.DB)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				err := db.InReadTx(ctx, func(tx store.Tx) error {
					_, err := tx.AccountGet(ctx, "platform:fees")
					if bursar.ErrorCode(err) == bursar.NotFound {
						err = nil
					}
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := db.ReadStats()
	if st.MaxIdleClosed != 0 || st.MaxLifetimeClosed != 0 || st.MaxIdleTimeClosed != 0 {
		t.Errorf("the pool closed connections it should have kept: %+v", st)
	}
	if st.OpenConnections < 2 {
		t.Errorf("%d read connections open after 16 concurrent readers, want them all kept", st.OpenConnections)
	}
}
