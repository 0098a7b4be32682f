package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"bursar.dev/bursar/internal/bursar"
)

// UserInsert implements store.Tx.
func (t *tx) UserInsert(ctx context.Context, u bursar.User) error {
	const q = `INSERT INTO users (id, display_name, avatar_url, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`
	if _, err := t.tx.Exec(ctx, q, u.ID, u.DisplayName, u.AvatarURL, u.CreatedAt, u.UpdatedAt); err != nil {
		return translate(fmt.Errorf("insert user %s: %w", u.ID, err))
	}
	return nil
}

// UserGet implements store.Tx.
func (t *tx) UserGet(ctx context.Context, id bursar.UserID) (bursar.User, error) {
	var u bursar.User
	var created, updated time.Time
	const q = `SELECT id, display_name, avatar_url, created_at, updated_at FROM users WHERE id = $1`
	err := t.tx.QueryRow(ctx, q, id).Scan(&u.ID, &u.DisplayName, &u.AvatarURL, &created, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, bursar.Errorf(bursar.NotFound, "There is no user %s.", id)
	}
	if err != nil {
		return u, translate(fmt.Errorf("read user %s: %w", id, err))
	}
	u.CreatedAt, u.UpdatedAt = created.UTC(), updated.UTC()
	return u, nil
}

// UserUpdate implements store.Tx.
func (t *tx) UserUpdate(ctx context.Context, u bursar.User) error {
	const q = `UPDATE users SET display_name = $1, avatar_url = $2, updated_at = $3 WHERE id = $4`
	res, err := t.tx.Exec(ctx, q, u.DisplayName, u.AvatarURL, u.UpdatedAt, u.ID)
	if err != nil {
		return translate(fmt.Errorf("update user %s: %w", u.ID, err))
	}
	if res.RowsAffected() == 0 {
		return bursar.Errorf(bursar.NotFound, "There is no user %s.", u.ID)
	}
	return nil
}

// UserList implements store.Tx. It reads one row past the limit to learn
// whether there are more.
func (t *tx) UserList(ctx context.Context, after bursar.UserID, limit int) ([]bursar.User, bool, error) {
	if limit < 1 || limit > 100 {
		return nil, false, bursar.InvalidParam("limit", "A limit is between 1 and 100.")
	}
	q := `SELECT id, display_name, avatar_url, created_at, updated_at FROM users`
	args := []any{limit + 1}
	if after != "" {
		var created time.Time
		err := t.tx.QueryRow(ctx, `SELECT created_at FROM users WHERE id = $1`, after).Scan(&created)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, false, bursar.InvalidParam("starting_after", "There is no user %s to page from.", after)
		}
		if err != nil {
			return nil, false, translate(fmt.Errorf("read user cursor %s: %w", after, err))
		}
		q += ` WHERE (created_at, id) < ($2, $3)`
		args = append(args, created, after)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT $1`
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, false, translate(fmt.Errorf("list users: %w", err))
	}
	defer rows.Close()
	var list []bursar.User
	for rows.Next() {
		var u bursar.User
		var created, updated time.Time
		if err := rows.Scan(&u.ID, &u.DisplayName, &u.AvatarURL, &created, &updated); err != nil {
			return nil, false, fmt.Errorf("list users: %w", err)
		}
		u.CreatedAt, u.UpdatedAt = created.UTC(), updated.UTC()
		list = append(list, u)
	}
	if err := rows.Err(); err != nil {
		return nil, false, translate(fmt.Errorf("list users: %w", err))
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	return list, more, nil
}

// SecretGet implements store.Tx.
func (t *tx) SecretGet(ctx context.Context, user bursar.UserID, kind bursar.SecretKind) (bursar.Secret, error) {
	const q = `SELECT hash, wrong_tries, locked_until, updated_at FROM secrets WHERE user_id = $1 AND kind = $2`
	return t.secretGet(ctx, q, user, kind)
}

// SecretGetForUpdate implements store.Tx with SELECT … FOR UPDATE: a
// parallel try waits here until this transaction ends, then reads the
// counter this one wrote.
func (t *tx) SecretGetForUpdate(ctx context.Context, user bursar.UserID, kind bursar.SecretKind) (bursar.Secret, error) {
	return t.secretGet(ctx, secretForUpdate, user, kind)
}

const secretForUpdate = `SELECT hash, wrong_tries, locked_until, updated_at FROM secrets WHERE user_id = $1 AND kind = $2 FOR UPDATE` //nolint:gosec // G101: a query, not a credential

// secretGet reads a secret with q, one of the two queries above.
func (t *tx) secretGet(ctx context.Context, q string, user bursar.UserID, kind bursar.SecretKind) (bursar.Secret, error) {
	s := bursar.Secret{User: user, Kind: kind}
	var locked *time.Time
	var updated time.Time
	err := t.tx.QueryRow(ctx, q, user, kind).Scan(&s.Hash, &s.WrongTries, &locked, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, bursar.Errorf(bursar.NotFound, "The user %s has no %s password.", user, kind)
	}
	if err != nil {
		return s, translate(fmt.Errorf("read %s password of %s: %w", kind, user, err))
	}
	s.LockedUntil, s.UpdatedAt = fromNull(locked), updated.UTC()
	return s, nil
}

// SecretPut implements store.Tx. A user that does not exist is
// bursar.NotFound.
func (t *tx) SecretPut(ctx context.Context, s bursar.Secret) error {
	const q = `INSERT INTO secrets (user_id, kind, hash, wrong_tries, locked_until, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id, kind) DO UPDATE SET hash = excluded.hash, wrong_tries = excluded.wrong_tries,
			locked_until = excluded.locked_until, updated_at = excluded.updated_at`
	_, _, err := t.tx.later(ctx, nil, q, s.User, s.Kind, s.Hash, s.WrongTries, nullTime(s.LockedUntil), s.UpdatedAt)
	if err != nil {
		return translate(fmt.Errorf("store %s password of %s: %w", s.Kind, s.User, err))
	}
	return nil
}
