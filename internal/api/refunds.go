package api

import (
	"bursar.dev/bursar/internal/wire"
	"net/http"

	"bursar.dev/bursar/internal/bursar"
)

type refundObject = wire.Refund

func refundJSON(r bursar.Refund) refundObject { return wire.RefundOf(r) }

func (s *Server) handleRefundCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Amount *bursar.Amount `json:"amount"`
		Reason string         `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	rf, err := s.deps.Refunds.Request(r.Context(), actorOf(r), bursar.OrderID(r.PathValue("id")), in.Amount, in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, refundJSON(rf))
	return nil
}

func (s *Server) handleRefundList(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.deps.Refunds.List(r.Context(), actorOf(r), bursar.OrderID(r.PathValue("id")))
	if err != nil {
		return err
	}
	list := listObject[refundObject]{Object: "list", URL: r.URL.Path, Data: make([]refundObject, 0, len(rs))}
	for _, rf := range rs {
		list.Data = append(list.Data, refundJSON(rf))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) handleRefundGet(w http.ResponseWriter, r *http.Request) error {
	rf, err := s.deps.Refunds.Get(r.Context(), actorOf(r), bursar.RefundID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, refundJSON(rf))
	return nil
}

func (s *Server) handleRefundApprove(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	rf, err := s.deps.Refunds.Approve(r.Context(), actorOf(r), bursar.RefundID(r.PathValue("id")), in.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, refundJSON(rf))
	return nil
}

func (s *Server) handleRefundReject(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	rf, err := s.deps.Refunds.Reject(r.Context(), actorOf(r), bursar.RefundID(r.PathValue("id")), in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, refundJSON(rf))
	return nil
}
