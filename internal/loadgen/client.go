package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// requestTimeout bounds one request: a server that stops answering shows
// as timeouts in the report instead of a run that never ends.
const requestTimeout = 30 * time.Second

// ParseTarget checks and normalises the address to load. Without allowRemote it
// must be this machine: a load generator pointed at someone else's server
// by a typo is an attack.
func ParseTarget(addr string, allowRemote bool) (string, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("the address %q is not an http or https URL of a server such as http://127.0.0.1:8080", addr)
	}
	host := u.Hostname()
	ip, err := netip.ParseAddr(host)
	if !allowRemote && host != "localhost" && (err != nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("%s is not a loopback address: bench loads only this machine unless told --allow-remote", host)
	}
	return u.Scheme + "://" + u.Host, nil
}

// newHTTPClient keeps a warm connection per client and more, so the load
// generator measures the server and not its own dials; compression is off
// because it would cost both sides CPU on a machine they may share.
func newHTTPClient(clients int) *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:                 nil, // the target is named exactly; a proxy would be measured too
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          2 * clients,
			MaxIdleConnsPerHost:   2 * clients,
			IdleConnTimeout:       90 * time.Second,
			DisableCompression:    true,
			ResponseHeaderTimeout: requestTimeout,
		},
		// The API never redirects; following one would hide a wrong address.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// apiError is a request that did not succeed, classified by the code of
// the API's error body, or by what went wrong on the way.
type apiError struct {
	code string
	msg  string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

// errorCode returns the code a failure is counted under.
func errorCode(err error) string {
	if e, ok := errors.AsType[*apiError](err); ok {
		return e.code
	}
	return "client"
}

// conn is one client's way to the server: the shared HTTP client and its
// own buffers, reused across requests.
type conn struct {
	http *http.Client
	base string
	auth []string
	body []byte
	resp bytes.Buffer
}

func newConn(hc *http.Client, base, key string) *conn {
	return &conn{http: hc, base: base, auth: []string{"Bearer " + key}}
}

// call sends a request to the API and decodes a 2xx answer into out,
// unless out is nil. A refusal is an *apiError with the body's code.
func (c *conn) call(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header["Authorization"] = c.auth
	if body != nil {
		req.Header["Content-Type"] = jsonType
	}
	return c.do(req, "", out)
}

var (
	jsonType = []string{"application/json"}
	formType = []string{"application/x-www-form-urlencoded"}
)

// control makes a sandbox control call: the simulated buyer paying at the
// channel. Its refusals are counted as sandbox_<code>.
func (c *conn) control(ctx context.Context, path string, form url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header["Content-Type"] = formType
	return c.do(req, "sandbox_", nil)
}

func (c *conn) do(req *http.Request, prefix string, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return req.Context().Err()
		}
		code := "transport"
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			code = "timeout"
		}
		return &apiError{code: prefix + code, msg: err.Error()}
	}
	c.resp.Reset()
	_, err = c.resp.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return &apiError{code: prefix + "transport", msg: err.Error()}
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(c.resp.Bytes(), &e) != nil || e.Error.Code == "" {
			e.Error.Code, e.Error.Message = "http_"+strconv.Itoa(resp.StatusCode), "an answer without an error object"
		}
		return &apiError{code: prefix + e.Error.Code, msg: e.Error.Message}
	}
	if out != nil {
		if err := json.Unmarshal(c.resp.Bytes(), out); err != nil {
			return &apiError{code: "bad_response", msg: fmt.Sprintf("%s %s: %v", req.Method, req.URL.Path, err)}
		}
	}
	return nil
}

// object is what the load generator reads of the API's answers.
type object struct {
	ID      string `json:"id"`
	OrderNo string `json:"order_no"`
	Status  string `json:"status"`
}

// jsonBody builds a flat JSON object from name, value pairs into buf:
// values that are strings are quoted, numbers are written as they are.
func jsonBody(buf []byte, pairs ...any) []byte {
	buf = append(buf[:0], '{')
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendQuote(buf, pairs[i].(string))
		buf = append(buf, ':')
		switch v := pairs[i+1].(type) {
		case string:
			buf = strconv.AppendQuote(buf, v)
		case int:
			buf = strconv.AppendInt(buf, int64(v), 10)
		}
	}
	return append(buf, '}')
}
