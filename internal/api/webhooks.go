package api

import (
	"net/http"
	"strconv"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/wire"
)

// endpointBody is the body that creates or changes an endpoint.
type endpointBody struct {
	URL         *string             `json:"url"`
	Events      *[]bursar.EventType `json:"events"`
	Description *string             `json:"description"`
	Disabled    *bool               `json:"disabled"`
}

func (b endpointBody) input() service.EndpointInput {
	return service.EndpointInput{URL: b.URL, Events: b.Events, Description: b.Description, Disabled: b.Disabled}
}

func (s *Server) handleEndpointCreate(w http.ResponseWriter, r *http.Request) error {
	var in endpointBody
	if err := decode(r, &in); err != nil {
		return err
	}
	e, err := s.deps.Webhooks.CreateEndpoint(r.Context(), actorOf(r), in.input())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, wire.EndpointOf(e, true))
	return nil
}

func (s *Server) handleEndpointUpdate(w http.ResponseWriter, r *http.Request) error {
	var in endpointBody
	if err := decode(r, &in); err != nil {
		return err
	}
	e, err := s.deps.Webhooks.UpdateEndpoint(r.Context(), actorOf(r), bursar.EndpointID(r.PathValue("id")), in.input())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.EndpointOf(e, false))
	return nil
}

func (s *Server) handleEndpointRotate(w http.ResponseWriter, r *http.Request) error {
	e, err := s.deps.Webhooks.RotateSecret(r.Context(), actorOf(r), bursar.EndpointID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.EndpointOf(e, true))
	return nil
}

func (s *Server) handleEndpointGet(w http.ResponseWriter, r *http.Request) error {
	e, err := s.deps.Webhooks.Endpoint(r.Context(), actorOf(r), bursar.EndpointID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.EndpointOf(e, false))
	return nil
}

func (s *Server) handleEndpointList(w http.ResponseWriter, r *http.Request) error {
	es, err := s.deps.Webhooks.Endpoints(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	list := listObject[wire.Endpoint]{Object: "list", URL: "/v1/webhook_endpoints", Data: make([]wire.Endpoint, 0, len(es))}
	for _, e := range es {
		list.Data = append(list.Data, wire.EndpointOf(e, false))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) handleEventGet(w http.ResponseWriter, r *http.Request) error {
	e, err := s.deps.Webhooks.Event(r.Context(), actorOf(r), bursar.EventID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.EventOf(e))
	return nil
}

// handleEventList lists events newest first; order_id and type narrow it,
// starting_after pages on.
func (s *Server) handleEventList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := bursar.EventFilter{Order: bursar.OrderID(q.Get("order_id")), Type: bursar.EventType(q.Get("type")),
		Before: bursar.EventID(q.Get("starting_after"))}
	var err error
	if f.Limit, err = queryLimit(r, 10); err != nil {
		return err
	}
	es, more, err := s.deps.Webhooks.Events(r.Context(), actorOf(r), f)
	if err != nil {
		return err
	}
	list := listObject[wire.Event]{Object: "list", URL: "/v1/events", HasMore: more, Data: make([]wire.Event, 0, len(es))}
	for _, e := range es {
		list.Data = append(list.Data, wire.EventOf(e))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) handleEventResend(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		EndpointID bursar.EndpointID `json:"endpoint_id"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	ds, err := s.deps.Webhooks.Resend(r.Context(), actorOf(r), bursar.EventID(r.PathValue("id")), in.EndpointID)
	if err != nil {
		return err
	}
	list := listObject[wire.Delivery]{Object: "list", URL: r.URL.Path, Data: make([]wire.Delivery, 0, len(ds))}
	for _, d := range ds {
		list.Data = append(list.Data, wire.DeliveryOf(d))
	}
	writeJSON(w, http.StatusCreated, list)
	return nil
}

// handleDeliveryList lists deliveries newest first; endpoint_id, event_id
// and status narrow it, starting_after pages on.
func (s *Server) handleDeliveryList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := bursar.DeliveryFilter{Endpoint: bursar.EndpointID(q.Get("endpoint_id")), Event: bursar.EventID(q.Get("event_id")),
		Status: bursar.DeliveryStatus(q.Get("status"))}
	if v := q.Get("starting_after"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return bursar.InvalidParam("starting_after", "starting_after is a delivery's ID, a positive integer.")
		}
		f.Before = bursar.DeliveryID(id)
	}
	var err error
	if f.Limit, err = queryLimit(r, 10); err != nil {
		return err
	}
	ds, more, err := s.deps.Webhooks.Deliveries(r.Context(), actorOf(r), f)
	if err != nil {
		return err
	}
	list := listObject[wire.Delivery]{Object: "list", URL: "/v1/webhook_deliveries", HasMore: more, Data: make([]wire.Delivery, 0, len(ds))}
	for _, d := range ds {
		list.Data = append(list.Data, wire.DeliveryOf(d))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) handleDeliveryGet(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return bursar.Errorf(bursar.NotFound, "There is no webhook delivery %q.", r.PathValue("id"))
	}
	d, attempts, err := s.deps.Webhooks.Delivery(r.Context(), actorOf(r), bursar.DeliveryID(id))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.DeliveryWithAttempts(d, attempts))
	return nil
}
