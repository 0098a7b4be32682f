// Package wechat is the WeChat Pay API v3 channel: channel.Channel on the
// official SDK (github.com/wechatpay-apiv3/wechatpay-go) for a direct
// merchant in WeChat Pay public key mode. It turns Bursar's requests into
// the SDK's and WeChat's answers and errors into Bursar's; it holds no
// state and makes no decision the service should make.
//
// The SDK hard-codes https://api.mch.weixin.qq.com, so with Config.BaseURL
// set every request (the bill's download_url included) goes through a
// RoundTripper that rewrites scheme and host, to the sandbox gateway in
// development. Signatures cover the path and query only, so the rewrite is
// invisible to them.
//
// Amounts are fen on both sides; only CNY is accepted. The bill file is
// the exception, in yuan: ParseBill reads it into a channel.Bill exactly.
package wechat

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/app"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/h5"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// Config is a merchant's WeChat Pay account.
type Config struct {
	MchID string // 商户号
	AppID string // the app id payments are made under (公众号, mini program or app)
	// MerchantSerial is the serial number of the merchant API certificate
	// (apiclient_cert.pem) in hex, as the merchant platform shows it.
	MerchantSerial string
	// PrivateKeyFile is the merchant API private key (apiclient_key.pem),
	// PKCS#8 as WeChat issues it (PKCS#1 is accepted too).
	PrivateKeyFile string
	// APIv3Key is the APIv3 key's value: 32 ASCII characters that decrypt
	// notifications. The JSON configuration names a file holding it
	// (apiv3_key_file), so the secret stays out of the configuration.
	APIv3Key string
	// PublicKeyID ("PUB_KEY_ID_" and digits) and PublicKeyFile (PEM) are
	// the WeChat Pay public key that verifies answers and notifications.
	PublicKeyID   string
	PublicKeyFile string
	// BaseURL replaces https://api.mch.weixin.qq.com when set: scheme and
	// host only (a path would break the request signatures).
	BaseURL string
	// Timeout bounds each HTTP call; 10 s when zero.
	Timeout time.Duration
	// RefundNotifyURL, when set, is where refund notifications go; WeChat
	// uses the merchant platform's setting (the sandbox: the payment's
	// notify_url) otherwise.
	RefundNotifyURL string
}

// fileConfig is the JSON LoadConfig reads (the sandbox's Setup writes it).
type fileConfig struct {
	MchID           string `json:"mch_id"`
	AppID           string `json:"app_id"`
	MerchantSerial  string `json:"merchant_serial"`
	PrivateKeyFile  string `json:"private_key_file"`
	APIv3KeyFile    string `json:"apiv3_key_file"`
	PublicKeyID     string `json:"public_key_id"`
	PublicKeyFile   string `json:"public_key_file"`
	BaseURL         string `json:"base_url"`
	Timeout         string `json:"timeout"`
	RefundNotifyURL string `json:"refund_notify_url"`
}

// LoadConfig reads a JSON configuration:
//
//	{"mch_id": "1900000001", "app_id": "wx...", "merchant_serial": "5157F09E...",
//	 "private_key_file": "apiclient_key.pem", "apiv3_key_file": "apiv3_key.txt",
//	 "public_key_id": "PUB_KEY_ID_...", "public_key_file": "pub_key.pem",
//	 "base_url": "", "timeout": "10s", "refund_notify_url": ""}
//
// Relative file names are resolved against the file's directory. The
// APIv3 key file is read here (surrounding white space trimmed).
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("wechat config: %w", err)
	}
	var f fileConfig
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Config{}, fmt.Errorf("wechat config %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	cfg := Config{
		MchID: f.MchID, AppID: f.AppID, MerchantSerial: f.MerchantSerial,
		PrivateKeyFile: abs(f.PrivateKeyFile), PublicKeyID: f.PublicKeyID, PublicKeyFile: abs(f.PublicKeyFile),
		BaseURL: f.BaseURL, RefundNotifyURL: f.RefundNotifyURL,
	}
	if f.Timeout != "" {
		if cfg.Timeout, err = time.ParseDuration(f.Timeout); err != nil {
			return Config{}, fmt.Errorf("wechat config %s: timeout: %w", path, err)
		}
	}
	if f.APIv3KeyFile == "" {
		return Config{}, fmt.Errorf("wechat config %s: apiv3_key_file is required", path)
	}
	key, err := os.ReadFile(abs(f.APIv3KeyFile))
	if err != nil {
		return Config{}, fmt.Errorf("wechat config %s: %w", path, err)
	}
	cfg.APIv3Key = strings.TrimSpace(string(key))
	return cfg, nil
}

// Channel is WeChat Pay for one merchant. It is safe for concurrent use.
type Channel struct {
	cfg     Config
	client  *core.Client // signs requests, verifies answers
	raw     *core.Client // signs requests, verifies nothing: bill downloads are not signed
	native  native.NativeApiService
	jsapi   jsapi.JsapiApiService
	h5      h5.H5ApiService
	app     app.AppApiService
	refunds refunddomestic.RefundsApiService
	notify  *notify.Handler
}

