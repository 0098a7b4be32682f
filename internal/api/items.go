package api

import (
	"net/http"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// seconds converts a count of seconds from a request to a duration,
// refusing values whose conversion would overflow.
func seconds(param string, n int64) (time.Duration, error) {
	if n < 0 || n > 10*365*24*3600 {
		return 0, bursar.InvalidParam(param, "%s is between 0 and 315360000 seconds.", param)
	}
	return time.Duration(n) * time.Second, nil
}

func (s *Server) handleItemCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ID              string          `json:"id"`
		SellerID        bursar.UserID   `json:"seller_id"`
		Kind            bursar.ItemKind `json:"kind"`
		Title           string          `json:"title"`
		Price           bursar.Amount   `json:"price"`
		Currency        bursar.Currency `json:"currency"`
		HoldSeconds     int64           `json:"hold_seconds"`
		DurationSeconds int64           `json:"duration_seconds"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	hold, err := seconds("hold_seconds", in.HoldSeconds)
	if err != nil {
		return err
	}
	dur, err := seconds("duration_seconds", in.DurationSeconds)
	if err != nil {
		return err
	}
	it, err := s.deps.Items.Create(r.Context(), actorOf(r), bursar.Item{ID: bursar.ItemID(in.ID), Seller: in.SellerID,
		Kind: in.Kind, Title: in.Title, Price: bursar.Money{Amount: in.Price, Currency: in.Currency}, Hold: hold, Duration: dur})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, itemJSON(it))
	return nil
}

func (s *Server) handleItemGet(w http.ResponseWriter, r *http.Request) error {
	it, err := s.deps.Items.Get(r.Context(), bursar.ItemID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, itemJSON(it))
	return nil
}
