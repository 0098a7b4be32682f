package alipay

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The apps Setup registers. They are fixed so that a developer's database
// keeps matching the sandbox across resets of its directory.
const (
	CertAppID      = "2021000000000001" // signs in certificate mode; can pay out
	PublicKeyAppID = "2021000000000002" // signs in public-key mode
	SellerID       = "2088000000000001" // the merchant (pid) both apps belong to
)

// The files Setup writes into its directory. The merchant's files carry the
// names Alipay's console gives them.
const (
	registryFile        = "sandbox.json"
	certConfigFile      = "alipay.json"
	publicKeyConfigFile = "alipay_publickey.json"

	gatewayKeyFile      = "sandbox_alipay_private_key.pem" // the gateway's own key: never a merchant's
	alipayPublicKeyFile = "alipayPublicKey_RSA2.pem"
	alipayCertFile      = "alipayCertPublicKey_RSA2.crt"
	rootCertFile        = "alipayRootCert.crt"
	certAppKeyFile      = "app_private_key.pem"
	certAppCertFile     = "appCertPublicKey_" + CertAppID + ".crt"
	publicKeyAppKeyFile = "app_publickey_mode_private_key.pem"
	publicKeyAppPubFile = "app_publickey_mode_public_key.pem"
	modeCert            = "cert"
	modePublicKey       = "public_key"
)

// registry is what the gateway reads at New: its key, its certificates and
// the apps it serves, as file names relative to the directory.
type registry struct {
	GatewayKey      string        `json:"gateway_private_key"`
	AlipayPublicKey string        `json:"alipay_public_key"`
	AlipayCert      string        `json:"alipay_cert"`
	RootCert        string        `json:"root_cert"`
	SellerID        string        `json:"seller_id"`
	Apps            []registryApp `json:"apps"`
}

type registryApp struct {
	AppID     string `json:"app_id"`
	Mode      string `json:"mode"`                     // modeCert or modePublicKey
	Cert      string `json:"app_cert,omitempty"`       // certificate mode: the app certificate
	PublicKey string `json:"app_public_key,omitempty"` // public-key mode: the uploaded app public key
}

// merchantConfig is the adapter's configuration file (internal/channel/alipay
// LoadConfig reads it). The sandbox does not import the adapter, so the two
// agree on these names; the adapter's tests load what Setup writes.
type merchantConfig struct {
	AppID           string `json:"app_id"`
	PrivateKeyFile  string `json:"private_key_file"`
	AlipayPublicKey string `json:"alipay_public_key_file,omitempty"`
	AppCertFile     string `json:"app_cert_file,omitempty"`
	AlipayCertFile  string `json:"alipay_cert_file,omitempty"`
	RootCertFile    string `json:"root_cert_file,omitempty"`
	SellerID        string `json:"seller_id"`
	Gateway         string `json:"gateway"`
}

// MerchantFiles says where Setup put the merchant's side of the sandbox.
type MerchantFiles struct {
	Dir string
	// CertConfig is the adapter configuration for CertAppID (certificate
	// mode, which payouts need); use it unless testing public-key mode.
	CertConfig string
	// PublicKeyConfig is the adapter configuration for PublicKeyAppID.
	PublicKeyConfig string
}

