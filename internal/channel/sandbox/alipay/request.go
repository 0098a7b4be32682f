package alipay

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// defaultTimestampSkew is how far a request's timestamp may be from the
// gateway's clock. A client that formats its clock in UTC instead of Beijing
// time is eight hours off and is refused, as Alipay refuses it.
const defaultTimestampSkew = 10 * time.Minute

// apiError is a failure in Alipay's terms: a public code and a sub code,
// and the fields Alipay echoes with them (out_trade_no, ...).
type apiError struct {
	code, msg, subCode, subMsg string
	extra                      node
}

func missingArg(sub, msg string) *apiError {
	return &apiError{code: "40001", msg: "Missing Required Arguments", subCode: sub, subMsg: msg}
}

func invalidArg(sub, msg string) *apiError {
	return &apiError{code: "40002", msg: "Invalid Arguments", subCode: sub, subMsg: msg}
}

func bizFailed(sub, msg string) *apiError {
	return &apiError{code: "40004", msg: "Business Failed", subCode: sub, subMsg: msg}
}

func unavailable(msg string) *apiError {
	return &apiError{code: "20000", msg: "Service Currently Unavailable", subCode: "isp.unknow-error", subMsg: msg}
}

// with echoes a field in the error's node.
func (e *apiError) with(k, v string) *apiError {
	e.extra = e.extra.set(k, v)
	return e
}

// params returns a request's parameters, one value per name: the union of
// the query and the form, first value first (net/http puts the form's values
// before the query's). SDKs differ in where they put the system parameters.
func params(r *http.Request) (map[string]string, error) {
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	p := make(map[string]string, len(r.Form))
	for k, vs := range r.Form {
		if len(vs) > 0 {
			p[k] = vs[0]
		}
	}
	return p, nil
}

