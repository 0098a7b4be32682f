package seed1

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"

	"bursar.dev/bursar/internal/bursar"
)

// handler serves one endpoint: it returns the answer to send with
// {"success": true}, or an error for the table.
type handler func(ctx context.Context, c *call) (any, error)

// call is one authenticated request.
type call struct {
	r     *http.Request
	actor bursar.Actor
	p     params
}

// ok starts every successful answer.
type ok struct {
	Success bool `json:"success"`
}

var success = ok{Success: true}

// endpoint wraps a handler: read the parameters, authenticate, run, answer.
// Every call needs a user token or a platform key, in the Authorization
// header or in the seed's accessToken parameter, even where the seed's
// document lists none: the seed trusted the user ids it was sent.
func (s *Server) endpoint(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer s.recoverPanic(w, r)
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		p, err := readParams(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		token := p.token(r)
		if token == "" {
			s.writeError(w, r, &fault{code: bursar.Unauthenticated, about: aboutToken})
			return
		}
		actor, err := s.deps.Auth.Authenticate(r.Context(), token)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out, err := h(r.Context(), &call{r: r, actor: actor, p: p})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// recoverPanic turns a panic into a logged code 0 instead of a dropped
// connection. A panic is a bug; the transaction, if any, rolled back.
func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	switch v {
	case nil:
		return
	case http.ErrAbortHandler:
		panic(v) // net/http's own way to abort a response
	}
	s.deps.Log.ErrorContext(r.Context(), "panic serving seed 1 request", "path", r.URL.Path, "panic", v,
		"stack", string(debug.Stack()))
	s.writeError(w, r, fmt.Errorf("panic: %v", v))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client has gone if this fails
}

// user returns the user a call acts for, named by the parameter name. With
// a user token it is the token's user: the parameter may be left out, and
// another user's id answers exactly as a missing user does (code 7). With
// a platform key the parameter is required and the user must exist.
func (s *Server) user(ctx context.Context, c *call, name string) (bursar.UserID, error) {
	v, err := c.p.str(name)
	if err != nil {
		return "", err
	}
	if !c.actor.IsPlatform() {
		if v == "" || v == string(c.actor.User) {
			return c.actor.User, nil
		}
		return "", noUser()
	}
	if v == "" {
		return "", invalid("缺少参数 " + name)
	}
	id, err := bursar.ParseUserID(v)
	if err != nil {
		return "", noUser() // a malformed id names no one
	}
	if _, err := s.deps.Users.Get(ctx, c.actor, id); err != nil {
		return "", recast(err, bursar.NotFound, aboutUser, "")
	}
	return id, nil
}

func noUser() error { return &fault{code: bursar.NotFound, about: aboutUser} }

// order returns the order named by the parameter name, if the caller is its
// buyer or seller; anyone else's answers as a missing one (code 6).
func (s *Server) order(ctx context.Context, c *call, name string) (bursar.Order, error) {
	id, err := c.p.id(name)
	if err != nil {
		return bursar.Order{}, err
	}
	return s.deps.Orders.Get(ctx, c.actor, bursar.OrderID(id))
}
