package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

func testItems(t *testing.T, h Harness) {
	ctx := context.Background()
	course := bursar.Item{ID: "it_c", Seller: "s_1", Kind: bursar.ItemCourse, Title: "Go in a week",
		Price: cny(19900), Hold: bursar.DefaultHold, CreatedAt: t0.In(cst), UpdatedAt: t0.In(cst)}
	session := bursar.Item{ID: "it_s", Seller: "s_1", Kind: bursar.ItemSession, Title: "A paid chat",
		Price: cny(0), Hold: 90 * time.Minute, Duration: 24 * time.Hour, CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}

	t.Run("items read back as stored, in UTC", func(t *testing.T) {
		db := h.Open(t)
		mustUsers(t, db, "s_1")
		for _, it := range []bursar.Item{course, session} {
			mustWrite(t, db, func(tx store.Tx) error { return tx.ItemInsert(ctx, it) })
			got, err := readTx(db, func(tx store.Tx) (bursar.Item, error) { return tx.ItemGet(ctx, it.ID) })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(it, got); diff != "" {
				t.Errorf("ItemGet(%s) mismatch (-want +got):\n%s", it.ID, diff)
			}
			checkUTC(t, "ItemGet", got.CreatedAt, got.UpdatedAt)
		}
	})

	fails := []struct {
		name string
		fn   func(tx store.Tx) error
		code bursar.Code
	}{
		{"a taken ID is a conflict", func(tx store.Tx) error { return tx.ItemInsert(ctx, course) }, bursar.Conflict},
		{"an item of a missing seller is not found", func(tx store.Tx) error {
			it := session
			it.Seller = "nobody"
			return tx.ItemInsert(ctx, it)
		}, bursar.NotFound},
		{"a missing item is not found", func(tx store.Tx) error {
			_, err := tx.ItemGet(ctx, "nope")
			return err
		}, bursar.NotFound},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			mustUsers(t, db, "s_1")
			mustWrite(t, db, func(tx store.Tx) error { return tx.ItemInsert(ctx, course) })
			wantCode(t, tt.name, db.InTx(ctx, tt.fn), tt.code)
		})
	}
}
