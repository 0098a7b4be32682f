package sqlite

import (
	"context"
	"fmt"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// IdempotencyBegin implements store.Tx.
func (t *tx) IdempotencyBegin(ctx context.Context, scope, key, hash string, now time.Time) (store.IdempotencyRecord, bool, error) {
	const insert = `INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (scope, key) DO NOTHING`
	res, err := t.tx.ExecContext(ctx, insert, scope, key, hash, ms(now))
	if err != nil {
		return store.IdempotencyRecord{}, false, translate(fmt.Errorf("begin idempotency key %q: %w", key, err))
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return store.IdempotencyRecord{}, true, nil
	}
	var r store.IdempotencyRecord
	var created int64
	const q = `SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE scope = ? AND key = ?`
	if err := t.tx.QueryRowContext(ctx, q, scope, key).Scan(&r.Hash, &r.Status, &r.Body, &created); err != nil {
		return r, false, translate(fmt.Errorf("read idempotency key %q: %w", key, err))
	}
	r.CreatedAt = fromMS(created)
	if len(r.Body) == 0 {
		r.Body = nil // NULL while in flight and an empty body read back alike
	}
	return r, false, nil
}

// IdempotencyFinish implements store.Tx. A key that was never begun, or was
// forgotten, is bursar.NotFound.
func (t *tx) IdempotencyFinish(ctx context.Context, scope, key string, status int, body []byte) error {
	const q = `UPDATE idempotency_keys SET status = ?, body = ? WHERE scope = ? AND key = ?`
	res, err := t.tx.ExecContext(ctx, q, status, body, scope, key)
	if err != nil {
		return translate(fmt.Errorf("finish idempotency key %q: %w", key, err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return bursar.Errorf(bursar.NotFound, "There is no request in progress with the Idempotency-Key %q.", key)
	}
	return nil
}

// IdempotencyForget implements store.Tx.
func (t *tx) IdempotencyForget(ctx context.Context, scope, key string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ?`, scope, key); err != nil {
		return translate(fmt.Errorf("forget idempotency key %q: %w", key, err))
	}
	return nil
}

// IdempotencyPurge implements store.Tx.
func (t *tx) IdempotencyPurge(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		// SQLite would read a negative LIMIT as no limit at all.
		return 0, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	const q = `DELETE FROM idempotency_keys WHERE rowid IN (
		SELECT rowid FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)`
	res, err := t.tx.ExecContext(ctx, q, ms(before), limit)
	if err != nil {
		return 0, translate(fmt.Errorf("purge idempotency keys: %w", err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}
