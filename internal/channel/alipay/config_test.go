package alipay_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel/alipay"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
)

func TestLoadConfigReadsWhatSetupWrites(t *testing.T) {
	cert, err := alipay.LoadConfig(files.CertConfig)
	if err != nil {
		t.Fatal(err)
	}
	if cert.AppID != alipaysandbox.CertAppID || cert.SellerID != alipaysandbox.SellerID || cert.AlipayPublicKeyFile != "" ||
		cert.Gateway != "http://127.0.0.1:1/gateway.do" {
		t.Errorf("certificate config = %+v", cert)
	}
	for _, f := range []string{cert.PrivateKeyFile, cert.AppCertFile, cert.AlipayCertFile, cert.RootCertFile} {
		if !filepath.IsAbs(f) || filepath.Dir(f) != files.Dir {
			t.Errorf("file %q is not resolved against %s", f, files.Dir)
		}
	}
	pk, err := alipay.LoadConfig(files.PublicKeyConfig)
	if err != nil {
		t.Fatal(err)
	}
	if pk.AppID != alipaysandbox.PublicKeyAppID || pk.AlipayPublicKeyFile == "" || pk.AppCertFile != "" {
		t.Errorf("public-key config = %+v", pk)
	}
	for _, c := range []alipay.Config{cert, pk} {
		if _, err := alipay.New(c); err != nil {
			t.Errorf("New(%s): %v", c.AppID, err)
		}
	}
}

func TestLoadConfigRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, body string }{
		{"not JSON", "{"},
		{"an unknown field", `{"app_id":"1","private_key_file":"k","alipay_public_key":"typo"}`},
		{"a bad timeout", `{"app_id":"1","private_key_file":"k","timeout":"soon"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "c.json")
			if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := alipay.LoadConfig(path)
			wantCode(t, "LoadConfig", err, bursar.Invalid)
		})
	}
	_, err := alipay.LoadConfig(filepath.Join(dir, "missing.json"))
	wantCode(t, "LoadConfig of a missing file", err, bursar.Invalid)

	path := filepath.Join(dir, "t.json")
	if err := os.WriteFile(path, []byte(`{"app_id":"1","private_key_file":"k","timeout":"3s"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := alipay.LoadConfig(path)
	if err != nil || c.Timeout != 3*time.Second || c.PrivateKeyFile != filepath.Join(dir, "k") {
		t.Errorf("LoadConfig = %+v, %v", c, err)
	}
}

func TestNewRefusesConfigsThatCannotWork(t *testing.T) {
	cert, err := alipay.LoadConfig(files.CertConfig)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := alipay.LoadConfig(files.PublicKeyConfig)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config func() alipay.Config
	}{
		{"no app id", func() alipay.Config { c := cert; c.AppID = ""; return c }},
		{"both modes", func() alipay.Config { c := cert; c.AlipayPublicKeyFile = pk.AlipayPublicKeyFile; return c }},
		{"half the certificates", func() alipay.Config { c := cert; c.RootCertFile = ""; return c }},
		{"no Alipay key at all", func() alipay.Config { c := pk; c.AlipayPublicKeyFile = ""; return c }},
		{"a missing key file", func() alipay.Config { c := pk; c.PrivateKeyFile += ".missing"; return c }},
		{"a certificate as the private key", func() alipay.Config { c := cert; c.PrivateKeyFile = cert.AppCertFile; return c }},
		{"a key as the Alipay certificate", func() alipay.Config { c := cert; c.AlipayCertFile = cert.PrivateKeyFile; return c }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := alipay.New(tt.config())
			wantCode(t, "New", err, bursar.Invalid)
		})
	}
}
