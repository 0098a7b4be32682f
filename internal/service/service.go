// Package service holds Bursar's use cases: each exported type is one
// aggregate (Ledger, later Orders, Escrow, Refunds, …) whose methods run a
// whole business operation in one store transaction. Rules that do not depend
// on the database engine live here once, not in each engine.
//
// It depends on the store and channel contracts only, never on an
// implementation, and knows nothing of HTTP.
package service

import (
	"log/slog"
	"time"

	"bursar.dev/bursar/internal/store"
)

// Deps is what every service needs. Now is the clock; tests move it.
type Deps struct {
	DB  store.DB
	Now func() time.Time
	Log *slog.Logger
}
