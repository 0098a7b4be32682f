package service_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

func TestTokens(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		must(t, b.users.SetPassword(ctx, b.platform, "buyer", bursar.SecretLogin, "", "correct horse"))

		if _, _, err := b.auth.Login(ctx, "buyer", "wrong horse"); bursar.ErrorCode(err) != bursar.Forbidden {
			t.Errorf("a wrong login password: %v, want forbidden", err)
		}
		if _, _, err := b.auth.Login(ctx, "ghost", "correct horse"); bursar.ErrorCode(err) != bursar.Forbidden {
			t.Errorf("an unknown user: %v, want forbidden", err)
		}
		token, c, err := b.auth.Login(ctx, "buyer", "correct horse")
		must(t, err)
		actor, err := b.auth.Authenticate(ctx, token)
		if err != nil || actor.User != "buyer" || actor.Kind != bursar.CredentialUser || actor.Credential != c.ID {
			t.Fatalf("Authenticate(login token) = %+v, %v", actor, err)
		}

		minted, _, err := b.auth.MintToken(ctx, b.platform, "seller", "app", time.Hour)
		must(t, err)
		if _, _, err := b.auth.MintToken(ctx, actor, "buyer", "app", time.Hour); bursar.ErrorCode(err) != bursar.Forbidden {
			t.Errorf("a user minting tokens: %v, want forbidden", err)
		}
		if _, _, err := b.auth.MintToken(ctx, actor, "seller", "app", time.Hour); bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("a user minting tokens for another: %v, want not_found", err)
		}
		b.clock.Advance(time.Hour)
		if _, err := b.auth.Authenticate(ctx, minted); bursar.ErrorCode(err) != bursar.Unauthenticated {
			t.Errorf("an expired token: %v, want unauthenticated", err)
		}

		must(t, b.auth.Revoke(ctx, actor, token))
		if _, err := b.auth.Authenticate(ctx, token); bursar.ErrorCode(err) != bursar.Unauthenticated {
			t.Errorf("a revoked token: %v, want unauthenticated", err)
		}
		for _, bad := range []string{"", "sk_nope", "ut_nope", "Bearer x"} {
			if _, err := b.auth.Authenticate(ctx, bad); bursar.ErrorCode(err) != bursar.Unauthenticated {
				t.Errorf("Authenticate(%q): %v, want unauthenticated", bad, err)
			}
		}
	})
}

func TestChangingAPasswordNeedsTheOldOne(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		tests := []struct {
			old, new string
			code     bursar.Code
		}{
			{"", "135790", bursar.Invalid},
			{"000000", "135790", bursar.Forbidden},
			{pin, "12345", bursar.Invalid},
			{pin, "abcdef", bursar.Invalid},
			{pin, "135790", ""},
			{pin, "246810", bursar.Forbidden}, // the old one is no longer pin
		}
		for _, tt := range tests {
			err := b.users.SetPassword(ctx, b.buyer, "buyer", bursar.SecretPayment, tt.old, tt.new)
			if code := bursar.ErrorCode(err); code != tt.code {
				t.Errorf("SetPassword(old %q, new %q): code %q (%v), want %q", tt.old, tt.new, code, err, tt.code)
			}
		}
		if err := b.users.VerifyPassword(ctx, b.buyer, "buyer", bursar.SecretPayment, "135790"); err != nil {
			t.Errorf("the new payment password: %v", err)
		}
	})
}

// TestLoginLockoutInParallel sends wrong login passwords at once: the slow
// hashes run in parallel, but the tries are counted one by one.
func TestLoginLockoutInParallel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		must(t, b.users.SetPassword(ctx, b.platform, "buyer", bursar.SecretLogin, "", "correct horse"))
		const tries = 8
		codes := make(chan bursar.Code, tries)
		var wg sync.WaitGroup
		for range tries {
			wg.Go(func() {
				_, _, err := b.auth.Login(ctx, "buyer", "wrong horse")
				codes <- bursar.ErrorCode(err)
			})
		}
		wg.Wait()
		close(codes)
		count := map[bursar.Code]int{}
		for c := range codes {
			count[c]++
		}
		if count[bursar.Forbidden] != bursar.MaxWrongTries-1 || count[bursar.Locked] != tries-bursar.MaxWrongTries+1 {
			t.Errorf("answers = %v", count)
		}
		_, _, err := b.auth.Login(ctx, "buyer", "correct horse")
		if bursar.ErrorCode(err) != bursar.Locked {
			t.Errorf("the right password while locked: %v, want locked", err)
		}
	})
}
