package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// recon runs `bursar recon` as its own process and returns its exit code,
// stdout and stderr.
func recon(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"recon"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("bursar recon: %v", err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// TestReconCommand pays an order through WeChat Pay's sandbox in a running
// `bursar serve`, reconciles the day with `bursar recon` (WeChat serves a
// day's bill the same day; Alipay only the next, which a test on the real
// clock cannot wait for), plants a payment Bursar never saw, sees the
// command report it and exit 3, resolves it from the command line, and sees
// the resolution carried over to the next run and the runs in the API.
func TestReconCommand(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	key := createKey(t, b.db...)
	p := serveChannels(t, b)
	a := client{t, p.base}
	s := a.shop(key, 10000)
	id, no, _ := a.order(s)
	a.payAt(s.buyer, id, "wechat_native")
	control(t, p.base, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
	a.awaitOrder(s.buyer, id, "paid", 15*time.Second)
	date := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	args := append([]string{"--channel", "wechat", "--date", date}, b.db...)

	code, out, errOut := recon(t, append(args, "--json")...)
	var run struct {
		ID            string           `json:"id"`
		Status        string           `json:"status"`
		Lines         int              `json:"lines"`
		Matched       int              `json:"matched"`
		ExceptionList []map[string]any `json:"exception_list"`
	}
	if err := json.Unmarshal([]byte(out), &run); err != nil || code != 0 || run.Status != "done" || run.Lines != 1 ||
		run.Matched != 1 || len(run.ExceptionList) != 0 {
		t.Fatalf("a clean day: exit %d, %+v (%v)\n%s\n%s", code, run, err, out, errOut)
	}
	if !strings.Contains(errOut, "matched 1 of 1 bill lines (100%)") {
		t.Errorf("no progress on stderr: %q", errOut)
	}

	control(t, p.base, "/wechat/sandbox/bill/plant", url.Values{"kind": {"extra_payment"}, "date": {date},
		"out_trade_no": {"GHOST-1"}, "amount": {"1234"}})
	code, out, _ = recon(t, args...)
	if code != exitProblem || !strings.Contains(out, "missing_ours") || !strings.Contains(out, "GHOST-1") ||
		!strings.Contains(out, "2 bill lines, 1 matched, 1 exception(s), 1 open") {
		t.Fatalf("a planted payment: exit %d\n%s", code, out)
	}
	code, out, _ = recon(t, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), &run); err != nil || code != exitProblem || len(run.ExceptionList) != 1 {
		t.Fatalf("again as JSON: exit %d (%v)\n%s", code, err, out)
	}
	exc := run.ExceptionList[0]["id"].(string)
	if code, out, errOut := recon(t, append([]string{"resolve", exc}, b.db...)...); code != exitUsage {
		t.Errorf("resolving with no action or note: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := recon(t, append([]string{"resolve", exc, "--action", "accept", "--note", "a payment of the old shop"}, b.db...)...); code != 0 {
		t.Fatalf("resolve: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := recon(t, args...); code != 0 || !strings.Contains(out, "1 exception(s), 0 open") || !strings.Contains(out, "resolved") {
		t.Errorf("the resolution is not carried over: exit %d\n%s", code, out)
	}
	// serve's daily job may have reconciled yesterday meanwhile: count the
	// day's runs.
	code, out, _ = recon(t, append([]string{"list"}, b.db...)...)
	ours := 0
	for line := range strings.Lines(out) {
		if strings.Contains(line, "rcn_") && strings.Contains(line, "wechat "+date) {
			ours++
		}
	}
	if code != 0 || ours != 4 {
		t.Errorf("bursar recon list: exit %d, %d runs of %s\n%s", code, ours, date, out)
	}
	if code, _, errOut := recon(t, append([]string{"--channel", "paypal", "--date", date}, b.db...)...); code != exitUsage {
		t.Errorf("an unknown channel: exit %d\n%s", code, errOut)
	}

	// The API shows the same runs, and nothing open.
	if l := a.must(200, key, "GET", "/v1/reconciliations?channel=wechat&date="+date, ""); len(l["data"].([]any)) != 4 {
		t.Errorf("GET /v1/reconciliations: %v", l)
	}
	if l := a.must(200, key, "GET", "/v1/reconciliation_exceptions?status=open", ""); len(l["data"].([]any)) != 0 {
		t.Errorf("open exceptions: %v", l)
	}
	got := a.must(200, key, "GET", "/v1/reconciliations/"+run.ID, "")
	if list, _ := got["exception_list"].([]any); len(list) != 1 {
		t.Errorf("GET /v1/reconciliations/{id}: %v", got)
	}
	a.must(409, key, "POST", "/v1/reconciliation_exceptions/"+exc+"/resolve", `{"action":"accept","note":"again"}`)
	a.must(403, s.buyer, "GET", "/v1/reconciliations", "")
	p.stop(t)
	verifyLedger(t, b)
}
