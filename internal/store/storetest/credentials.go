package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

func testCredentials(t *testing.T, h Harness) {
	ctx := context.Background()
	platform := bursar.Credential{ID: "cred_p", Kind: bursar.CredentialPlatform, Name: "production backend",
		Hash: "hash_p", CreatedAt: t0.In(cst)}
	token := bursar.Credential{ID: "cred_u", Kind: bursar.CredentialUser, User: "u_1", Name: "login",
		Hash: "hash_u", CreatedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour).In(cst)}

	t.Run("credentials read back by hash as stored, in UTC", func(t *testing.T) {
		db := h.Open(t)
		mustUsers(t, db, "u_1")
		for _, c := range []bursar.Credential{platform, token} {
			mustWrite(t, db, func(tx store.Tx) error { return tx.CredentialInsert(ctx, c) })
			got, err := readTx(db, func(tx store.Tx) (bursar.Credential, error) { return tx.CredentialGetByHash(ctx, c.Hash) })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, got); diff != "" {
				t.Errorf("CredentialGetByHash(%s) mismatch (-want +got):\n%s", c.Hash, diff)
			}
			checkUTC(t, "CredentialGetByHash", got.CreatedAt, got.ExpiresAt, got.RevokedAt)
		}
		if n := h.Count(t, db, `SELECT count(*) FROM credentials WHERE user_id IS NULL AND expires_at IS NULL AND revoked_at IS NULL`); n != 1 {
			t.Errorf("%d credentials with no user, expiry or revocation, want the platform key alone", n)
		}
	})

	t.Run("a revocation is kept and not moved", func(t *testing.T) {
		db := h.Open(t)
		mustUsers(t, db, "u_1")
		mustWrite(t, db, func(tx store.Tx) error { return tx.CredentialInsert(ctx, token) })
		revoked := t0.Add(time.Hour)
		mustWrite(t, db, func(tx store.Tx) error { return tx.CredentialRevoke(ctx, token.ID, revoked.In(cst)) })
		mustWrite(t, db, func(tx store.Tx) error { return tx.CredentialRevoke(ctx, token.ID, revoked.Add(time.Hour)) })
		got, err := readTx(db, func(tx store.Tx) (bursar.Credential, error) { return tx.CredentialGetByHash(ctx, token.Hash) })
		if err != nil {
			t.Fatal(err)
		}
		if !got.RevokedAt.Equal(revoked) || got.Usable(t0) {
			t.Errorf("RevokedAt = %v, usable %v; want %v, not usable", got.RevokedAt, got.Usable(t0), revoked)
		}
		checkUTC(t, "RevokedAt", got.RevokedAt)
	})

	fails := []struct {
		name string
		fn   func(tx store.Tx) error
		code bursar.Code
	}{
		{"a taken ID is a conflict", func(tx store.Tx) error {
			c := platform
			c.Hash = "other"
			return tx.CredentialInsert(ctx, c)
		}, bursar.Conflict},
		{"a taken hash is a conflict", func(tx store.Tx) error {
			c := platform
			c.ID = "cred_other"
			return tx.CredentialInsert(ctx, c)
		}, bursar.Conflict},
		{"a token for a missing user is not found", func(tx store.Tx) error {
			c := token
			c.User = "nobody"
			return tx.CredentialInsert(ctx, c)
		}, bursar.NotFound},
		{"an unknown hash is not found", func(tx store.Tx) error {
			_, err := tx.CredentialGetByHash(ctx, "nope")
			return err
		}, bursar.NotFound},
		{"revoking a missing credential is not found", func(tx store.Tx) error {
			return tx.CredentialRevoke(ctx, "nope", t0)
		}, bursar.NotFound},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			db := h.Open(t)
			mustUsers(t, db, "u_1")
			mustWrite(t, db, func(tx store.Tx) error { return tx.CredentialInsert(ctx, platform) })
			wantCode(t, tt.name, db.InTx(ctx, tt.fn), tt.code)
		})
	}
}
