package service

import (
	"context"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Ledger posts entries and proves the ledger's invariants.
type Ledger struct {
	deps Deps
}

// NewLedger returns the ledger use cases.
func NewLedger(d Deps) *Ledger { return &Ledger{deps: d} }

// Post validates e, stamps it with the current time unless it has one, and
// posts it in its own transaction. See store.Tx.EntryPost for the outcomes.
func (l *Ledger) Post(ctx context.Context, e bursar.Entry) (bursar.PostResult, error) {
	if e.PostedAt.IsZero() {
		e.PostedAt = l.deps.Now().UTC()
	}
	if err := e.Validate(); err != nil {
		return bursar.PostResult{}, err
	}
	var res bursar.PostResult
	err := l.deps.DB.InTx(ctx, func(tx store.Tx) error {
		var err error
		res, err = tx.EntryPost(ctx, e)
		return err
	})
	return res, err
}

// Verify checks every ledger invariant on one consistent snapshot.
func (l *Ledger) Verify(ctx context.Context) (bursar.LedgerReport, error) {
	var r bursar.LedgerReport
	err := l.deps.DB.InReadTx(ctx, func(tx store.Tx) error {
		var err error
		r, err = tx.LedgerVerify(ctx)
		return err
	})
	return r, err
}

// VerifyFor is Verify for a caller of the API. It is the platform's alone:
// the report names every account, and it reads the whole ledger. Outcomes:
// bursar.Forbidden for a user.
func (l *Ledger) VerifyFor(ctx context.Context, actor bursar.Actor) (bursar.LedgerReport, error) {
	if err := platformOnly(actor); err != nil {
		return bursar.LedgerReport{}, err
	}
	return l.Verify(ctx)
}
