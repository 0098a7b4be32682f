package postgres_test

import (
	"context"
	"testing"

	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/postgres"
	"bursar.dev/bursar/internal/store/postgres/pgtest"
	"bursar.dev/bursar/internal/store/storetest"
)

func open(t testing.TB) store.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.URL(t))
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
		if err := db.(*postgres.DB).Exec(context.Background(), query); err != nil {
			t.Fatalf("exec %s: %v", query, err)
		}
	},
	Count: func(t testing.TB, db store.DB, query string) int64 {
		t.Helper()
		n, err := db.(*postgres.DB).QueryInt(context.Background(), query)
		if err != nil {
			t.Fatalf("query %s: %v", query, err)
		}
		return n
	},
}

func TestConformance(t *testing.T) { storetest.Run(t, harness) }

func BenchmarkEntryPost(b *testing.B) { storetest.Bench(b, harness) }
