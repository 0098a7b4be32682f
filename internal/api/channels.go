package api

import (
	"io"
	"net/http"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/service"
)

// maxNotification bounds a channel notification's body; real ones are a
// few kilobytes.
const maxNotification = 64 << 10

// handleNotify takes a channel's notification. It is public: the channel
// cannot send a bearer token, and the adapter verifies the signature
// instead. The body is read raw and handed on untouched, because the
// signature covers its exact bytes; the answer to a notification is the one
// the channel expects. Only a body too large or a channel this server does
// not have get Bursar's error object.
func (s *Server) handleNotify(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxNotification))
	if err != nil {
		s.writeError(w, r, bursar.Errorf(bursar.Invalid, "The notification is larger than %d bytes.", maxNotification))
		return
	}
	ans, err := s.deps.Notifications.Accept(r.Context(), bursar.Channel(r.PathValue("channel")),
		channel.Inbound{Header: r.Header, Body: body})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ans.ContentType != "" {
		w.Header().Set("Content-Type", ans.ContentType)
	}
	w.WriteHeader(ans.Status)
	_, _ = w.Write(ans.Body) // the channel sends again if this fails
}

func (s *Server) handleWithdrawalCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		UserID          bursar.UserID  `json:"user_id"`
		Amount          *bursar.Amount `json:"amount"`
		Account         string         `json:"account"`
		Name            string         `json:"name"`
		PaymentPassword string         `json:"payment_password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Amount == nil {
		return bursar.InvalidParam("amount", "Give the amount to withdraw, in fen.")
	}
	o, err := s.deps.Withdrawals.Request(r.Context(), actorOf(r), service.WithdrawalInput{User: in.UserID,
		Amount: *in.Amount, Account: in.Account, Name: in.Name, PaymentPassword: in.PaymentPassword})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, orderJSON(o))
	return nil
}

func (s *Server) handleWithdrawalApprove(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	o, err := s.deps.Withdrawals.Approve(r.Context(), actorOf(r), bursar.OrderID(r.PathValue("id")), in.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orderJSON(o))
	return nil
}

func (s *Server) handleWithdrawalReject(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := s.deps.Withdrawals.Reject(r.Context(), actorOf(r), bursar.OrderID(r.PathValue("id")), in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orderJSON(o))
	return nil
}
