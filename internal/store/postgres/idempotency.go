package postgres

import (
	"context"
	"fmt"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// IdempotencyBegin implements store.Tx. When two requests with one key
// race, the second insert waits for the first transaction; once that
// commits, the insert does nothing and the SELECT, a new statement under
// READ COMMITTED, sees its row.
func (t *tx) IdempotencyBegin(ctx context.Context, scope, key, hash string, now time.Time) (store.IdempotencyRecord, bool, error) {
	const insert = `INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (scope, key) DO NOTHING`
	res, err := t.tx.Exec(ctx, insert, scope, key, hash, now)
	if err != nil {
		return store.IdempotencyRecord{}, false, translate(fmt.Errorf("begin idempotency key %q: %w", key, err))
	}
	if res.RowsAffected() == 1 {
		return store.IdempotencyRecord{}, true, nil
	}
	var r store.IdempotencyRecord
	const q = `SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE scope = $1 AND key = $2`
	if err := t.tx.QueryRow(ctx, q, scope, key).Scan(&r.Hash, &r.Status, &r.Body, &r.CreatedAt); err != nil {
		return r, false, translate(fmt.Errorf("read idempotency key %q: %w", key, err))
	}
	r.CreatedAt = r.CreatedAt.UTC()
	if len(r.Body) == 0 {
		r.Body = nil // NULL while in flight and an empty body read back alike
	}
	return r, false, nil
}

// IdempotencyFinish implements store.Tx. A key that was never begun, or was
// forgotten, is bursar.NotFound.
func (t *tx) IdempotencyFinish(ctx context.Context, scope, key string, status int, body []byte) error {
	const q = `UPDATE idempotency_keys SET status = $1, body = $2 WHERE scope = $3 AND key = $4`
	res, err := t.tx.Exec(ctx, q, status, body, scope, key)
	if err != nil {
		return translate(fmt.Errorf("finish idempotency key %q: %w", key, err))
	}
	if res.RowsAffected() == 0 {
		return bursar.Errorf(bursar.NotFound, "There is no request in progress with the Idempotency-Key %q.", key)
	}
	return nil
}

// IdempotencyForget implements store.Tx.
func (t *tx) IdempotencyForget(ctx context.Context, scope, key string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key); err != nil {
		return translate(fmt.Errorf("forget idempotency key %q: %w", key, err))
	}
	return nil
}

// IdempotencyPurge implements store.Tx. Keys another transaction holds are
// skipped, so purges in several processes neither wait for each other nor
// for a request using an old key.
func (t *tx) IdempotencyPurge(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, bursar.InvalidParam("limit", "A limit is at least 1.")
	}
	const q = `DELETE FROM idempotency_keys WHERE (scope, key) IN (
		SELECT scope, key FROM idempotency_keys WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`
	tag, err := t.tx.Exec(ctx, q, before, limit)
	if err != nil {
		return 0, translate(fmt.Errorf("purge idempotency keys: %w", err))
	}
	return int(tag.RowsAffected()), nil
}
