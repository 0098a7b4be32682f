// Package alipay implements channel.Channel for Alipay's Open Platform
// (the gateway.do protocol) on github.com/smartwalle/alipay/v3: payments by
// page, wap, app and QR code, queries, closing, refunds, payouts to Alipay
// accounts, daily bills and notifications. It converts between Bursar's fen
// and Alipay's yuan strings with bursar.ParseYuan and Amount.Yuan, never
// through a float, and gives every error a bursar code. ParseBill reads the
// GBK detail file Bill downloads into a channel.Bill.
//
// The SDK signs requests and verifies every answer and notification; this
// package adds what the SDK leaves to its user: Beijing timestamps whatever
// the machine's zone, checking that a notification is for this app and
// seller, refusing notifications with empty or repeated fields, telling a
// replayed refund from one that moved no money, and mapping Alipay's codes.
//
// It works in public-key mode or certificate mode (which payouts need); the
// configuration says which. The fake gateway in
// internal/channel/sandbox/alipay speaks the same protocol for development
// and tests.
package alipay

import (
	"bytes"
	"crypto/md5" //nolint:gosec // Alipay names certificates by an MD5 digest; an identifier, not a security check
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smartwalle/alipay/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
)

// ProductionGateway is Alipay's gateway, used when Config.Gateway is empty.
const ProductionGateway = "https://openapi.alipay.com/gateway.do"

// defaultTimeout bounds a call to Alipay when the configuration sets none.
const defaultTimeout = 15 * time.Second

// beijing is the zone of every Alipay timestamp. The SDK formats request
// timestamps in time.Local unless told otherwise, which on a UTC server is
// eight hours off and refused as isv.invalid-timestamp.
var beijing = time.FixedZone("CST", 8*3600)

// timeLayout is Alipay's timestamp format.
const timeLayout = "2006-01-02 15:04:05"

// Config is an Alipay app's configuration. Set AlipayPublicKeyFile for
// public-key mode, or AppCertFile, AlipayCertFile and RootCertFile for
// certificate mode; not both.
type Config struct {
	AppID          string `json:"app_id"`
	PrivateKeyFile string `json:"private_key_file"` // the app's private key, PEM PKCS#1 or PKCS#8
	// AlipayPublicKeyFile is the Alipay public key (PEM), not the app's own.
	AlipayPublicKeyFile string `json:"alipay_public_key_file,omitempty"`
	AppCertFile         string `json:"app_cert_file,omitempty"`    // appCertPublicKey_<app id>.crt
	AlipayCertFile      string `json:"alipay_cert_file,omitempty"` // alipayCertPublicKey_RSA2.crt
	RootCertFile        string `json:"root_cert_file,omitempty"`   // alipayRootCert.crt
	// SellerID is the merchant's pid (2088...); when set, a notification
	// for another seller is refused.
	SellerID string `json:"seller_id,omitempty"`
	// Gateway is the gateway.do URL; ProductionGateway when empty.
	Gateway string `json:"gateway,omitempty"`
	// Timeout bounds each call (in the file, a duration such as "10s");
	// defaultTimeout when zero. Ignored when HTTPClient is set.
	Timeout time.Duration `json:"-"`
	// HTTPClient makes the calls and downloads bills; a client with Timeout
	// when nil.
	HTTPClient *http.Client `json:"-"`
}

