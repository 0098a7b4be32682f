package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Idempotency remembers the answers to requests sent with an
// Idempotency-Key, so a retried request gets the first answer again instead
// of acting twice.
type Idempotency struct{ deps Deps }

// NewIdempotency returns the idempotency store's use cases.
func NewIdempotency(d Deps) *Idempotency { return &Idempotency{deps: d} }

// Replay is a stored answer to send again.
type Replay struct {
	Status int
	Body   []byte
}

// InFlightLease is how long a request under an Idempotency-Key may run
// before a retry of it is let through. A key is left in flight for good when
// the process dies mid-request, or when the database fails before the
// answer is stored; without a lease its retries would be refused forever.
// It is far longer than any request takes: channel calls time out within
// seconds. Should a request outlive it, the retry still cannot act twice,
// since every use case checks its object's state in its own transaction.
const InFlightLease = 2 * time.Minute

// IdempotencyKeyLifetime is how long a key is remembered, counted from its
// first request, as Stripe does: far longer than any client retries, and
// short enough that the stored answers, one per keyed request, do not pile
// up. After it the key is new again, and Purge removes it.
const IdempotencyKeyLifetime = 24 * time.Hour

// purgeBatch is how many keys one purge transaction removes, so that it
// never holds the writer for long.
const purgeBatch = 1000

// Begin starts a request under key, scoped to the credential. It returns
// nil when the request is new and should run (so is one whose key was first
// used more than IdempotencyKeyLifetime ago), or when the same request was
// left in flight for longer than InFlightLease; a Replay when the same
// request already ran; bursar.Conflict when the key was used with another
// request, or when the first request is still running.
func (i *Idempotency) Begin(ctx context.Context, actor bursar.Actor, key string, request []byte) (*Replay, error) {
	if key == "" || len(key) > 255 {
		return nil, bursar.InvalidParam("Idempotency-Key", "An Idempotency-Key is 1 to 255 characters.")
	}
	sum := sha256.Sum256(request)
	hash := hex.EncodeToString(sum[:])
	scope, now := string(actor.Credential), i.deps.now()
	var rec store.IdempotencyRecord
	var fresh bool
	err := i.deps.DB.InTx(ctx, func(tx store.Tx) error {
		var err error
		rec, fresh, err = tx.IdempotencyBegin(ctx, scope, key, hash, now)
		if err != nil || fresh {
			return err
		}
		age := now.Sub(rec.CreatedAt)
		expired := age > IdempotencyKeyLifetime // and not yet purged
		abandoned := rec.Hash == hash && rec.Status == 0 && age >= InFlightLease
		if !expired && !abandoned {
			return nil
		}
		// Begin it afresh. Of two retries taking it over at once,
		// PostgreSQL's second delete waits for the first transaction and
		// then finds no row it can see, so its insert finds the new key in
		// flight; SQLite runs the two one after the other.
		if err := tx.IdempotencyForget(ctx, scope, key); err != nil {
			return err
		}
		rec, fresh, err = tx.IdempotencyBegin(ctx, scope, key, hash, now)
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case fresh:
		return nil, nil
	case rec.Hash != hash:
		return nil, &bursar.Error{Code: bursar.Conflict, Param: "Idempotency-Key",
			Message: "This Idempotency-Key was used with a different request; use a new key for a new request."}
	case rec.Status == 0:
		return nil, &bursar.Error{Code: bursar.Conflict, Param: "Idempotency-Key",
			Message: "A request with this Idempotency-Key is still being processed; retry in a moment."}
	}
	return &Replay{Status: rec.Status, Body: rec.Body}, nil
}

// Purge removes the keys first used more than IdempotencyKeyLifetime ago
// and returns how many it removed: a batch per transaction, and at most
// ten batches, so that a backlog is worked off over several calls rather
// than in one long one.
func (i *Idempotency) Purge(ctx context.Context) (int, error) {
	before := i.deps.now().Add(-IdempotencyKeyLifetime)
	total := 0
	for range 10 {
		var n int
		err := i.deps.DB.InTx(ctx, func(tx store.Tx) error {
			var err error
			n, err = tx.IdempotencyPurge(ctx, before, purgeBatch)
			return err
		})
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
	return total, nil
}

// Finish stores the answer to the request under key.
func (i *Idempotency) Finish(ctx context.Context, actor bursar.Actor, key string, status int, body []byte) error {
	return i.deps.DB.InTx(ctx, func(tx store.Tx) error {
		return tx.IdempotencyFinish(ctx, string(actor.Credential), key, status, body)
	})
}

// Forget drops key, for a request refused before it did anything, so the
// client can fix it and send it again under the same key.
func (i *Idempotency) Forget(ctx context.Context, actor bursar.Actor, key string) error {
	return i.deps.DB.InTx(ctx, func(tx store.Tx) error {
		return tx.IdempotencyForget(ctx, string(actor.Credential), key)
	})
}
