package storetest

import (
	"context"
	"testing"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// testAudit checks that entries are appended. The contract has no way to
// read the log, so the suite counts rows.
func testAudit(t *testing.T, h Harness) {
	ctx := context.Background()
	db := h.Open(t)
	entries := []bursar.AuditEntry{
		{Actor: "admin:alice", Action: "refund.approve", Subject: "ord_1", Detail: `{"reason":"duplicate"}`, At: t0.In(cst)},
		{ID: 99, Actor: "system", Action: "escrow.release", Subject: "ord_1", At: t0},
		{Actor: "system", Action: "escrow.release", Subject: "ord_1", At: t0}, // the same twice is two entries
	}
	for _, a := range entries {
		mustWrite(t, db, func(tx store.Tx) error { return tx.AuditInsert(ctx, a) })
	}
	if n := h.Count(t, db, `SELECT count(*) FROM audit_log WHERE subject = 'ord_1'`); n != 3 {
		t.Errorf("%d audit entries, want 3", n)
	}
	if n := h.Count(t, db, `SELECT count(*) FROM audit_log WHERE id = 99`); n != 0 {
		t.Errorf("an entry kept the ID it was given; the log numbers its entries itself")
	}
	const q = `SELECT count(*) FROM audit_log WHERE actor = 'admin:alice' AND action = 'refund.approve'
		AND detail = '{"reason":"duplicate"}'`
	if n := h.Count(t, db, q); n != 1 {
		t.Errorf("the first entry is not stored as given")
	}
}
