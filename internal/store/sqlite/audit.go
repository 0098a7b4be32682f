package sqlite

import (
	"context"
	"fmt"

	"bursar.dev/bursar/internal/bursar"
)

// AuditInsert implements store.Tx. The entry's ID is the database's; a is
// appended whatever its ID field holds.
func (t *tx) AuditInsert(ctx context.Context, a bursar.AuditEntry) error {
	const q = `INSERT INTO audit_log (actor, action, subject, detail, at) VALUES (?, ?, ?, ?, ?)`
	if _, err := t.tx.ExecContext(ctx, q, a.Actor, a.Action, a.Subject, a.Detail, ms(a.At)); err != nil {
		return translate(fmt.Errorf("audit %s by %s: %w", a.Action, a.Actor, err))
	}
	return nil
}
