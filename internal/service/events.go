package service

import (
	"context"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// emit writes an event to the outbox in tx, with a delivery for each
// endpoint that wants it.
func emit(ctx context.Context, tx store.Tx, e bursar.Event) error {
	return nil // being written: the outbox lands with the webhooks
}
