package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// cliJSON runs a command with --json, requires success and decodes its
// output.
func cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, err := runCLI(t, append(args, "--json")...)
	if err != nil {
		t.Fatalf("bursar %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("bursar %s printed no JSON (%v):\n%s", strings.Join(args, " "), err, out)
	}
}

// cliFails runs a command that must fail with the exit code, saying want.
func cliFails(t *testing.T, code int, want string, args ...string) {
	t.Helper()
	out, err := runCLI(t, args...)
	if got := exitCode(err); err == nil || got != code || !strings.Contains(err.Error(), want) {
		t.Errorf("bursar %s: exit %d (%v), want %d saying %q\n%s", strings.Join(args, " "), got, err, code, want, out)
	}
}

type listSeen[T any] struct {
	Object  string `json:"object"`
	HasMore bool   `json:"has_more"`
	Data    []T    `json:"data"`
}

type orderSeen struct {
	ID       string           `json:"id"`
	Object   string           `json:"object"`
	Type     string           `json:"type"`
	Status   string           `json:"status"`
	BuyerID  string           `json:"buyer_id"`
	Refunded int64            `json:"refunded"`
	Entries  []map[string]any `json:"entries"`
	Payments []map[string]any `json:"payments"`
	Refunds  []struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		DecidedBy string `json:"decided_by"`
	} `json:"refunds"`
}

// TestDemo fills a database on each engine, checks that it holds orders in
// every state the console shows and that the ledger verifies, then acts on
// it as an operator would, and sees a second run refuse the database.
func TestDemo(t *testing.T) {
	t.Parallel()
	for name, b := range map[string]func(*testing.T) backend{"sqlite": sqliteBackend, "postgres": postgresBackend} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := b(t)
			var s struct {
				Orders         int               `json:"orders"`
				ByState        map[string]int    `json:"orders_by_type_and_status"`
				PartlyRefunded int               `json:"partly_refunded"`
				Reviews        int               `json:"reviews"`
				Buyers         []demoUser        `json:"buyers"`
				Examples       map[string]string `json:"examples"`
			}
			cliJSON(t, &s, append([]string{"demo"}, b.serve...)...)
			for _, k := range []string{"purchase/pending", "purchase/paid", "purchase/completed", "purchase/refund_requested",
				"purchase/refunded", "purchase/closed", "topup/completed", "topup/pending", "withdrawal/requested",
				"withdrawal/processing", "withdrawal/succeeded", "withdrawal/failed"} {
				if s.ByState[k] == 0 {
					t.Errorf("no order %s: %v", k, s.ByState)
				}
			}
			if s.PartlyRefunded == 0 || s.Reviews == 0 || len(s.Buyers) < 10 || s.Orders < 30 {
				t.Errorf("summary: %+v", s)
			}
			verifyLedger(t, b)

			// The top-up was paid through a channel's sandbox.
			var top orderSeen
			cliJSON(t, &top, append([]string{"orders", "show", s.Examples["topup/completed"]}, b.db...)...)
			if len(top.Payments) != 1 || top.Payments[0]["status"] != "paid" || len(top.Entries) != 1 {
				t.Errorf("the top-up: %+v", top)
			}
			operate(t, b, name == "sqlite", s.Examples["withdrawal/requested"])
			verifyLedger(t, b)

			cliFails(t, exitError, "already has users", append([]string{"demo"}, b.serve...)...)
		})
	}
}

// operate decides the demo's waiting refunds and its large withdrawal
// (approved on one engine, rejected on the other) from the command line.
func operate(t *testing.T, b backend, approveWithdrawal bool, withdrawal string) {
	var waiting listSeen[orderSeen]
	cliJSON(t, &waiting, append([]string{"orders", "list", "--status", "refund_requested", "--type", "purchase"}, b.db...)...)
	if len(waiting.Data) != 2 || waiting.Object != "list" {
		t.Fatalf("orders waiting for a refund decision: %+v", waiting)
	}
	refundOf := func(order string) string {
		var o orderSeen
		cliJSON(t, &o, append([]string{"orders", "show", order}, b.db...)...)
		for _, r := range o.Refunds {
			if r.Status == "requested" {
				return r.ID
			}
		}
		t.Fatalf("order %s has no requested refund: %+v", order, o)
		return ""
	}
	var r struct{ ID, Object, Status string }
	approved := refundOf(waiting.Data[0].ID)
	cliJSON(t, &r, append([]string{"refunds", "approve", approved, "--note", "approved by support"}, b.db...)...)
	if r.Object != "refund" || r.Status != "succeeded" {
		t.Errorf("refunds approve: %+v", r)
	}
	cliJSON(t, &r, append([]string{"refunds", "reject", refundOf(waiting.Data[1].ID), "--reason", "课程已学完"}, b.db...)...)
	if r.Status != "rejected" {
		t.Errorf("refunds reject: %+v", r)
	}
	var o orderSeen
	cliJSON(t, &o, append([]string{"orders", "show", waiting.Data[1].ID}, b.db...)...)
	if o.Status != "paid" || len(o.Refunds) != 1 || o.Refunds[0].DecidedBy != "platform:cli" {
		t.Errorf("the order after the rejection: %+v", o)
	}
	cliFails(t, exitError, "already", append([]string{"refunds", "approve", approved}, b.db...)...)

	var w orderSeen
	if approveWithdrawal {
		cliJSON(t, &w, append([]string{"withdrawals", "approve", withdrawal, "--note", "identity checked"}, b.db...)...)
		if w.Status != "processing" || w.Type != "withdrawal" {
			t.Errorf("withdrawals approve: %+v", w)
		}
	} else {
		cliJSON(t, &w, append([]string{"withdrawals", "reject", withdrawal, "--reason", "identity check needed"}, b.db...)...)
		if w.Status != "failed" {
			t.Errorf("withdrawals reject: %+v", w)
		}
	}
	cliFails(t, exitError, "cannot be", append([]string{"withdrawals", "reject", withdrawal, "--reason", "again"}, b.db...)...)

	// Listing by buyer and paging.
	var page listSeen[orderSeen]
	cliJSON(t, &page, append([]string{"orders", "list", "--buyer", o.BuyerID, "--limit", "1"}, b.db...)...)
	if len(page.Data) != 1 || page.Data[0].BuyerID != o.BuyerID || !page.HasMore {
		t.Errorf("orders list --buyer --limit 1: %+v", page)
	}
	var next listSeen[orderSeen]
	cliJSON(t, &next, append([]string{"orders", "list", "--buyer", o.BuyerID, "--limit", "1", "--after", page.Data[0].ID}, b.db...)...)
	if len(next.Data) != 1 || next.Data[0].ID == page.Data[0].ID {
		t.Errorf("the next page: %+v", next)
	}
}

