// Package service holds Bursar's use cases: each exported type is one
// aggregate (Auth, Users, Items, Orders, Wallets, Jobs) whose methods run a
// whole business operation in one store transaction. Rules that do not
// depend on the database engine live here once, not in each engine.
//
// Every method that acts on someone's objects takes the bursar.Actor making
// the request and answers bursar.NotFound, never the object, when the actor
// may not see it.
//
// It depends on the store and channel contracts only, never on an
// implementation, and knows nothing of HTTP.
package service

import (
	"context"
	"log/slog"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/ratelimit"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/webhook"
)

// Deps is what every service needs.
type Deps struct {
	DB  store.DB
	Now func() time.Time // the clock; tests move it
	Log *slog.Logger
	// Pepper keys the payment-password hash. It is a server secret kept
	// out of the database; changing it invalidates every payment password.
	Pepper []byte
	// CommissionBPS is the platform's fee on each release, in basis points.
	CommissionBPS int
	// OrderExpiry is how long an unpaid order stays payable;
	// bursar.DefaultOrderExpiry when zero.
	OrderExpiry time.Duration
	// TokenTTL is how long a user token from a login lives; 30 days when zero.
	TokenTTL time.Duration
	// PaymentCheckAfter is how soon after a channel payment starts Bursar
	// first queries the channel about it; a minute when zero.
	PaymentCheckAfter time.Duration

	// Channels are the payment channels this deployment has, by name.
	Channels map[bursar.Channel]channel.Channel
	// PublicURL is where the channels reach Bursar (scheme and host, no
	// trailing slash): notifications go to PublicURL/v1/notify/{channel}.
	PublicURL string
	// Withdrawals limits what sellers take out.
	Withdrawals WithdrawalLimits
	// Tries limits wrong passwords per user and per admin, whatever the
	// address or surface they come from; nil limits none.
	Tries *ratelimit.Limiter
	// Webhooks sends the outbox to the platform's endpoints; with none,
	// events are still recorded, and sent once a process with one runs.
	Webhooks webhook.Sender
}

// WithdrawalLimits bound withdrawals. Zero fields take the defaults.
type WithdrawalLimits struct {
	Min          bursar.Amount // the smallest withdrawal; Alipay pays out at least 0.10 yuan
	ApprovalOver bursar.Amount // larger withdrawals wait for the platform's approval
	DailyCount   int           // withdrawals per user per day (Beijing time)
	DailyAmount  bursar.Amount // amount per user per day
}

// The default withdrawal limits.
var defaultWithdrawalLimits = WithdrawalLimits{Min: 10, ApprovalOver: 500_000, DailyCount: 3, DailyAmount: 5_000_000}

func (d Deps) withdrawalLimits() WithdrawalLimits {
	l := d.Withdrawals
	def := defaultWithdrawalLimits
	if l.Min == 0 {
		l.Min = def.Min
	}
	if l.ApprovalOver == 0 {
		l.ApprovalOver = def.ApprovalOver
	}
	if l.DailyCount == 0 {
		l.DailyCount = def.DailyCount
	}
	if l.DailyAmount == 0 {
		l.DailyAmount = def.DailyAmount
	}
	return l
}

// channel returns the named channel, or an error a client understands.
func (d Deps) channel(name bursar.Channel) (channel.Channel, error) {
	if ch, ok := d.Channels[name]; ok {
		return ch, nil
	}
	return nil, bursar.Errorf(bursar.ChannelFailed, "The channel %q is not configured on this server.", name)
}

// log is the logger, or one that discards when none was given.
func (d Deps) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

func (d Deps) now() time.Time { return d.Now().UTC().Truncate(time.Millisecond) }

func (d Deps) paymentCheckAfter() time.Duration {
	if d.PaymentCheckAfter > 0 {
		return d.PaymentCheckAfter
	}
	return time.Minute
}

func (d Deps) orderExpiry() time.Duration {
	if d.OrderExpiry > 0 {
		return d.OrderExpiry
	}
	return bursar.DefaultOrderExpiry
}

// inTx runs fn in a write transaction. When fn's outcome is an error that
// must still commit what fn wrote (a wrong password's attempt counter), fn
// returns nil and puts the error in *keep; inTx returns it after commit.
func (d Deps) inTx(ctx context.Context, fn func(tx store.Tx, keep *error) error) error {
	var kept error
	err := d.DB.InTx(ctx, func(tx store.Tx) error {
		kept = nil // InTx may run fn again
		return fn(tx, &kept)
	})
	if err != nil {
		return err
	}
	return kept
}

// read runs fn in a read-only transaction.
func (d Deps) read(ctx context.Context, fn func(tx store.Tx) error) error {
	return d.DB.InReadTx(ctx, fn)
}

// notFound is the answer for an object that does not exist or that the actor
// may not see: the two must be indistinguishable.
func notFound(what string, id any) error {
	return bursar.Errorf(bursar.NotFound, "There is no %s %v.", what, id)
}

func platformOnly(a bursar.Actor) error {
	if !a.IsPlatform() {
		return bursar.Errorf(bursar.Forbidden, "Only the platform's secret key may do this.")
	}
	return nil
}

// actorName names an actor in records people read: "user:42",
// "platform:key_…", or "system" for the service's own jobs.
func actorName(a bursar.Actor) string {
	switch {
	case a.Admin != "":
		return "admin:" + a.Admin
	case a.Credential == "":
		return "system"
	case a.Kind == bursar.CredentialUser:
		return "user:" + string(a.User)
	}
	return "platform:" + string(a.Credential)
}

func audit(ctx context.Context, tx store.Tx, a bursar.Actor, action, subject, detail string, at time.Time) error {
	return tx.AuditInsert(ctx, bursar.AuditEntry{Actor: actorName(a), Action: action, Subject: subject, Detail: detail, At: at})
}