var _ channel.Channel = (*Channel)(nil)

// New returns the channel for cfg. It reads the key files and makes no
// network call.
func New(cfg Config) (*Channel, error) {
	switch {
	case cfg.MchID == "" || cfg.AppID == "" || cfg.MerchantSerial == "":
		return nil, errors.New("wechat: MchID, AppID and MerchantSerial are required")
	case len(cfg.APIv3Key) != 32:
		return nil, fmt.Errorf("wechat: the APIv3 key has %d bytes, want 32", len(cfg.APIv3Key))
	case !strings.HasPrefix(cfg.PublicKeyID, "PUB_KEY_ID_"):
		return nil, fmt.Errorf("wechat: PublicKeyID %q does not start with PUB_KEY_ID_", cfg.PublicKeyID)
	}
	// WeChat writes serials in upper-case hex and compares them as strings.
	cfg.MerchantSerial = strings.ToUpper(cfg.MerchantSerial)
	key, err := readPrivateKey(cfg.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("wechat: merchant private key: %w", err)
	}
	pub, err := readPublicKey(cfg.PublicKeyFile)
	if err != nil {
		return nil, fmt.Errorf("wechat: WeChat Pay public key: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	hc := &http.Client{Timeout: cfg.Timeout}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("wechat: BaseURL %q must be scheme://host[:port] with no path", cfg.BaseURL)
		}
		hc.Transport = rewrite{scheme: u.Scheme, host: u.Host, next: http.DefaultTransport}
	}
	// core.NewClient only assembles its settings; the context is unused.
	ctx := context.Background()
	client, err := core.NewClient(ctx,
		option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.MerchantSerial, key, cfg.PublicKeyID, pub),
		option.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("wechat: %w", err)
	}
	raw, err := core.NewClient(ctx,
		option.WithMerchantCredential(cfg.MchID, cfg.MerchantSerial, key),
		option.WithoutValidator(),
		option.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("wechat: %w", err)
	}
	handler, err := notify.NewRSANotifyHandler(cfg.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PublicKeyID, *pub))
	if err != nil {
		return nil, fmt.Errorf("wechat: %w", err)
	}
	return &Channel{
		cfg: cfg, client: client, raw: raw,
		native: native.NativeApiService{Client: client}, jsapi: jsapi.JsapiApiService{Client: client},
		h5: h5.H5ApiService{Client: client}, app: app.AppApiService{Client: client},
		refunds: refunddomestic.RefundsApiService{Client: client},
		notify:  handler,
	}, nil
}

// Name is bursar.ChannelWeChat.
func (c *Channel) Name() bursar.Channel { return bursar.ChannelWeChat }

// rewrite sends every request to another scheme and host, the sandbox's,
// leaving path and query (what the signatures cover) as they are.
type rewrite struct {
	scheme, host string
	next         http.RoundTripper
}

func (t rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = t.scheme, t.host, t.host
	return t.next.RoundTrip(r2)
}

func readPrivateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s is not an RSA key", path)
	}
	return rk, nil
}

func readPublicKey(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%s holds no PUBLIC KEY PEM block", path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s is not an RSA key", path)
	}
	return rk, nil
}

// fail turns what the SDK returned into an error with a bursar code:
// WeChat's "not found" codes → NotFound; 5xx and 429 → Unavailable (retry
// with the same numbers); other refusals → ChannelFailed with WeChat's code
// and message; no answer, or an answer whose signature does not verify →
// Unavailable. The SDK's own error stays in the chain for logs.
func fail(op string, result *core.APIResult, err error) error {
	if apiErr, ok := errors.AsType[*core.APIError](err); ok {
		var be *bursar.Error
		switch {
		case apiErr.Code == "ORDER_NOT_EXIST" || apiErr.Code == "RESOURCE_NOT_EXISTS" ||
			apiErr.Code == "NO_STATEMENT_EXIST":
			be = bursar.Errorf(bursar.NotFound, "WeChat Pay found nothing to %s (%s: %s).", op, apiErr.Code, apiErr.Message)
		case apiErr.StatusCode >= 500 || apiErr.StatusCode == http.StatusTooManyRequests:
			be = bursar.Errorf(bursar.Unavailable, "WeChat Pay could not %s now (%s: %s); try again.", op, apiErr.Code, apiErr.Message)
		default:
			be = bursar.Errorf(bursar.ChannelFailed, "WeChat Pay refused to %s: %s %s", op, apiErr.Code, apiErr.Message)
		}
		return fmt.Errorf("wechat %s: %w", op, be)
	}
	if result != nil && result.Response != nil {
		// A 2xx came back but its signature, timestamp or body was wrong:
		// the outcome is unknown, so the caller must ask again.
		return fmt.Errorf("wechat %s: %w: %w", op,
			bursar.Errorf(bursar.Unavailable, "WeChat Pay's answer to %s could not be verified; try again.", op), err)
	}
	return fmt.Errorf("wechat %s: %w: %w", op,
		bursar.Errorf(bursar.Unavailable, "WeChat Pay could not be reached to %s; try again.", op), err)
}
