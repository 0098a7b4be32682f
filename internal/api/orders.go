package api

import (
	"net"
	"net/http"
	"net/url"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/clientip"
	"bursar.dev/bursar/internal/service"
)

func (s *Server) handleOrderCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		BuyerID  bursar.UserID     `json:"buyer_id"`
		ItemID   bursar.ItemID     `json:"item_id"`
		SellerID bursar.UserID     `json:"seller_id"`
		Amount   *bursar.Amount    `json:"amount"`
		Subject  string            `json:"subject"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	o, existing, err := s.deps.Orders.CreatePurchase(r.Context(), actorOf(r), service.PurchaseInput{Buyer: in.BuyerID,
		Item: in.ItemID, Seller: in.SellerID, Amount: in.Amount, Subject: in.Subject, Metadata: in.Metadata})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if existing {
		status = http.StatusOK // the buyer already owns the course: the purchase that granted it
	}
	writeJSON(w, status, orderJSON(o))
	return nil
}

func (s *Server) handleOrderGet(w http.ResponseWriter, r *http.Request) error {
	id := bursar.OrderID(r.PathValue("id"))
	if r.URL.Query().Get("expand") == "entries" {
		o, es, err := s.deps.Orders.GetWithEntries(r.Context(), actorOf(r), id)
		if err != nil {
			return err
		}
		obj := orderJSON(o)
		obj.Entries = make([]entryObject, 0, len(es))
		for _, e := range es {
			obj.Entries = append(obj.Entries, entryJSON(e))
		}
		writeJSON(w, http.StatusOK, obj)
		return nil
	}
	o, err := s.deps.Orders.Get(r.Context(), actorOf(r), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orderJSON(o))
	return nil
}

// handleOrderList lists orders newest first. role=buyer or role=seller with
// user_id picks bought or sold orders; a user token sees its own only.
func (s *Server) handleOrderList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := bursar.OrderFilter{Type: bursar.OrderType(q.Get("type")), Status: bursar.OrderStatus(q.Get("status")),
		Item: bursar.ItemID(q.Get("item_id")), After: bursar.OrderID(q.Get("starting_after")), Before: bursar.OrderID(q.Get("ending_before"))}
	if f.After != "" && f.Before != "" {
		return bursar.InvalidParam("ending_before", "Use starting_after or ending_before, not both.")
	}
	user := bursar.UserID(q.Get("user_id"))
	if user == "" {
		user = actorOf(r).User
	}
	switch q.Get("role") {
	case "buyer":
		f.Buyer = user
	case "seller":
		f.Seller = user
	case "":
		f.Party = user
	default:
		return bursar.InvalidParam("role", "role is \"buyer\" or \"seller\".")
	}
	if cp := q.Get("counterparty"); cp != "" {
		switch {
		case f.Buyer != "":
			f.Seller = bursar.UserID(cp)
		case f.Seller != "":
			f.Buyer = bursar.UserID(cp)
		default:
			return bursar.InvalidParam("counterparty", "counterparty needs role=buyer or role=seller.")
		}
	}
	var err error
	if f.Limit, err = queryLimit(r, 10); err != nil {
		return err
	}
	for name, dst := range map[string]*time.Time{"created_gte": &f.From, "created_lt": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return bursar.InvalidParam(name, "%s is an RFC 3339 time such as 2026-11-21T00:00:00Z.", name)
			}
			*dst = t
		}
	}
	orders, more, err := s.deps.Orders.List(r.Context(), actorOf(r), f)
	if err != nil {
		return err
	}
	list := listObject[orderObject]{Object: "list", URL: "/v1/orders", HasMore: more, Data: make([]orderObject, 0, len(orders))}
	for _, o := range orders {
		list.Data = append(list.Data, orderJSON(o))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) handleOrderPay(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Method          string `json:"method"`
		PaymentPassword string `json:"payment_password"`
		ReturnURL       string `json:"return_url"`
		OpenID          string `json:"openid"`
		ClientIP        string `json:"client_ip"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	id := bursar.OrderID(r.PathValue("id"))
	if in.Method == string(bursar.ChannelWallet) {
		o, err := s.deps.Orders.PayWithWallet(r.Context(), actorOf(r), id, in.PaymentPassword)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, orderJSON(o))
		return nil
	}
	opt, err := payOptions(r, in.ReturnURL, in.OpenID, in.ClientIP)
	if err != nil {
		return err
	}
	o, pay, err := s.deps.Orders.PayWithChannel(r.Context(), actorOf(r), id, channel.Method(in.Method), opt)
	if err != nil {
		return err
	}
	obj := orderJSON(o)
	obj.NextAction = payAction(pay)
	writeJSON(w, http.StatusOK, obj)
	return nil
}