// TestUsersCommands creates, shows and lists users, and checks the exit
// codes of bad input on every operator command.
func TestUsersCommands(t *testing.T) {
	t.Parallel()
	db := []string{"--data-dir", t.TempDir()}
	var u struct{ ID, Object, DisplayName string }
	cliJSON(t, &u, append([]string{"users", "create", "--id", "zhang_wei", "--name", "张伟"}, db...)...)
	if u.ID != "zhang_wei" || u.Object != "user" {
		t.Errorf("users create: %+v", u)
	}
	cliJSON(t, &u, append([]string{"users", "create", "--name", "Emily Carter"}, db...)...)
	if !strings.HasPrefix(u.ID, "usr_") {
		t.Errorf("a generated ID: %+v", u)
	}
	var shown struct {
		ID     string `json:"id"`
		Wallet struct {
			Object string `json:"object"`
			Total  int64  `json:"total"`
		} `json:"wallet"`
	}
	cliJSON(t, &shown, append([]string{"users", "show", "zhang_wei"}, db...)...)
	if shown.ID != "zhang_wei" || shown.Wallet.Object != "wallet" {
		t.Errorf("users show: %+v", shown)
	}
	var l listSeen[struct{ ID string }]
	cliJSON(t, &l, append([]string{"users", "list", "--limit", "1"}, db...)...)
	if len(l.Data) != 1 || l.Data[0].ID != u.ID || !l.HasMore {
		t.Errorf("users list --limit 1: %+v", l)
	}
	cliJSON(t, &l, append([]string{"users", "list", "--after", u.ID}, db...)...)
	if len(l.Data) != 1 || l.Data[0].ID != "zhang_wei" || l.HasMore {
		t.Errorf("users list --after: %+v", l)
	}
	if out, err := runCLI(t, append([]string{"users", "list"}, db...)...); err != nil || !strings.Contains(out, "张伟") {
		t.Errorf("users list as a table: %v\n%s", err, out)
	}

	cliFails(t, exitError, "already exists", append([]string{"users", "create", "--id", "zhang_wei"}, db...)...)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"users", "show", "nobody"}, "There is no user nobody"},
		{[]string{"orders", "show", "ord_nothing"}, "There is no order ord_nothing"},
		{[]string{"refunds", "approve", "rfd_nothing"}, "There is no refund rfd_nothing"},
		{[]string{"refunds", "reject", "rfd_nothing", "--reason", "no"}, "There is no refund rfd_nothing"},
		{[]string{"withdrawals", "approve", "wdr_nothing"}, "There is no withdrawal wdr_nothing"},
		{[]string{"withdrawals", "reject", "wdr_nothing", "--reason", "no"}, "There is no withdrawal wdr_nothing"},
	} {
		cliFails(t, exitError, c.want, append(c.args, db...)...)
	}
	for _, args := range [][]string{
		{"users", "show"}, {"users", "show", "a", "b"}, {"users", "create", "extra"}, {"users", "list", "--limit", "0"},
		{"orders", "show"}, {"orders", "list", "--status", "lost"}, {"orders", "list", "--type", "gift"},
		{"orders", "list", "--limit", "101"}, {"refunds", "approve"}, {"refunds", "reject", "rfd_x"},
		{"withdrawals", "approve"}, {"withdrawals", "reject", "wdr_x"}, {"demo", "--days", "0"}, {"demo", "extra"},
	} {
		_, err := runCLI(t, append(args, db...)...)
		if code := exitCode(err); code != exitUsage {
			t.Errorf("bursar %s: exit %d (%v), want %d", strings.Join(args, " "), code, err, exitUsage)
		}
	}
}
