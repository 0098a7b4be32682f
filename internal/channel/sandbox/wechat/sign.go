package wechat

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	authScheme        = "WECHATPAY2-SHA256-RSA2048"
	publicKeyIDPrefix = "PUB_KEY_ID_"
	// probePrefix starts the signature of WeChat's signature probes, which
	// a merchant must reject like any bad signature.
	probePrefix = "WECHATPAY/SIGNTEST/"
	// maxSkew is how far a request's timestamp may be from the gateway's clock.
	maxSkew = 5 * time.Minute
	// maxBody bounds request bodies; real ones are a few kilobytes.
	maxBody = 1 << 20
)

// apiError is an API error answer: the HTTP status and WeChat's JSON body.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func apiErr(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func paramErr(format string, args ...any) *apiError {
	return apiErr(http.StatusBadRequest, "PARAM_ERROR", format, args...)
}

func systemErr(err error) *apiError {
	return apiErr(http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误: %s", err.Error())
}

// writeError answers an API error. Error answers are not signed: the SDKs
// never verify them.
func writeError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Request-ID", randomHex(16))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// authenticated reads and verifies a merchant request before h sees it, and
// answers an error planted with the next-error control instead when there
// is one.
func (g *Gateway) authenticated(h func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeError(w, paramErr("请求体读取失败: %s", err.Error()))
			return
		}
		if e := g.verifyRequest(r, body); e != nil {
			writeError(w, e)
			return
		}
		if e := g.takeNextError(); e != nil {
			writeError(w, e)
			return
		}
		h(w, r, body)
	}
}

// verifyRequest checks the Authorization header: the scheme, the merchant,
// its certificate serial, the timestamp window and the SHA256-RSA signature
// over method\nRequestURI\ntimestamp\nnonce\nbody\n.
func (g *Gateway) verifyRequest(r *http.Request, body []byte) *apiError {
	fail := func(issue string) *apiError {
		return apiErr(http.StatusUnauthorized, "SIGN_ERROR", "错误的签名，验签失败: %s", issue)
	}
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, authScheme+" ")
	if !ok {
		return fail("Authorization 不是 " + authScheme + " 类型")
	}
	p := parseAuthParams(rest)
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if p[k] == "" {
			return fail("Authorization 缺少 " + k)
		}
	}
	if p["mchid"] != g.cfg.MchID {
		return fail("商户号 " + p["mchid"] + " 不存在")
	}
	if p["serial_no"] != g.cfg.MerchantSerial {
		return fail("商户证书序列号 " + p["serial_no"] + " 有误")
	}
	ts, err := strconv.ParseInt(p["timestamp"], 10, 64)
	if err != nil {
		return fail("timestamp 不是整数")
	}
	if skew := g.now().Sub(time.Unix(ts, 0)); skew > maxSkew || skew < -maxSkew {
		return fail("timestamp 与系统时间相差超过 5 分钟")
	}
	msg := r.Method + "\n" + r.RequestURI + "\n" + p["timestamp"] + "\n" + p["nonce_str"] + "\n" + string(body) + "\n"
	sig, err := base64.StdEncoding.DecodeString(p["signature"])
	if err != nil {
		return fail("signature 不是 base64")
	}
	sum := sha256.Sum256([]byte(msg))
	if rsa.VerifyPKCS1v15(g.cfg.MerchantKey, crypto.SHA256, sum[:], sig) != nil {
		return fail("签名与商户证书不符")
	}
	return nil
}

// parseAuthParams reads the comma-separated key="value" pairs of an
// Authorization header in any order. Values never contain quotes or commas
// (base64, digits, hex), so a simple split is exact.
func parseAuthParams(s string) map[string]string {
	out := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		out[k] = strings.Trim(v, `"`)
	}
	return out
}

