package api

import (
	"net/http"

	"bursar.dev/bursar/internal/bursar"
)

type reviewObject struct {
	Object    string         `json:"object"`
	OrderID   bursar.OrderID `json:"order_id"`
	BuyerID   bursar.UserID  `json:"buyer_id"`
	SellerID  bursar.UserID  `json:"seller_id"`
	ItemID    bursar.ItemID  `json:"item_id"`
	Score     int            `json:"score"`
	Comment   string         `json:"comment"`
	CreatedAt *string        `json:"created_at"`
}

func reviewJSON(r bursar.Review) reviewObject {
	return reviewObject{Object: "review", OrderID: r.Order, BuyerID: r.Buyer, SellerID: r.Seller, ItemID: r.Item,
		Score: r.Score, Comment: r.Comment, CreatedAt: timestamp(r.CreatedAt)}
}

func (s *Server) handleReviewCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Score   int    `json:"score"`
		Comment string `json:"comment"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	rv, err := s.deps.Reviews.Create(r.Context(), actorOf(r), bursar.OrderID(r.PathValue("id")), in.Score, in.Comment)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, reviewJSON(rv))
	return nil
}

func (s *Server) handleReviewList(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryLimit(r, 10)
	if err != nil {
		return err
	}
	rs, more, err := s.deps.Reviews.List(r.Context(), bursar.UserID(r.PathValue("id")),
		bursar.OrderID(r.URL.Query().Get("starting_after")), limit)
	if err != nil {
		return err
	}
	list := listObject[reviewObject]{Object: "list", URL: r.URL.Path, HasMore: more, Data: make([]reviewObject, 0, len(rs))}
	for _, rv := range rs {
		list.Data = append(list.Data, reviewJSON(rv))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) handleRatingGet(w http.ResponseWriter, r *http.Request) error {
	sum, err := s.deps.Reviews.Summary(r.Context(), bursar.UserID(r.PathValue("id")))
	if err != nil {
		return err
	}
	avg := 0.0
	if sum.Count > 0 {
		// Rounded half up to two decimals for display; the counts are exact.
		avg = float64((sum.Sum*100+sum.Count/2)/sum.Count) / 100
	}
	byScore := map[string]int{}
	for i, n := range sum.ByScore {
		byScore[string(rune('1'+i))] = n
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "rating_summary", "seller_id": sum.Seller, "count": sum.Count,
		"average": avg, "by_score": byScore})
	return nil
}

func (s *Server) handleEntitlementGet(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	user := bursar.UserID(q.Get("user_id"))
	if user == "" {
		user = actorOf(r).User
	}
	if user == "" || q.Get("item_id") == "" {
		return bursar.Errorf(bursar.Invalid, "Ask with user_id and item_id.")
	}
	e, err := s.deps.Entitlements.Check(r.Context(), actorOf(r), user, bursar.ItemID(q.Get("item_id")))
	if err != nil {
		return err
	}
	var order *bursar.OrderID
	if e.Order != "" {
		order = &e.Order
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "entitlement", "user_id": e.User, "item_id": e.Item,
		"seller_id": e.Seller, "has_access": e.HasAccess, "order_id": order, "access_until": timestamp(e.AccessUntil)})
	return nil
}