// signContent is the string Alipay signs: the parameters sorted by name,
// name=value joined by "&", raw values, leaving out the names in skip and
// every empty value.
func signContent(p map[string]string, skip ...string) string {
	keys := make([]string, 0, len(p))
	for k, v := range p {
		if v == "" || contains(skip, k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(p[k])
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// sign signs data with Alipay's key (SHA256withRSA) and encodes it as
// Alipay does: standard base64 with padding.
func (g *Gateway) sign(data []byte) string {
	sum := sha256.Sum256(data)
	sig, err := rsa.SignPKCS1v15(nil, g.key, crypto.SHA256, sum[:])
	if err != nil {
		// Signing with a valid key over a fixed-size digest cannot fail.
		panic("alipay sandbox: sign: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// authenticate checks a request's common parameters and its signature, in
// the order Alipay reports problems, and returns the app that sent it.
func (g *Gateway) authenticate(p map[string]string) (*app, *apiError) {
	if p["app_id"] == "" {
		return nil, missingArg("isv.missing-app-id", "缺少AppID参数")
	}
	a := g.apps[p["app_id"]]
	if a == nil {
		return nil, invalidArg("isv.invalid-app-id", "无效的AppID参数")
	}
	switch {
	case p["method"] == "":
		return a, missingArg("isv.missing-method", "缺少方法名参数")
	case p["sign"] == "":
		return a, missingArg("isv.missing-signature", "缺少签名参数")
	case p["sign_type"] == "":
		return a, missingArg("isv.missing-signature-type", "缺少签名类型参数")
	case p["sign_type"] != "RSA2":
		return a, invalidArg("isv.invalid-signature-type", "无效的签名类型参数: the sandbox accepts RSA2 only")
	case p["timestamp"] == "":
		return a, missingArg("isv.missing-timestamp", "缺少时间戳参数")
	case p["charset"] != "" && !strings.EqualFold(p["charset"], "utf-8"):
		return a, invalidArg("isv.invalid-charset", "字符集错误: the sandbox accepts utf-8 only")
	case p["encrypt_type"] != "":
		return a, invalidArg("isv.invalid-encrypt-type", "加密类型错误: the sandbox does not encrypt content")
	}
	ts, err := time.ParseInLocation(timeLayout, p["timestamp"], beijing)
	if d := g.now().Sub(ts); err != nil || d > g.skew || d < -g.skew {
		return a, invalidArg("isv.invalid-timestamp", "非法的时间戳参数: "+p["timestamp"]+
			" is not Beijing time within "+g.skew.String()+" of "+stamp(g.now()))
	}
	switch a.mode {
	case modeCert:
		if p["app_cert_sn"] != a.certSN {
			return a, invalidArg("isv.app-cert-not-exist", "应用公钥证书不存在: app_cert_sn does not name this app's certificate")
		}
		if p["alipay_root_cert_sn"] != g.rootSN {
			return a, invalidArg("isv.invalid-alipay-root-cert-sn", "无效支付宝根证书序列号")
		}
	case modePublicKey:
		if p["app_cert_sn"] != "" || p["alipay_root_cert_sn"] != "" {
			return a, invalidArg("isv.app-cert-not-exist", "应用公钥证书不存在: this app signs in public-key mode")
		}
	}
	content := signContent(p, "sign")
	sig, err := base64.StdEncoding.DecodeString(p["sign"])
	sum := sha256.Sum256([]byte(content))
	if err != nil || rsa.VerifyPKCS1v15(a.pub, crypto.SHA256, sum[:], sig) != nil {
		return a, invalidArg("isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："+content)
	}
	return a, nil
}

// biz is a request's biz_content.
type biz map[string]any

// parseBiz decodes biz_content keeping numbers as their text, so an amount
// sent as a JSON number is never a float.
func parseBiz(s string) (biz, *apiError) {
	b := biz{}
	if s == "" {
		return b, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil || dec.More() {
		return nil, invalidArg("isv.invalid-parameter", "参数无效: biz_content is not a JSON object")
	}
	return b, nil
}

// str returns a string or number field as text, "" when absent.
func (b biz) str(k string) string {
	switch v := b[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// obj returns an object field, empty when absent.
func (b biz) obj(k string) biz {
	if m, ok := b[k].(map[string]any); ok {
		return m
	}
	return biz{}
}

// checkNotifyURL refuses a notify_url Alipay could not sign and verify as
// given: one with a query string would add its parameters to what the
// merchant verifies, and the signature would never match.
func checkNotifyURL(s string) *apiError {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return invalidArg("isv.invalid-parameter", "参数无效: notify_url must be an absolute http or https URL")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return invalidArg("isv.invalid-parameter", "参数无效: notify_url must not carry a query string or fragment")
	}
	return nil
}

// field is one name and value of a response node, kept in order: Alipay's
// responses are compact JSON in a fixed order, and clients verify the exact
// bytes.
type field struct {
	k string
	v any // string, node or []node
}

type node []field

// set appends a string field unless it is empty, as Alipay leaves empty
// fields out.
func (n node) set(k, v string) node {
	if v == "" {
		return n
	}
	return append(n, field{k, v})
}

func (e *apiError) node() node {
	n := node{}.set("code", e.code).set("msg", e.msg).set("sub_code", e.subCode).set("sub_msg", e.subMsg)
	return append(n, e.extra...)
}

func success() node { return node{{"code", "10000"}, {"msg", "Success"}} }

// encode writes v as compact JSON without HTML escaping (Alipay writes "<"
// and "&" as they are).
func encode(buf *bytes.Buffer, v any) {
	switch v := v.(type) {
	case node:
		buf.WriteByte('{')
		for i, f := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			encode(buf, f.k)
			buf.WriteByte(':')
			encode(buf, f.v)
		}
		buf.WriteByte('}')
	case []node:
		buf.WriteByte('[')
		for i, n := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			encode(buf, n)
		}
		buf.WriteByte(']')
	default:
		var tmp bytes.Buffer
		enc := json.NewEncoder(&tmp)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v) // strings and nodes always encode
		buf.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
	}
}

// respond writes {"<method>_response":{...},"sign":"..."}, signing the exact
// bytes of the node; for an app in certificate mode alipay_cert_sn goes
// between the node and the sign, as Alipay puts it. Errors are signed too.
func (g *Gateway) respond(w http.ResponseWriter, method string, a *app, n node) {
	name := "error_response"
	if method != "" && isMethod(method) {
		name = strings.ReplaceAll(method, ".", "_") + "_response"
	}
	var body bytes.Buffer
	encode(&body, n)
	var out bytes.Buffer
	out.WriteByte('{')
	encode(&out, name)
	out.WriteByte(':')
	out.Write(body.Bytes())
	if a != nil && a.mode == modeCert {
		out.WriteString(`,"alipay_cert_sn":`)
		encode(&out, g.certSN)
	}
	out.WriteString(`,"sign":`)
	encode(&out, g.sign(body.Bytes()))
	out.WriteByte('}')
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_, _ = w.Write(out.Bytes())
}