// signingKey picks the key an answer is signed with from the serial the
// merchant sent in Wechatpay-Serial: the platform certificate when it names
// it, else the public key, as the real gateway does during a migration.
func (g *Gateway) signingKey(serial string) (string, *rsa.PrivateKey) {
	if g.cfg.PlatformCert != nil && serial == platformSerial(g.cfg.PlatformCert) {
		return serial, g.cfg.PlatformKey
	}
	return g.cfg.PublicKeyID, g.cfg.PublicKey
}

// notifyKey picks the key a notification delivery is signed with.
func (g *Gateway) notifyKey() (string, *rsa.PrivateKey) {
	switch g.cfg.NotifyWith {
	case notifyWithPlatform:
		return platformSerial(g.cfg.PlatformCert), g.cfg.PlatformKey
	case notifyWithMixed:
		if mrand.IntN(2) == 0 { //nolint:gosec // a coin toss between two valid keys, not a secret
			return platformSerial(g.cfg.PlatformCert), g.cfg.PlatformKey
		}
	}
	return g.cfg.PublicKeyID, g.cfg.PublicKey
}

const (
	notifyWithPublicKey = "public_key"
	notifyWithPlatform  = "platform"
	notifyWithMixed     = "mixed"
)

// signHeaders sets the Wechatpay-* headers that sign body: SHA256-RSA over
// timestamp\nnonce\nbody\n, with the gateway's clock for the timestamp.
func (g *Gateway) signHeaders(h http.Header, serial string, key *rsa.PrivateKey, body []byte) error {
	ts := strconv.FormatInt(g.now().Unix(), 10)
	nonce := randomHex(16)
	sig, err := sign(key, ts+"\n"+nonce+"\n"+string(body)+"\n")
	if err != nil {
		return err
	}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", sig)
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Signature-Type", authScheme)
	return nil
}

func sign(key *rsa.PrivateKey, msg string) (string, error) {
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// reply answers a 2xx, signed with the key the request asked for. A nil v
// is an empty body (204); its signature covers the empty body all the same.
func (g *Gateway) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	var body []byte
	if v != nil {
		var err error
		if body, err = marshal(v); err != nil {
			writeError(w, systemErr(err))
			return
		}
	}
	serial, key := g.signingKey(r.Header.Get("Wechatpay-Serial"))
	if err := g.signHeaders(w.Header(), serial, key, body); err != nil {
		writeError(w, systemErr(err))
		return
	}
	w.Header().Set("Request-ID", randomHex(16))
	if body != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// marshal encodes v compactly without HTML escaping, as WeChat does: the
// bytes sent are the bytes signed.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// encryptedResource is AEAD_AES_256_GCM ciphertext as notifications and
// platform certificates carry it.
type encryptedResource struct {
	OriginalType   string `json:"original_type,omitempty"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// seal encrypts plaintext with the APIv3 key: a 12-character nonce used as
// its ASCII bytes, the associated data as AAD, the tag appended.
func seal(apiV3Key string, plaintext []byte, associatedData string) (encryptedResource, error) {
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		return encryptedResource{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return encryptedResource{}, err
	}
	nonce := randomAlnum(12)
	ct := aead.Seal(nil, []byte(nonce), plaintext, []byte(associatedData))
	return encryptedResource{
		Algorithm:      "AEAD_AES_256_GCM",
		Ciphertext:     base64.StdEncoding.EncodeToString(ct),
		AssociatedData: associatedData,
		Nonce:          nonce,
	}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomAlnum(n int) string { return randomFrom(alnum, n) }

func randomDigits(n int) string { return randomFrom("0123456789", n) }

// randomFrom draws n characters of alphabet uniformly from crypto/rand,
// rejecting the bytes that would bias the draw.
func randomFrom(alphabet string, n int) string {
	out := make([]byte, 0, n)
	limit := 256 - 256%len(alphabet)
	var b [1]byte
	for len(out) < n {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		if int(b[0]) < limit {
			out = append(out, alphabet[int(b[0])%len(alphabet)])
		}
	}
	return string(out)
}
