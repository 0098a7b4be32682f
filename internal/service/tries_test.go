package service_test

import (
	"context"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/ratelimit"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// TestTries checks the limit on wrong passwords per account: right ones are
// never refused while under it, wrong ones count, and once over it every
// kind of check refuses, RateLimited with a wait, before the password is
// even looked at.
func TestTries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		b.deps.Tries = ratelimit.New(3, time.Hour, 0, b.clock.Now)
		orders, users, auth := service.NewOrders(b.deps), service.NewUsers(b.deps), service.NewAuth(b.deps)
		admins := service.NewAdmins(b.deps)
		_, err := admins.Create(ctx, "alice", adminPassword, bursar.AdminOperator)
		must(t, err)
		must(t, users.SetPassword(ctx, b.platform, "buyer", bursar.SecretLogin, "", "a login password"))
		b.fund(t, "buyer", bursar.AccountUserCash, 100_000)

		pay := func(pw string) error {
			_, err := orders.PayWithWallet(ctx, b.buyer, b.buy(t, b.session).ID, pw)
			return err
		}
		tests := []struct {
			name  string
			right func() error
			wrong func() error
		}{
			{"paying from the wallet", func() error { return pay(pin) }, func() error { return pay("000000") }},
			{"verifying a password",
				func() error { return users.VerifyPassword(ctx, b.buyer, "buyer", bursar.SecretPayment, pin) },
				func() error { return users.VerifyPassword(ctx, b.buyer, "buyer", bursar.SecretPayment, "000000") }},
			{"logging in",
				func() error { _, _, err := auth.Login(ctx, "buyer", "a login password"); return err },
				func() error { _, _, err := auth.Login(ctx, "buyer", "not the password"); return err }},
			{"signing in to the console",
				func() error { _, _, err := admins.SignIn(ctx, "alice", adminPassword); return err },
				func() error { _, _, err := admins.SignIn(ctx, "alice", "wrong password!"); return err }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b.clock.Advance(24 * time.Hour) // a fresh bucket, and no lockout left
				for range 5 {
					must(t, tt.right()) // right tries are free
				}
				for i := range 3 {
					wantErr(t, "a wrong password under the limit", tt.wrong(), bursar.Forbidden)
					if i < 2 {
						must(t, tt.right()) // resets the lockout, not the limit
					}
				}
				for _, try := range []func() error{tt.wrong, tt.right} {
					err := try()
					wantErr(t, "a try over the limit", err, bursar.RateLimited)
					if got := bursar.ErrorRetryAfter(err); got != 20*60 {
						t.Errorf("Retry-After = %ds, want the 20 minutes until a try comes back", got)
					}
				}
				b.clock.Advance(20 * time.Minute)
				must(t, tt.right())
			})
		}
	})
}
