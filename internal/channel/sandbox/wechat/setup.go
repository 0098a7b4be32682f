package wechat

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The files Setup keeps in its directory. The merchant's side is named as
// WeChat's merchant platform names its downloads.
const (
	ConfigFileName   = "wechat.json"        // the adapter's configuration
	merchantKeyFile  = "apiclient_key.pem"  // merchant API private key (PKCS#8)
	merchantCertFile = "apiclient_cert.pem" // merchant API certificate
	apiV3KeyFile     = "apiv3_key.txt"      // the APIv3 key, 32 characters
	publicKeyFile    = "pub_key.pem"        // the WeChat Pay public key, given to the merchant
	platformCertFile = "wechatpay_platform_cert.pem"
	// The gateway's own secrets: what WeChat Pay would never hand out.
	gatewayKeyFile  = "sandbox_pub_key_private.pem"
	platformKeyFile = "sandbox_platform_key.pem"
	identityFile    = "wechat-sandbox.identity.json"
)

// The sandbox merchant's identity: WeChat's documentation sample numbers.
const (
	sandboxMchID = "1900000001"
	sandboxAppID = "wxd678efh567hg6787"
)

// MerchantFiles is what Setup made or found.
type MerchantFiles struct {
	Dir string
	// ConfigFile is the merchant's adapter configuration, the JSON that
	// internal/channel/wechat's LoadConfig reads; its paths are relative to
	// Dir.
	ConfigFile string
	// Gateway holds the identities and keys for New. DataDir, Now and the
	// other settings are the caller's to fill.
	Gateway Config
}

// identity is what Setup records beside the key files.
type identity struct {
	MchID       string `json:"mch_id"`
	AppID       string `json:"app_id"`
	PublicKeyID string `json:"public_key_id"`
}

// adapterConfig is the JSON of the merchant's adapter configuration, as
// internal/channel/wechat.LoadConfig reads it.
type adapterConfig struct {
	MchID          string `json:"mch_id"`
	AppID          string `json:"app_id"`
	MerchantSerial string `json:"merchant_serial"`
	PrivateKeyFile string `json:"private_key_file"`
	APIv3KeyFile   string `json:"apiv3_key_file"`
	PublicKeyID    string `json:"public_key_id"`
	PublicKeyFile  string `json:"public_key_file"`
	BaseURL        string `json:"base_url"`
}

// Setup makes dir a working sandbox merchant on first use: the merchant's
// API key and certificate, the APIv3 key, the gateway's WeChat Pay public
// key pair and a platform certificate (all distinct 2048-bit RSA keys),
// and the adapter's configuration pointing at baseURL. Later calls reuse
// the keys and rewrite only the configuration, so the gateway may move to
// another port. Key generation takes a second or so.
func Setup(dir, baseURL string) (MerchantFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return MerchantFiles{}, fmt.Errorf("wechat sandbox setup: %w", err)
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	if _, err := os.Stat(path(identityFile)); errors.Is(err, fs.ErrNotExist) {
		if err := generate(dir); err != nil {
			return MerchantFiles{}, fmt.Errorf("wechat sandbox setup: %w", err)
		}
	}
	cfg, err := loadKeys(dir)
	if err != nil {
		return MerchantFiles{}, fmt.Errorf("wechat sandbox setup: %w", err)
	}
	cfg.BaseURL = strings.TrimSuffix(baseURL, "/")
	ac, err := json.MarshalIndent(adapterConfig{
		MchID: cfg.MchID, AppID: cfg.AppID, MerchantSerial: cfg.MerchantSerial,
		PrivateKeyFile: merchantKeyFile, APIv3KeyFile: apiV3KeyFile,
		PublicKeyID: cfg.PublicKeyID, PublicKeyFile: publicKeyFile, BaseURL: cfg.BaseURL,
	}, "", "\t")
	if err != nil {
		return MerchantFiles{}, err
	}
	ac = append(ac, '\n')
	if old, err := os.ReadFile(path(ConfigFileName)); err != nil || !bytes.Equal(old, ac) {
		if err := os.WriteFile(path(ConfigFileName), ac, 0o600); err != nil {
			return MerchantFiles{}, fmt.Errorf("wechat sandbox setup: %w", err)
		}
	}
	return MerchantFiles{Dir: dir, ConfigFile: path(ConfigFileName), Gateway: cfg}, nil
}

