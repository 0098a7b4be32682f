package wechat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
)

func TestNotificationSurvivesARestart(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.RetrySchedule = []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, time.Hour}
	cfg.RetryScale = 0
	var up atomic.Bool // the merchant answers 204 once up, 500 before
	h := newHook(t, func(int) int {
		if up.Load() {
			return http.StatusNoContent
		}
		return http.StatusInternalServerError
	})

	gw1, err := wechatsandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv1 := newServer(t, gw1)
	no := placeNative(t, srv1, 4200, h.url())
	if a := control(t, srv1, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}}); a.status != 200 {
		t.Fatalf("pay = %d %s", a.status, a.body)
	}
	first := h.next(t)
	h.next(t)
	h.next(t) // three failures; the next try is an hour away
	srv1.Close()
	gw1.Close() // "killed": the notification is still owed

	up.Store(true)
	cfg.RetrySchedule = []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}
	gw2, err := wechatsandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer gw2.Close()
	srv2 := newServer(t, gw2)
	control(t, srv2, "/wechat/sandbox/notifications/flush", nil)
	got := h.next(t)
	if got.status != http.StatusNoContent || !bytes.Equal(got.body, first.body) || eventID(t, got.body) != eventID(t, first.body) {
		t.Errorf("after the restart: %d %s; want the same notification %s taken", got.status, got.body, eventID(t, first.body))
	}
	q := call(t, srv2, http.MethodGet, "/v3/pay/transactions/out-trade-no/"+no+"?mchid="+files.Gateway.MchID, nil)
	if m := q.json(t); q.status != 200 || m["trade_state"] != "SUCCESS" {
		t.Errorf("query after the restart = %d %s, want the paid trade", q.status, q.body)
	}
	h.quiet(t, 150*time.Millisecond)

	// Once taken, a third gateway on the same directory sends nothing.
	gw2.Close()
	gw3, err := wechatsandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer gw3.Close()
	h.quiet(t, 150*time.Millisecond)
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "wechat-sandbox.json")); err != nil {
		t.Errorf("state file: %v", err)
	}
}

func newServer(t *testing.T, gw *wechatsandbox.Gateway) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(gw.Handler())
	t.Cleanup(s.Close)
	return s
}

func TestDeliveryOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		status   func(n int) int
		delay    func(n int) time.Duration
		attempts int // deliveries before it stops
	}{
		{"204 is taken", always(204), nil, 1},
		{"200 is taken whatever the body", always(200), nil, 1},
		{"4xx and 5xx are retried", func(n int) int { return []int{400, 500, 302, 200}[n-1] }, nil, 4},
		{"a slow answer is retried", always(204), func(n int) time.Duration {
			if n == 1 {
				return 400 * time.Millisecond
			}
			return 0
		}, 2},
		{"the schedule ends", always(503), nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.RetrySchedule = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}
			cfg.RetryScale = 0
			cfg.DeliveryTimeout = 200 * time.Millisecond
			_, srv := start(t, cfg)
			h := newHook(t, tt.status)
			h.delay = tt.delay
			no := placeNative(t, srv, 1, h.url())
			control(t, srv, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}})
			var id string
			for i := range tt.attempts {
				d := h.next(t)
				if i == 0 {
					id = eventID(t, d.body)
				} else if got := eventID(t, d.body); got != id {
					t.Errorf("delivery %d has id %s, want %s", i+1, got, id)
				}
			}
			h.quiet(t, 300*time.Millisecond)
			st := state(t, srv)
			want := "delivered"
			if tt.name == "the schedule ends" {
				want = "abandoned"
			}
			if len(st.Notifications) != 1 || st.Notifications[0].Status != want || st.Notifications[0].Attempts != tt.attempts {
				t.Errorf("notifications = %+v, want one %s after %d attempts", st.Notifications, want, tt.attempts)
			}
		})
	}
}

type sandboxState struct {
	Notifications []struct {
		ID       string
		Status   string
		Attempts int
	}
	NotifyMode string            `json:"notify_mode"`
	BillPlants []json.RawMessage `json:"bill_plants"`
}

func state(t testing.TB, srv *httptest.Server) sandboxState {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/wechat/sandbox/state", nil)
	a := do(t, req)
	var st sandboxState
	if err := json.Unmarshal(a.body, &st); err != nil {
		t.Fatalf("state = %d %s", a.status, a.body)
	}
	return st
}

func TestNotificationModes(t *testing.T) {
	_, srv := start(t, testConfig())
	h := newHook(t, always(204))
	pay := func() {
		no := placeNative(t, srv, 1, h.url())
		if a := control(t, srv, "/wechat/sandbox/pay", url.Values{"out_trade_no": {no}}); a.status != 200 {
			t.Fatalf("pay = %d %s", a.status, a.body)
		}
	}

	control(t, srv, "/wechat/sandbox/notifications", url.Values{"mode": {"drop"}})
	pay()
	h.quiet(t, 100*time.Millisecond)

	control(t, srv, "/wechat/sandbox/notifications", url.Values{"mode": {"hold"}})
	pay()
	h.quiet(t, 100*time.Millisecond)
	control(t, srv, "/wechat/sandbox/notifications", url.Values{"mode": {"deliver"}})
	h.next(t)

	control(t, srv, "/wechat/sandbox/notifications", url.Values{"delay": {"1h"}})
	pay()
	h.quiet(t, 100*time.Millisecond)
	control(t, srv, "/wechat/sandbox/notifications/flush", nil)
	h.next(t)

	// The gateway records the answer just after the hook has seen it.
	want := "[dropped delivered delivered]"
	var got string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && got != want; time.Sleep(10 * time.Millisecond) {
		var statuses []string
		for _, n := range state(t, srv).Notifications {
			statuses = append(statuses, n.Status)
		}
		got = fmt.Sprint(statuses)
	}
	if got != want {
		t.Errorf("statuses = %s, want %s", got, want)
	}
}