// LoadConfig reads a configuration file (JSON with the field names of
// Config, "timeout" as a duration string), as the sandbox's Setup writes it.
// Relative file names are relative to the file's directory.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, coded(bursar.Invalid, err, "The Alipay configuration %s cannot be read.", path)
	}
	var file struct {
		Config
		Timeout string `json:"timeout,omitempty"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return Config{}, coded(bursar.Invalid, err, "The Alipay configuration %s is not valid JSON of known fields.", path)
	}
	cfg := file.Config
	if file.Timeout != "" {
		if cfg.Timeout, err = time.ParseDuration(file.Timeout); err != nil || cfg.Timeout < 0 {
			return Config{}, bursar.Errorf(bursar.Invalid, "The Alipay configuration %s has a bad timeout %q.", path, file.Timeout)
		}
	}
	dir := filepath.Dir(path)
	for _, f := range []*string{&cfg.PrivateKeyFile, &cfg.AlipayPublicKeyFile, &cfg.AppCertFile, &cfg.AlipayCertFile, &cfg.RootCertFile} {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(dir, *f)
		}
	}
	return cfg, nil
}

// Channel is Alipay as a channel.Channel. It is safe for concurrent use.
type Channel struct {
	client   *alipay.Client
	http     *http.Client
	appID    string
	sellerID string
	certSN   string // the Alipay certificate's SN in certificate mode, "" in public-key mode
	now      func() time.Time
}

var _ channel.Channel = (*Channel)(nil)

// Option changes how a Channel works.
type Option func(*Channel)

// WithClock sets the clock that dates a refund when Alipay's answer gives
// no time (the SDK does not expose gmt_refund_pay); time.Now by default.
func WithClock(now func() time.Time) Option {
	return func(c *Channel) { c.now = now }
}

// New makes a Channel from cfg, reading its key and certificate files.
// A configuration that cannot work is a bursar.Invalid error.
func New(cfg Config, opts ...Option) (*Channel, error) {
	certMode := cfg.AppCertFile != "" || cfg.AlipayCertFile != "" || cfg.RootCertFile != ""
	switch {
	case cfg.AppID == "" || cfg.PrivateKeyFile == "":
		return nil, bursar.Errorf(bursar.Invalid, "The Alipay configuration needs app_id and private_key_file.")
	case certMode && cfg.AlipayPublicKeyFile != "":
		return nil, bursar.Errorf(bursar.Invalid, "The Alipay configuration sets both a public key and certificates; an app uses one mode.")
	case certMode && (cfg.AppCertFile == "" || cfg.AlipayCertFile == "" || cfg.RootCertFile == ""):
		return nil, bursar.Errorf(bursar.Invalid, "Certificate mode needs app_cert_file, alipay_cert_file and root_cert_file.")
	case !certMode && cfg.AlipayPublicKeyFile == "":
		return nil, bursar.Errorf(bursar.Invalid, "The Alipay configuration needs alipay_public_key_file or the three certificates.")
	}
	c := &Channel{http: cfg.HTTPClient, appID: cfg.AppID, sellerID: cfg.SellerID, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		timeout := cfg.Timeout
		if timeout == 0 {
			timeout = defaultTimeout
		}
		c.http = &http.Client{Timeout: timeout}
	}
	gateway := cfg.Gateway
	if gateway == "" {
		gateway = ProductionGateway
	}
	key, err := readFile("private key", cfg.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	// production=true whatever the gateway: it only decides that an unknown
	// alipay_cert_sn in an answer makes the SDK download the new Alipay
	// certificate (after Alipay rotates it) instead of failing.
	c.client, err = alipay.New(cfg.AppID, key, true, alipay.WithProductionGateway(gateway),
		alipay.WithTimeLocation(beijing), alipay.WithHTTPClient(c.http))
	if err != nil {
		return nil, coded(bursar.Invalid, err, "The Alipay private key %s cannot be used.", cfg.PrivateKeyFile)
	}
	if !certMode {
		pub, err := readFile("Alipay public key", cfg.AlipayPublicKeyFile)
		if err == nil {
			err = c.client.LoadAliPayPublicKey(pub)
		}
		if err != nil {
			return nil, coded(bursar.Invalid, err, "The Alipay public key %s cannot be used.", cfg.AlipayPublicKeyFile)
		}
		return c, nil
	}
	if err := c.loadCerts(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Channel) loadCerts(cfg Config) error {
	for _, step := range []struct {
		what, file string
		load       func(string) error
	}{
		{"app certificate", cfg.AppCertFile, c.client.LoadAppCertPublicKey},
		{"Alipay certificate", cfg.AlipayCertFile, c.client.LoadAlipayCertPublicKey},
		{"Alipay root certificate", cfg.RootCertFile, c.client.LoadAliPayRootCert},
	} {
		s, err := readFile(step.what, step.file)
		if err == nil {
			err = step.load(s)
		}
		if err != nil {
			return coded(bursar.Invalid, err, "The %s %s cannot be used.", step.what, step.file)
		}
	}
	s, err := readFile("Alipay certificate", cfg.AlipayCertFile)
	if err != nil {
		return err
	}
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return bursar.Errorf(bursar.Invalid, "The Alipay certificate %s is not PEM.", cfg.AlipayCertFile)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return coded(bursar.Invalid, err, "The Alipay certificate %s cannot be parsed.", cfg.AlipayCertFile)
	}
	// The same name the SDK gives it: MD5 of the issuer and the decimal serial.
	sum := md5.Sum([]byte(cert.Issuer.String() + cert.SerialNumber.String())) //nolint:gosec // see the import
	c.certSN = hex.EncodeToString(sum[:])
	return nil
}

// readFile reads a key or certificate, trimmed: the SDK takes a PEM only if
// its first byte is the dash of "-----BEGIN".
func readFile(what, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", coded(bursar.Invalid, err, "The %s file %s cannot be read.", what, path)
	}
	return strings.TrimSpace(string(b)), nil
}

// Name is bursar.ChannelAlipay.
func (c *Channel) Name() bursar.Channel { return bursar.ChannelAlipay }

// parseTime reads an Alipay timestamp (Beijing time, with or without
// milliseconds); "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(timeLayout, s, beijing)
	if err != nil {
		t, err = time.ParseInLocation(timeLayout+".000", s, beijing)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("the time %q is not yyyy-MM-dd HH:mm:ss", s)
	}
	return t, nil
}

// yuan reads an Alipay amount as CNY money.
func yuan(s string) (bursar.Money, error) {
	a, err := bursar.ParseYuan(s)
	if err != nil {
		return bursar.Money{}, err
	}
	return bursar.Money{Amount: a, Currency: bursar.CNY}, nil
}