// Setup prepares dir for a sandbox gateway and its merchant: on first use it
// generates the gateway's key, a root CA, the Alipay certificate, and for
// each of the two apps its own key pair (and for CertAppID its certificate),
// all distinct 2048-bit RSA keys; on later calls it reuses them. Each call
// (re)writes the two merchant configuration files with the gateway at
// baseURL + "/gateway.do", so the sandbox may move to another port. Pass
// the same dir as Config.Dir. Setup is not safe against another process
// running it on the same dir at the same time.
func Setup(dir, baseURL string) (MerchantFiles, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return MerchantFiles{}, fmt.Errorf("alipay sandbox setup: %w", err)
	}
	reg, err := readRegistry(dir)
	if errors.Is(err, fs.ErrNotExist) {
		reg, err = generate(dir, time.Now())
	}
	if err != nil {
		return MerchantFiles{}, fmt.Errorf("alipay sandbox setup in %s: %w", dir, err)
	}
	gateway := strings.TrimSuffix(baseURL, "/") + "/gateway.do"
	files := MerchantFiles{Dir: dir, CertConfig: filepath.Join(dir, certConfigFile),
		PublicKeyConfig: filepath.Join(dir, publicKeyConfigFile)}
	configs := map[string]merchantConfig{
		certConfigFile: {AppID: CertAppID, PrivateKeyFile: certAppKeyFile, AppCertFile: certAppCertFile,
			AlipayCertFile: reg.AlipayCert, RootCertFile: reg.RootCert, SellerID: reg.SellerID, Gateway: gateway},
		publicKeyConfigFile: {AppID: PublicKeyAppID, PrivateKeyFile: publicKeyAppKeyFile,
			AlipayPublicKey: reg.AlipayPublicKey, SellerID: reg.SellerID, Gateway: gateway},
	}
	for name, c := range configs {
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return MerchantFiles{}, err
		}
		if err := writeFile(filepath.Join(dir, name), append(b, '\n')); err != nil {
			return MerchantFiles{}, fmt.Errorf("alipay sandbox setup: %w", err)
		}
	}
	return files, nil
}

func readRegistry(dir string) (registry, error) {
	var reg registry
	b, err := os.ReadFile(filepath.Join(dir, registryFile))
	if err != nil {
		return reg, err
	}
	if err := json.Unmarshal(b, &reg); err != nil {
		return reg, fmt.Errorf("read %s: %w", registryFile, err)
	}
	return reg, nil
}

// generate writes all key material and, last, the registry: a directory
// with no registry is incomplete and is generated again.
func generate(dir string, now time.Time) (registry, error) {
	ca, bundle, err := newAuthority(now)
	if err != nil {
		return registry{}, err
	}
	keys := make([]*rsa.PrivateKey, 3) // gateway, cert app, public-key app
	for i := range keys {
		if keys[i], err = rsa.GenerateKey(rand.Reader, keyBits); err != nil {
			return registry{}, err
		}
	}
	gatewayKey, certAppKey, pkAppKey := keys[0], keys[1], keys[2]
	alipayCert, err := ca.issue(now, "Bursar Sandbox Alipay", "Alipay", &gatewayKey.PublicKey)
	if err != nil {
		return registry{}, err
	}
	appCert, err := ca.issue(now, CertAppID, "App", &certAppKey.PublicKey)
	if err != nil {
		return registry{}, err
	}
	files := map[string][]byte{rootCertFile: bundle, alipayCertFile: alipayCert, certAppCertFile: appCert}
	for name, k := range map[string]*rsa.PrivateKey{gatewayKeyFile: gatewayKey, certAppKeyFile: certAppKey, publicKeyAppKeyFile: pkAppKey} {
		if files[name], err = pemPrivateKey(k); err != nil {
			return registry{}, err
		}
	}
	for name, k := range map[string]*rsa.PublicKey{alipayPublicKeyFile: &gatewayKey.PublicKey, publicKeyAppPubFile: &pkAppKey.PublicKey} {
		if files[name], err = pemPublicKey(k); err != nil {
			return registry{}, err
		}
	}
	for name, b := range files {
		if err := writeFile(filepath.Join(dir, name), b); err != nil {
			return registry{}, err
		}
	}
	reg := registry{
		GatewayKey: gatewayKeyFile, AlipayPublicKey: alipayPublicKeyFile, AlipayCert: alipayCertFile,
		RootCert: rootCertFile, SellerID: SellerID,
		Apps: []registryApp{
			{AppID: CertAppID, Mode: modeCert, Cert: certAppCertFile},
			{AppID: PublicKeyAppID, Mode: modePublicKey, PublicKey: publicKeyAppPubFile},
		},
	}
	b, err := json.MarshalIndent(reg, "", "  ")
	if err != nil {
		return registry{}, err
	}
	return reg, writeFile(filepath.Join(dir, registryFile), append(b, '\n'))
}

// writeFile replaces path atomically (a reader sees the old file or the new
// one, never half of either), readable by its owner only: it holds keys.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp) // best effort: the error that matters is err
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
