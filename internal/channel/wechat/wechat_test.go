package wechat_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel/wechat"
)

func TestLoadConfig(t *testing.T) {
	cfg, err := wechat.LoadConfig(files.ConfigFile)
	if err != nil {
		t.Fatalf("LoadConfig() error = %v", err)
	}
	if cfg.PrivateKeyFile != filepath.Join(files.Dir, "apiclient_key.pem") || cfg.PublicKeyFile != filepath.Join(files.Dir, "pub_key.pem") {
		t.Errorf("key files = %q, %q; want them beside the configuration", cfg.PrivateKeyFile, cfg.PublicKeyFile)
	}
	if cfg.APIv3Key != files.Gateway.APIv3Key || cfg.MchID != files.Gateway.MchID || cfg.PublicKeyID != files.Gateway.PublicKeyID {
		t.Errorf("LoadConfig() = %+v, want the sandbox merchant", cfg)
	}

	write := func(t *testing.T, body string) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), "wechat.json")
		body = strings.ReplaceAll(body, "KEYS", filepath.ToSlash(files.Dir))
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := `{"mch_id":"1900000001","app_id":"wx1","merchant_serial":"ab","private_key_file":"KEYS/apiclient_key.pem",
		"apiv3_key_file":"KEYS/apiv3_key.txt","public_key_id":"PUB_KEY_ID_1","public_key_file":"KEYS/pub_key.pem","timeout":"3s"}`
	cfg, err = wechat.LoadConfig(write(t, good))
	if err != nil || cfg.Timeout != 3*time.Second || cfg.PrivateKeyFile != filepath.Join(files.Dir, "apiclient_key.pem") {
		t.Errorf("LoadConfig(absolute paths) = %+v, %v", cfg, err)
	}
	for name, body := range map[string]string{
		"an unknown field":     `{"mch_id":"1","apiv3_key_file":"KEYS/apiv3_key.txt","apiv3_key":"inline"}`,
		"no APIv3 key file":    `{"mch_id":"1"}`,
		"a missing key file":   `{"mch_id":"1","apiv3_key_file":"nope.txt"}`,
		"a timeout in seconds": `{"mch_id":"1","apiv3_key_file":"KEYS/apiv3_key.txt","timeout":3}`,
		"not JSON":             `mch_id = 1`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := wechat.LoadConfig(write(t, body)); err == nil {
				t.Error("LoadConfig() error = nil")
			}
		})
	}
}

func TestNewChecksTheConfig(t *testing.T) {
	base, err := wechat.LoadConfig(files.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*wechat.Config){
		"no merchant":                    func(c *wechat.Config) { c.MchID = "" },
		"a short APIv3 key":              func(c *wechat.Config) { c.APIv3Key = "short" },
		"a certificate serial as key id": func(c *wechat.Config) { c.PublicKeyID = c.MerchantSerial },
		"a missing private key":          func(c *wechat.Config) { c.PrivateKeyFile = "/nonexistent.pem" },
		"the private key as public key":  func(c *wechat.Config) { c.PublicKeyFile = c.PrivateKeyFile },
		"a base URL with a path":         func(c *wechat.Config) { c.BaseURL = "http://127.0.0.1:1/sandbox" },
		"a base URL without a scheme":    func(c *wechat.Config) { c.BaseURL = "127.0.0.1:1" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			change(&cfg)
			if _, err := wechat.New(cfg); err == nil {
				t.Error("New() error = nil")
			}
		})
	}
	ch, err := wechat.New(base)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Name() != bursar.ChannelWeChat {
		t.Errorf("Name() = %q", ch.Name())
	}
}
