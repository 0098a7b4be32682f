package api

import (
	"net/http"
	"strconv"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
)

func (s *Server) handleWalletGet(w http.ResponseWriter, r *http.Request) error {
	wal, err := s.deps.Wallets.Get(r.Context(), actorOf(r), bursar.UserID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, walletJSON(wal))
	return nil
}

func (s *Server) handleWalletStatement(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryLimit(r, 20)
	if err != nil {
		return err
	}
	var before int64
	if v := r.URL.Query().Get("before_entry"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 0 {
			return bursar.InvalidParam("before_entry", "before_entry is a ledger entry ID.")
		}
	}
	lines, more, err := s.deps.Wallets.Statement(r.Context(), actorOf(r), bursar.UserID(r.PathValue("id")), bursar.EntryID(before), limit)
	if err != nil {
		return err
	}
	list := listObject[statementLineObject]{Object: "list", URL: r.URL.Path, HasMore: more, Data: make([]statementLineObject, 0, len(lines))}
	for _, l := range lines {
		list.Data = append(list.Data, statementJSON(l))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) handleWalletAdjust(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Account  bursar.AccountKind `json:"account"`
		Amount   bursar.Amount      `json:"amount"`
		Reason   string             `json:"reason"`
		Operator string             `json:"operator"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.deps.Wallets.Adjust(r.Context(), actorOf(r), service.Adjustment{User: bursar.UserID(r.PathValue("id")),
		Account: in.Account, Amount: in.Amount, Reason: in.Reason, Operator: in.Operator})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"object": "adjustment", "entry_id": res.ID, "amount": in.Amount, "account": in.Account})
	return nil
}
