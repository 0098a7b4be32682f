package api

import (
	"net/http"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
)

func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ID          string  `json:"id"`
		DisplayName *string `json:"display_name"`
		AvatarURL   *string `json:"avatar_url"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := s.deps.Users.Create(r.Context(), actorOf(r), service.UserInput{ID: bursar.UserID(in.ID), DisplayName: in.DisplayName, AvatarURL: in.AvatarURL})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, userJSON(u))
	return nil
}

func (s *Server) handleUserGet(w http.ResponseWriter, r *http.Request) error {
	u, err := s.deps.Users.Get(r.Context(), actorOf(r), bursar.UserID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

func (s *Server) handleUserUpdate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		DisplayName *string `json:"display_name"`
		AvatarURL   *string `json:"avatar_url"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := s.deps.Users.Update(r.Context(), actorOf(r), service.UserInput{ID: bursar.UserID(r.PathValue("id")), DisplayName: in.DisplayName, AvatarURL: in.AvatarURL})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

func (s *Server) handlePasswordSet(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Kind        bursar.SecretKind `json:"kind"`
		OldPassword string            `json:"old_password"`
		NewPassword string            `json:"new_password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.deps.Users.SetPassword(r.Context(), actorOf(r), bursar.UserID(r.PathValue("id")), in.Kind, in.OldPassword, in.NewPassword); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "password", "kind": in.Kind, "set": true})
	return nil
}

func (s *Server) handlePasswordVerify(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Kind     bursar.SecretKind `json:"kind"`
		Password string            `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.deps.Users.VerifyPassword(r.Context(), actorOf(r), bursar.UserID(r.PathValue("id")), in.Kind, in.Password); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "password", "kind": in.Kind, "valid": true})
	return nil
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		UserID   bursar.UserID `json:"user_id"`
		Password string        `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	token, c, err := s.deps.Auth.Login(r.Context(), in.UserID, in.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tokenJSON(token, c))
	return nil
}

func (s *Server) handleTokenMint(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name       string `json:"name"`
		TTLSeconds int64  `json:"ttl_seconds"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	ttl, err := seconds("ttl_seconds", in.TTLSeconds)
	if err != nil {
		return err
	}
	token, c, err := s.deps.Auth.MintToken(r.Context(), actorOf(r), bursar.UserID(r.PathValue("id")), in.Name, ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tokenJSON(token, c))
	return nil
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.deps.Auth.Revoke(r.Context(), actorOf(r), in.Token); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "token", "revoked": true})
	return nil
}
