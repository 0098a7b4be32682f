package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/bursar"
)

// CredentialInsert implements store.Tx. A platform key has no user, stored
// as NULL so the foreign key to users does not apply to it; a user that does
// not exist is bursar.NotFound.
func (t *tx) CredentialInsert(ctx context.Context, c bursar.Credential) error {
	const q = `INSERT INTO credentials (id, kind, user_id, name, hash, created_at, expires_at, revoked_at)
		VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6, $7, $8)`
	_, err := t.tx.Exec(ctx, q, c.ID, c.Kind, c.User, c.Name, c.Hash,
		c.CreatedAt, nullTime(c.ExpiresAt), nullTime(c.RevokedAt))
	if err != nil {
		return translate(fmt.Errorf("insert credential %s: %w", c.ID, err))
	}
	return nil
}

// CredentialGetByHash implements store.Tx.
func (t *tx) CredentialGetByHash(ctx context.Context, hash string) (bursar.Credential, error) {
	var c bursar.Credential
	var created time.Time
	var expires, revoked *time.Time
	const q = `SELECT id, kind, coalesce(user_id, ''), name, hash, created_at, expires_at, revoked_at
		FROM credentials WHERE hash = $1`
	err := t.tx.QueryRow(ctx, q, hash).Scan(&c.ID, &c.Kind, &c.User, &c.Name, &c.Hash, &created, &expires, &revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, bursar.Errorf(bursar.NotFound, "There is no such credential.")
	}
	if err != nil {
		// The hash stays out of the message: it is as good as the token in logs.
		return c, translate(fmt.Errorf("read credential by hash: %w", err))
	}
	c.CreatedAt, c.ExpiresAt, c.RevokedAt = created.UTC(), fromNull(expires), fromNull(revoked)
	return c, nil
}

// CredentialRevoke implements store.Tx. A credential revoked before keeps
// its first revocation time.
func (t *tx) CredentialRevoke(ctx context.Context, id bursar.CredentialID, at time.Time) error {
	const q = `UPDATE credentials SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`
	res, err := t.tx.Exec(ctx, q, at, id)
	if err != nil {
		return translate(fmt.Errorf("revoke credential %s: %w", id, err))
	}
	if res.RowsAffected() == 0 {
		return bursar.Errorf(bursar.NotFound, "There is no credential %s.", id)
	}
	return nil
}