// payOptions checks what some channel methods need. The buyer's IP address
// (WeChat Pay H5) is given by a platform backend that pays for its buyer,
// or else taken from the request.
func payOptions(r *http.Request, returnURL, openID, ip string) (service.PayOptions, error) {
	if returnURL != "" {
		if u, err := url.Parse(returnURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return service.PayOptions{}, bursar.InvalidParam("return_url", "A return URL is an absolute http or https URL.")
		}
	}
	if ip == "" {
		ip = clientip.Of(r)
	} else if net.ParseIP(ip) == nil {
		return service.PayOptions{}, bursar.InvalidParam("client_ip", "%q is not an IP address.", ip)
	}
	return service.PayOptions{ReturnURL: returnURL, OpenID: openID, ClientIP: ip}, nil
}

func (s *Server) handleOrderSync(w http.ResponseWriter, r *http.Request) error {
	o, err := s.deps.Orders.Sync(r.Context(), actorOf(r), bursar.OrderID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orderJSON(o))
	return nil
}

func (s *Server) handleOrderPayments(w http.ResponseWriter, r *http.Request) error {
	id := bursar.OrderID(r.PathValue("id"))
	ps, err := s.deps.Orders.Payments(r.Context(), actorOf(r), id)
	if err != nil {
		return err
	}
	list := listObject[paymentObject]{Object: "list", URL: "/v1/orders/" + string(id) + "/payments", Data: make([]paymentObject, 0, len(ps))}
	for _, p := range ps {
		list.Data = append(list.Data, paymentJSON(p))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) handleTopupCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		UserID    bursar.UserID     `json:"user_id"`
		Amount    *bursar.Amount    `json:"amount"`
		Method    string            `json:"method"`
		ReturnURL string            `json:"return_url"`
		OpenID    string            `json:"openid"`
		ClientIP  string            `json:"client_ip"`
		Metadata  map[string]string `json:"metadata"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Amount == nil {
		return bursar.InvalidParam("amount", "Give the amount to top up, in fen.")
	}
	if channel.Method(in.Method).Channel() == "" {
		return bursar.InvalidParam("method", "A top-up is paid with one of %s.", channel.MethodList())
	}
	opt, err := payOptions(r, in.ReturnURL, in.OpenID, in.ClientIP)
	if err != nil {
		return err
	}
	if err := service.CheckPayOptions(channel.Method(in.Method), opt); err != nil {
		return err // before the top-up is made, so bad input leaves nothing behind
	}
	actor := actorOf(r)
	o, err := s.deps.Orders.CreateTopup(r.Context(), actor, service.TopupInput{User: in.UserID, Amount: *in.Amount, Metadata: in.Metadata})
	if err != nil {
		return err
	}
	obj := orderJSON(o)
	// The top-up exists now: a channel that fails to start the payment is
	// reported with it, not instead of it, so a retry with the same
	// Idempotency-Key returns this order and the client pays it again with
	// POST /v1/orders/{id}/pay rather than making a second top-up.
	if paying, pay, err := s.deps.Orders.PayWithChannel(r.Context(), actor, o.ID, channel.Method(in.Method), opt); err != nil {
		e := s.errorObject(r, err)
		obj.LastPaymentError = &e
	} else {
		obj = orderJSON(paying)
		obj.NextAction = payAction(pay)
	}
	writeJSON(w, http.StatusCreated, obj)
	return nil
}

func (s *Server) handleOrderConfirm(w http.ResponseWriter, r *http.Request) error {
	o, err := s.deps.Orders.Confirm(r.Context(), actorOf(r), bursar.OrderID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orderJSON(o))
	return nil
}
