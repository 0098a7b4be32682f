package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// CredentialInsert implements store.Tx. A platform key has no user, stored
// as NULL so the foreign key to users does not apply to it; a user that does
// not exist is bursar.NotFound.
func (t *tx) CredentialInsert(ctx context.Context, c bursar.Credential) error {
	const q = `INSERT INTO credentials (id, kind, user_id, name, hash, created_at, expires_at, revoked_at)
		VALUES (?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?)`
	_, err := t.tx.ExecContext(ctx, q, c.ID, c.Kind, c.User, c.Name, c.Hash,
		ms(c.CreatedAt), nullMS(c.ExpiresAt), nullMS(c.RevokedAt))
	if err != nil {
		return translate(fmt.Errorf("insert credential %s: %w", c.ID, err))
	}
	return nil
}

// CredentialGetByHash implements store.Tx.
func (t *tx) CredentialGetByHash(ctx context.Context, hash string) (bursar.Credential, error) {
	var c bursar.Credential
	var created int64
	var expires, revoked sql.NullInt64
	const q = `SELECT id, kind, coalesce(user_id, ''), name, hash, created_at, expires_at, revoked_at
		FROM credentials WHERE hash = ?`
	err := t.tx.QueryRowContext(ctx, q, hash).Scan(&c.ID, &c.Kind, &c.User, &c.Name, &c.Hash, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return c, bursar.Errorf(bursar.NotFound, "There is no such credential.")
	}
	if err != nil {
		// The hash stays out of the message: it is as good as the token in logs.
		return c, translate(fmt.Errorf("read credential by hash: %w", err))
	}
	c.CreatedAt, c.ExpiresAt, c.RevokedAt = fromMS(created), fromNullMS(expires), fromNullMS(revoked)
	return c, nil
}

// CredentialRevoke implements store.Tx. A credential revoked before keeps
// its first revocation time.
func (t *tx) CredentialRevoke(ctx context.Context, id bursar.CredentialID, at time.Time) error {
	const q = `UPDATE credentials SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`
	res, err := t.tx.ExecContext(ctx, q, ms(at), id)
	if err != nil {
		return translate(fmt.Errorf("revoke credential %s: %w", id, err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return bursar.Errorf(bursar.NotFound, "There is no credential %s.", id)
	}
	return nil
}
