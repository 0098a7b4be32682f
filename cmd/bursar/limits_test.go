package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// limitsServer runs serve with small limits, trusting the test itself as a
// proxy so that X-Forwarded-For gives each request the client address the
// test wants. It returns the base URL, a platform key and the password of
// an admin, alice.
func limitsServer(t *testing.T) (base, key, adminPassword string) {
	t.Helper()
	dir := t.TempDir()
	out, err := runCLI(t, "keys", "create", "--name", "backend", "--json", "--data-dir", dir)
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	var k struct{ Secret string }
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "admins", "create", "alice", "--json", "--data-dir", dir)
	if err != nil {
		t.Fatalf("admins create: %v\n%s", err, out)
	}
	var admin struct{ Password string }
	if err := json.Unmarshal([]byte(out), &admin); err != nil || admin.Password == "" {
		t.Fatalf("admins create printed %q (%v)", out, err)
	}
	var stop func() error
	base, stop = startServe(t, nil, "--addr", "127.0.0.1:0", "--data-dir", dir,
		"--read-header-timeout", "300ms", "--read-timeout", "2s", "--trusted-proxies", "127.0.0.1",
		"--ip-logins-per-minute", "3", "--wrong-passwords-per-hour", "4")
	t.Cleanup(func() { _ = stop() })
	return base, k.Secret, admin.Password
}

type answer struct {
	status     int
	retryAfter string
	body       string
	code       string // the v1 error code, if the body is a v1 error
}

