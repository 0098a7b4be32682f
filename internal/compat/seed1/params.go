package seed1

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"bursar.dev/bursar/internal/bursar"
)

// maxBody bounds request bodies; the seed's largest (a comment) is far
// smaller.
const maxBody = 1 << 20

// params are a call's parameters: the body's over the URL query's. The
// seed's apps post forms (urlencoded or multipart) or JSON objects, with
// numbers as numbers or as strings; all are read alike.
type params struct {
	v map[string]string
	// badType names JSON values that are not a string, number or boolean
	// (an object, an array): refused with code 12 when the endpoint reads
	// them, ignored otherwise, as the seed's server ignored unknown fields.
	badType map[string]bool
}

// readParams reads a request's parameters.
func readParams(r *http.Request) (params, error) {
	p := params{v: map[string]string{}, badType: map[string]bool{}}
	for k, vs := range r.URL.Query() {
		p.v[k] = vs[0]
	}
	body, err := io.ReadAll(r.Body) // bounded by the endpoint to maxBody
	if tooBig, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return p, invalid("请求体超过 " + strconv.FormatInt(tooBig.Limit, 10) + " 字节")
	}
	if err != nil {
		return p, invalid("请求体读取失败")
	}
	media, mp, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
	case media == "multipart/form-data":
		err = p.readMultipart(body, mp["boundary"])
	case media == "application/json" || strings.HasSuffix(media, "+json") || (media != "application/x-www-form-urlencoded" && trimmed[0] == '{'):
		err = p.readJSON(trimmed)
	default:
		err = p.readForm(string(body))
	}
	return p, err
}

func (p params) readForm(body string) error {
	vs, err := url.ParseQuery(body)
	if err != nil {
		return invalid("表单格式错误")
	}
	for k, v := range vs {
		p.v[k] = v[0]
	}
	return nil
}

func (p params) readMultipart(body []byte, boundary string) error {
	if boundary == "" {
		return invalid("multipart 请求缺少 boundary")
	}
	form, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(maxBody)
	if err != nil {
		return invalid("multipart 表单格式错误")
	}
	defer func() { _ = form.RemoveAll() }() // files, if any were sent, are never used
	for k, v := range form.Value {
		p.v[k] = v[0]
	}
	return nil
}

func (p params) readJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return invalid("请求体不是 JSON 对象")
	}
	if dec.More() {
		return invalid("请求体含有多个 JSON 值")
	}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			p.v[k] = v
		case json.Number:
			p.v[k] = v.String()
		case bool:
			p.v[k] = strconv.FormatBool(v)
		case nil:
			delete(p.v, k) // null is no value, as in the seed's Mongoose models
		default:
			p.badType[k] = true
			delete(p.v, k)
		}
	}
	return nil
}

// str returns an optional parameter; "" when absent.
func (p params) str(name string) (string, error) {
	if p.badType[name] {
		return "", typeFault(name)
	}
	return p.v[name], nil
}

// need returns a required parameter; absent or empty is code 2.
func (p params) need(name string) (string, error) {
	v, err := p.str(name)
	if err == nil && v == "" {
		err = invalid("缺少参数 " + name)
	}
	return v, err
}

// int returns an optional integer parameter and whether it was given. A
// value that is not a whole number ("abc", 19.9, 1e3) is code 12.
func (p params) int(name string) (int64, bool, error) {
	v, err := p.str(name)
	if err != nil || v == "" {
		return 0, false, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, true, typeFault(name)
	}
	return n, true, nil
}

// amount returns an optional amount in fen: a whole number from 1 to
// 1,000,000,000 (ten million yuan).
func (p params) amount(name string) (bursar.Amount, bool, error) {
	n, ok, err := p.int(name)
	if err == nil && ok && (n < 1 || n > 1_000_000_000) {
		err = invalid(name + " 须为 1 到 1000000000 之间的整数（单位：分）")
	}
	return bursar.Amount(n), ok, err
}

// id returns a required object id of at most 64 characters; a longer one
// cannot name anything.
func (p params) id(name string) (string, error) {
	v, err := p.need(name)
	if err == nil && len(v) > 64 {
		err = invalid(name + " 格式错误")
	}
	return v, err
}

func typeFault(name string) error {
	return &fault{code: bursar.Invalid, about: aboutType, msg: "参数类型错误：" + name}
}

// token returns the credential a call carries: the Authorization header's
// bearer token, else the seed's accessToken parameter, whatever its case
// (the seed writes both accessToken and accesstoken).
func (p params) token(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.TrimSpace(t) != "" {
		return strings.TrimSpace(t)
	}
	for _, k := range []string{"accessToken", "accesstoken"} {
		if v := p.v[k]; v != "" {
			return v
		}
	}
	for k, v := range p.v {
		if strings.EqualFold(k, "accesstoken") && v != "" {
			return v
		}
	}
	return ""
}
