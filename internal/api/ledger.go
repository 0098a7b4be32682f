package api

import (
	"net/http"

	"bursar.dev/bursar/internal/bursar"
)

// ledgerVerificationObject is the outcome of checking every ledger
// invariant, as `bursar ledger verify --json` prints it, with ok spelled
// out so a client need not count problems.
type ledgerVerificationObject struct {
	Object string `json:"object"`
	OK     bool   `json:"ok"`
	bursar.LedgerReport
}

// handleLedgerVerification runs the verification now, on one consistent
// snapshot: a broken invariant is a finding, answered 200 with ok false,
// not an error of the request.
func (s *Server) handleLedgerVerification(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.deps.Ledger.VerifyFor(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	if rep.Problems == nil {
		rep.Problems = []bursar.LedgerProblem{}
	}
	writeJSON(w, http.StatusOK, ledgerVerificationObject{Object: "ledger_verification", OK: rep.OK(), LedgerReport: rep})
	return nil
}
