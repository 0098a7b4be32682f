package api

import (
	"net/http"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/wire"
)

// reconObject is a reconciliation run, with its exceptions when one run is
// asked for or run.
type reconObject struct {
	wire.ReconRun
	ExceptionList []wire.ReconException `json:"exception_list,omitempty"`
}

func reconJSON(run bursar.ReconRun, excs []bursar.ReconException, withExceptions bool) reconObject {
	out := reconObject{ReconRun: wire.ReconRunOf(run)}
	if withExceptions {
		out.ExceptionList = make([]wire.ReconException, 0, len(excs))
		for _, e := range excs {
			out.ExceptionList = append(out.ExceptionList, wire.ReconExceptionOf(e))
		}
	}
	return out
}

// queryDate reads an optional date parameter.
func queryDate(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	return wire.ParseDate(name, v)
}

func (s *Server) handleReconList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := bursar.ReconRunFilter{Channel: bursar.Channel(q.Get("channel")), Status: bursar.ReconStatus(q.Get("status")),
		Before: bursar.ReconRunID(q.Get("starting_after"))}
	var err error
	if f.Day, err = queryDate(r, "date"); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(r, 20); err != nil {
		return err
	}
	runs, more, err := s.deps.Recon.List(r.Context(), actorOf(r), f)
	if err != nil {
		return err
	}
	list := listObject[reconObject]{Object: "list", URL: "/v1/reconciliations", HasMore: more, Data: make([]reconObject, 0, len(runs))}
	for _, run := range runs {
		list.Data = append(list.Data, reconJSON(run, nil, false))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// handleReconCreate reconciles a channel's day now and answers with the
// run and its exceptions. It may take as long as the bill's download.
func (s *Server) handleReconCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Channel bursar.Channel `json:"channel"`
		Date    string         `json:"date"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Channel == "" {
		return bursar.InvalidParam("channel", "Name the channel to reconcile: alipay or wechat.")
	}
	day, err := wire.ParseDate("date", in.Date)
	if err != nil {
		return err
	}
	run, excs, err := s.deps.Recon.Run(r.Context(), actorOf(r), in.Channel, day, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, reconJSON(run, excs, true))
	return nil
}

func (s *Server) handleReconGet(w http.ResponseWriter, r *http.Request) error {
	run, excs, err := s.deps.Recon.Get(r.Context(), actorOf(r), bursar.ReconRunID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reconJSON(run, excs, true))
	return nil
}

func (s *Server) handleReconExceptionList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := bursar.ReconExceptionFilter{Run: bursar.ReconRunID(q.Get("reconciliation_id")), Channel: bursar.Channel(q.Get("channel")),
		Status: bursar.ReconExceptionStatus(q.Get("status")), Kind: bursar.ReconKind(q.Get("kind")),
		Before: bursar.ReconExceptionID(q.Get("starting_after"))}
	var err error
	if f.Day, err = queryDate(r, "date"); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(r, 100); err != nil {
		return err
	}
	excs, more, err := s.deps.Recon.Exceptions(r.Context(), actorOf(r), f)
	if err != nil {
		return err
	}
	list := listObject[wire.ReconException]{Object: "list", URL: "/v1/reconciliation_exceptions", HasMore: more,
		Data: make([]wire.ReconException, 0, len(excs))}
	for _, e := range excs {
		list.Data = append(list.Data, wire.ReconExceptionOf(e))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) handleReconExceptionResolve(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Action bursar.ReconAction `json:"action"`
		Note   string             `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	e, err := s.deps.Recon.Resolve(r.Context(), actorOf(r), bursar.ReconExceptionID(r.PathValue("id")), in.Action, in.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.ReconExceptionOf(e))
	return nil
}