// generate writes fresh key material and the identity into dir; the
// identity goes last, so a half-finished run is redone next time.
func generate(dir string) error {
	now := time.Now()
	merchantKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	merchantCert, err := selfSigned(merchantKey, pkix.Name{CommonName: sandboxMchID,
		Organization: []string{"Bursar WeChat Pay sandbox merchant"}}, now)
	if err != nil {
		return err
	}
	gatewayKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	platformKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	platformCert, err := selfSigned(platformKey, pkix.Name{CommonName: "Tenpay.com sandbox platform",
		Organization: []string{"Bursar WeChat Pay sandbox"}}, now)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&gatewayKey.PublicKey)
	if err != nil {
		return err
	}
	id, err := json.MarshalIndent(identity{
		MchID: sandboxMchID, AppID: sandboxAppID,
		PublicKeyID: publicKeyIDPrefix + "0" + sandboxMchID + now.In(beijing).Format("20060102") + randomDigits(15),
	}, "", "\t")
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{merchantKeyFile, pkcs8PEM(merchantKey), 0o600},
		{merchantCertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: merchantCert}), 0o644},
		{apiV3KeyFile, []byte(randomAlnum(32)), 0o600},
		{publicKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644},
		{gatewayKeyFile, pkcs8PEM(gatewayKey), 0o600},
		{platformCertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: platformCert}), 0o644},
		{platformKeyFile, pkcs8PEM(platformKey), 0o600},
		{identityFile, append(id, '\n'), 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

func pkcs8PEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err) // an RSA key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// selfSigned makes a certificate for key whose serial is 20 bytes, so that
// its upper-case hex has WeChat's 40 characters.
func selfSigned(key *rsa.PrivateKey, subject pkix.Name, now time.Time) ([]byte, error) {
	b := make([]byte, 20)
	_, _ = rand.Read(b)     // crypto/rand.Read never fails
	b[0] = 0x10 + b[0]%0x60 // no leading zero byte, and positive
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(b),
		Subject:      subject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
}

// loadKeys reads what generate wrote into a Config.
func loadKeys(dir string) (Config, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	var cfg Config
	b, err := read(identityFile)
	if err != nil {
		return cfg, err
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil {
		return cfg, fmt.Errorf("%s: %w", identityFile, err)
	}
	cfg.MchID, cfg.AppID, cfg.PublicKeyID = id.MchID, id.AppID, id.PublicKeyID
	mc, err := readCert(filepath.Join(dir, merchantCertFile))
	if err != nil {
		return cfg, err
	}
	mk, ok := mc.PublicKey.(*rsa.PublicKey)
	if !ok {
		return cfg, fmt.Errorf("%s: not an RSA key", merchantCertFile)
	}
	cfg.MerchantSerial, cfg.MerchantKey = platformSerial(mc), mk
	key, err := read(apiV3KeyFile)
	if err != nil {
		return cfg, err
	}
	cfg.APIv3Key = strings.TrimSpace(string(key))
	if cfg.PublicKey, err = readPrivateKey(filepath.Join(dir, gatewayKeyFile)); err != nil {
		return cfg, err
	}
	if cfg.PlatformCert, err = readCert(filepath.Join(dir, platformCertFile)); err != nil {
		return cfg, err
	}
	if cfg.PlatformKey, err = readPrivateKey(filepath.Join(dir, platformKeyFile)); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// fillFrom sets the identities and keys that are still empty from what
// Setup wrote into dir.
func (c *Config) fillFrom(dir string) error {
	k, err := loadKeys(dir)
	if err != nil {
		return err
	}
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&c.MchID, k.MchID)
	set(&c.AppID, k.AppID)
	set(&c.APIv3Key, k.APIv3Key)
	set(&c.PublicKeyID, k.PublicKeyID)
	if c.MerchantKey == nil {
		c.MerchantSerial, c.MerchantKey = k.MerchantSerial, k.MerchantKey
	}
	if c.PublicKey == nil {
		c.PublicKey = k.PublicKey
	}
	if c.PlatformCert == nil && c.PlatformKey == nil {
		c.PlatformCert, c.PlatformKey = k.PlatformCert, k.PlatformKey
	}
	return nil
}

func readPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("%s: no %s PEM block", filepath.Base(path), typ)
	}
	return block.Bytes, nil
}

func readCert(path string) (*x509.Certificate, error) {
	der, err := readPEM(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return c, nil
}

func readPrivateKey(path string) (*rsa.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key", filepath.Base(path))
	}
	return rk, nil
}
