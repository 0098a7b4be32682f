package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAdminsCommands creates, lists, disables and enables console admins,
// and refuses bad command lines.
func TestAdminsCommands(t *testing.T) {
	db := []string{"--data-dir", t.TempDir()}
	out, err := runCLI(t, append([]string{"admins", "create", "alice", "--json"}, db...)...)
	if err != nil {
		t.Fatalf("admins create: %v\n%s", err, out)
	}
	var alice struct{ Name, Role, Password string }
	if err := json.Unmarshal([]byte(out), &alice); err != nil || alice.Role != "operator" || len(alice.Password) < 20 {
		t.Fatalf("created %s (%v)", out, err)
	}
	if out, err := runCLI(t, append([]string{"admins", "create", "bob", "--role", "viewer"}, db...)...); err != nil ||
		!strings.Contains(out, "Password (shown only now): ") {
		t.Fatalf("admins create bob: %v\n%s", err, out)
	}
	if out, err := runCLI(t, append([]string{"admins", "disable", "bob", "--json"}, db...)...); err != nil || !strings.Contains(out, `"disabled_at": "`) {
		t.Errorf("admins disable: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"admins", "list", "--json"}, db...)...)
	var list []struct {
		Name       string
		DisabledAt *string `json:"disabled_at"`
	}
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[1].Name != "bob" || list[1].DisabledAt == nil ||
		strings.Contains(out, "password") {
		t.Errorf("admins list: %v\n%s", err, out)
	}
	if out, err := runCLI(t, append([]string{"admins", "enable", "bob", "--json"}, db...)...); err != nil || !strings.Contains(out, `"disabled_at": null`) {
		t.Errorf("admins enable: %v\n%s", err, out)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"admins", "create"}, exitUsage, "takes one admin name"},
		{[]string{"admins", "create", "alice"}, exitError, "An admin with this name already exists"},
		{[]string{"admins", "create", "carol", "--role", "boss"}, exitUsage, "viewer or operator"},
		{[]string{"admins", "create", "no spaces"}, exitUsage, "letters, digits"},
		{[]string{"admins", "disable", "nobody"}, exitError, "no admin"},
	} {
		_, err := runCLI(t, append(c.args, db...)...)
		if got := exitCode(err); err == nil || got != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bursar %s: exit %d (%v), want %d with %q", strings.Join(c.args, " "), got, err, c.code, c.want)
		}
	}
}
