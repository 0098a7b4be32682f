package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

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

// Begin starts a request under key, scoped to the credential. It returns
// nil when the request is new and should run; a Replay when the same
// request already ran; bursar.Conflict when the key was used with another
// request, or when the first request is still running.
func (i *Idempotency) Begin(ctx context.Context, actor bursar.Actor, key string, request []byte) (*Replay, error) {
	if key == "" || len(key) > 255 {
		return nil, bursar.InvalidParam("Idempotency-Key", "An Idempotency-Key is 1 to 255 characters.")
	}
	sum := sha256.Sum256(request)
	hash := hex.EncodeToString(sum[:])
	var rec store.IdempotencyRecord
	var fresh bool
	err := i.deps.DB.InTx(ctx, func(tx store.Tx) error {
		var err error
		rec, fresh, err = tx.IdempotencyBegin(ctx, string(actor.Credential), key, hash, i.deps.now())
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