func send(t *testing.T, method, u, from, token, contentType, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", cmpOr(contentType, "application/json"))
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct{ Error struct{ Code string } }
	_ = json.Unmarshal(b, &e)
	return answer{resp.StatusCode, resp.Header.Get("Retry-After"), string(b), e.Error.Code}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestLimits(t *testing.T) {
	base, key, adminPassword := limitsServer(t)
	for _, u := range []string{"u1", "u2", "u3"} {
		for _, c := range []struct{ path, body string }{
			{"/v1/users", `{"id":"` + u + `"}`},
			{"/v1/users/" + u + "/password", `{"kind":"login","new_password":"the right password"}`},
			{"/v1/users/" + u + "/password", `{"kind":"payment","new_password":"123456"}`},
		} {
			if a := send(t, "POST", base+c.path, "", key, "", c.body); a.status >= 300 {
				t.Fatalf("POST %s = %d %s", c.path, a.status, a.body)
			}
		}
	}
	login := func(from, user, password string) answer {
		return send(t, "POST", base+"/v1/login", from, "", "", `{"user_id":"`+user+`","password":"`+password+`"}`)
	}
	signIn := func(from, password string) answer {
		if password == "the right password" {
			password = adminPassword
		}
		return send(t, "POST", base+"/admin/login", from, "", "application/x-www-form-urlencoded",
			url.Values{"name": {"alice"}, "password": {password}}.Encode())
	}

	t.Run("oversized bodies are refused in each surface's error shape", func(t *testing.T) {
		tests := []struct {
			name, path, contentType string
			size                    int
			wantStatus              int
			want                    []string
		}{
			{"v1 API", "/v1/users", "", 1<<20 + 1024, 400, []string{`"code":"invalid"`, "larger than 1048576 bytes"}},
			{"v1 login", "/v1/login", "", 1<<20 + 1024, 400, []string{`"code":"invalid"`, "larger than 1048576 bytes"}},
			{"seed 1", "/api/v1/initOrder", "application/x-www-form-urlencoded", 1<<20 + 1024, 200, []string{`"code":2`, "1048576"}},
			{"seed 2", "/orders/create", "application/x-www-form-urlencoded", 64<<10 + 1024, 200, []string{`"code":4`, "请求体过大"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := `{"id":"` + strings.Repeat("x", tt.size) + `"}`
				if tt.contentType != "" {
					body = "a=" + strings.Repeat("x", tt.size)
				}
				a := send(t, "POST", base+tt.path, "192.0.2.200", key, tt.contentType, body)
				if a.status != tt.wantStatus {
					t.Errorf("status = %d, want %d (%s)", a.status, tt.wantStatus, a.body)
				}
				for _, w := range tt.want {
					if !strings.Contains(a.body, w) {
						t.Errorf("body %s lacks %s", a.body, w)
					}
				}
			})
		}
	})

	t.Run("a flood from one address is refused while another still gets in", func(t *testing.T) {
		tests := []struct {
			name      string
			try       func(from, password string) answer
			wrong     int // status of a wrong password
			right     int // status of the right one
			flood, ok string
		}{
			{"v1 login", func(from, pw string) answer { return login(from, "u1", pw) }, 403, 201, "198.51.100.1", "198.51.100.2"},
			{"console sign-in", signIn, 401, 303, "198.51.100.3", "198.51.100.4"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for i := range 3 {
					if a := tt.try(tt.flood, "wrong password!"); a.status != tt.wrong {
						t.Fatalf("wrong password %d: %d %s", i+1, a.status, a.body)
					}
				}
				a := tt.try(tt.flood, "the right password")
				if a.status != http.StatusTooManyRequests || a.retryAfter == "" || a.retryAfter == "0" {
					t.Errorf("the fourth try in a minute = %d, Retry-After %q; want 429 with a wait", a.status, a.retryAfter)
				}
				if a.code != "" && a.code != "rate_limited" {
					t.Errorf("the fourth try's code = %q, want rate_limited", a.code)
				}
				if a := tt.try(tt.ok, "the right password"); a.status != tt.right {
					t.Errorf("another address with the right password = %d %s, want %d", a.status, a.body, tt.right)
				}
			})
		}
	})

	t.Run("wrong passwords for one user are limited across addresses", func(t *testing.T) {
		tests := []struct {
			name string
			try  func(from, password string) answer
		}{
			{"v1 login", func(from, pw string) answer { return login(from, "u2", pw) }},
			{"payment password verify", func(from, pw string) answer {
				return send(t, "POST", base+"/v1/users/u3/password/verify", from, key, "", `{"kind":"payment","password":"`+pw+`"}`)
			}},
		}
		for n, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				from := func(i int) string { return fmt.Sprintf("203.0.113.%d", 10*n+i) }
				for i := range 4 {
					if a := tt.try(from(i), "000000"); a.status != http.StatusForbidden {
						t.Fatalf("wrong password %d: %d %s", i+1, a.status, a.body)
					}
				}
				a := tt.try(from(5), "000000")
				if a.status != http.StatusTooManyRequests || a.code != "rate_limited" || a.retryAfter == "" {
					t.Errorf("a fifth wrong password from a fresh address = %d %s, Retry-After %q; want 429 rate_limited",
						a.status, a.body, a.retryAfter)
				}
			})
		}
	})

	t.Run("slow clients are cut off", func(t *testing.T) {
		tests := []struct {
			name    string
			head    string // sent at once
			trickle string // then a byte every 20ms: far longer than the timeouts
		}{
			{"headers byte by byte", "POST /v1/login HTTP/1.1\r\nHost: bursar\r\n", "X-Slow: " + strings.Repeat("a", 500) + "\r\n\r\n"},
			{"a body byte by byte", "POST /v1/login HTTP/1.1\r\nHost: bursar\r\nX-Forwarded-For: 192.0.2.77\r\n" +
				"Content-Type: application/json\r\nContent-Length: 520\r\n\r\n", `{"user_id":"u1","password":"` + strings.Repeat("a", 490) + `"}`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				closed := make(chan string, 1)
				go func() {
					// Whatever the server answers before it closes, if anything.
					line, _ := bufio.NewReader(conn).ReadString('\n')
					_, _ = io.Copy(io.Discard, conn)
					closed <- line
				}()
				if _, err := io.WriteString(conn, tt.head); err != nil {
					t.Fatal(err)
				}
				for i := range len(tt.trickle) {
					select {
					case line := <-closed:
						if line != "" && !strings.HasPrefix(line, "HTTP/1.1 4") {
							t.Errorf("cut off with %q, want a 4xx or nothing", line)
						}
						return
					case <-time.After(20 * time.Millisecond):
					}
					if _, err := io.WriteString(conn, tt.trickle[i:i+1]); err != nil {
						return // the server has closed the connection
					}
				}
				t.Errorf("the server waited for all %d bytes", len(tt.trickle))
			})
		}
	})
}
