package seed2

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"bursar.dev/bursar/internal/bursar"
)

// params are a request's parameters by name: the query string, and for a
// POST the body too, form-encoded, multipart or a JSON object. The seed
// shows GET requests with query parameters; its clients also post forms,
// so every route takes both. A name given twice keeps its first value; a
// name in both the query and the body takes the body's.
type params map[string]string

// maxBody bounds request bodies: seed 2's largest is a few hundred bytes.
const maxBody = 64 << 10

func readParams(w http.ResponseWriter, r *http.Request) (params, error) {
	p := params{}
	for k, vs := range r.URL.Query() {
		p[k] = vs[0]
	}
	if r.Method != http.MethodPost {
		return p, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return nil, bodyError(err, "multipart 表单无法解析")
		}
		for k, vs := range r.MultipartForm.Value {
			if len(vs) > 0 {
				p[k] = vs[0]
			}
		}
		return p, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(err, "请求体无法读取")
	}
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0:
		return p, nil
	// A client that sends JSON without saying so is still understood:
	// a form body never starts with '{'.
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || body[0] == '{':
		return p, jsonParams(body, p)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fail(bursar.Invalid, "请求体不是合法的表单")
	}
	for k, vs := range form {
		p[k] = vs[0]
	}
	return p, nil
}

func bodyError(err error, desc string) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return fail(bursar.Invalid, "请求体过大")
	}
	return fail(bursar.Invalid, desc)
}

// jsonParams reads a JSON object of scalars into p. Numbers keep their
// literal text, so an amount such as 0.01 is read as the decimal it is
// and never passes through a float.
func jsonParams(body []byte, p params) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return fail(bursar.Invalid, "请求体不是合法的 JSON 对象")
	}
	if dec.More() {
		return fail(bursar.Invalid, "请求体不是合法的 JSON 对象")
	}
	for k, v := range m {
		switch v := v.(type) {
		case nil: // null: as if not given
		case string:
			p[k] = v
		case json.Number:
			p[k] = v.String()
		case bool:
			p[k] = strconv.FormatBool(v)
		default:
			return fail(bursar.Invalid, "参数 "+k+" 应为字符串或数字")
		}
	}
	return nil
}

// tokenParams are the parameters that may carry the bearer token, for
// clients that cannot set a header: the names seed 1 uses, and the common
// access_token.
var tokenParams = []string{"access_token", "accessToken", "accesstoken", "token"}

// token returns the request's bearer token: the Authorization header, or
// one of tokenParams.
func (p params) token(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	for _, k := range tokenParams {
		if v := p[k]; v != "" {
			return v
		}
	}
	return ""
}

// id returns an identifier parameter, "" when absent, or an error naming
// it when it is not 1 to 64 of [0-9A-Za-z_-], the alphabet of every
// Bursar identifier and order number.
func (p params) id(name string) (string, error) {
	v := p[name]
	if v == "" || validID(v) {
		return v, nil
	}
	return "", fail(bursar.Invalid, name+" 格式错误")
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		ok := '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// number returns an integer parameter between lo and hi, def when absent.
func (p params) number(name string, def, lo, hi int) (int, error) {
	v := p[name]
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fail(bursar.Invalid, name+" 应为 "+strconv.Itoa(lo)+" 到 "+strconv.Itoa(hi)+" 的整数")
	}
	return n, nil
}

// yuan returns an amount parameter in yuan ("88.88"), nil when absent.
func (p params) yuan(name string) (*bursar.Amount, error) {
	v := p[name]
	if v == "" {
		return nil, nil
	}
	a, err := bursar.ParseYuan(v)
	if err != nil {
		return nil, fail(bursar.Invalid, name+" 应为以元为单位的金额,如 88.88")
	}
	return &a, nil
}

// text returns a free-text parameter of at most max bytes of printable
// ASCII (the channels' trade numbers and buyer ids), "" when absent.
func (p params) text(name string, maxLen int) (string, error) {
	v := p[name]
	if len(v) > maxLen {
		return "", fail(bursar.Invalid, name+" 过长")
	}
	for i := range len(v) {
		if v[i] <= ' ' || v[i] > '~' {
			return "", fail(bursar.Invalid, name+" 格式错误")
		}
	}
	return v, nil
}
