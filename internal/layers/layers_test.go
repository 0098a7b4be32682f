package layers_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "bursar.dev/bursar/"

// rule forbids packages under From to import any package under a Deny prefix.
// Prefixes are relative to the module; "std!" means any non-standard-library
// package.
type rule struct {
	from string
	deny []string
	why  string
}

var rules = []rule{
	{"internal/bursar", []string{"std!", "internal/", "net/http", "database/sql"},
		"the domain is plain Go with no I/O"},
	{"internal/service", []string{"internal/store/postgres", "internal/store/sqlite", "internal/channel/alipay",
		"internal/channel/wechat", "internal/channel/sandbox", "internal/webhook/httpsender", "internal/api", "internal/compat",
		"internal/admin", "net/http", "database/sql"},
		"use cases speak to contracts, never to an engine, a channel implementation or HTTP"},
	{"internal/api", []string{"internal/store", "internal/channel/alipay", "internal/channel/wechat",
		"internal/channel/sandbox", "internal/compat", "internal/admin"},
		"the edge goes through service"},
	{"internal/compat", []string{"internal/store", "internal/channel/alipay", "internal/channel/wechat",
		"internal/channel/sandbox", "internal/api", "internal/admin"},
		"the edge goes through service"},
	{"internal/admin", []string{"internal/store", "internal/channel/alipay", "internal/channel/wechat",
		"internal/channel/sandbox", "internal/api", "internal/compat"},
		"the edge goes through service"},
	{"internal/metrics", []string{"internal/store", "internal/channel/alipay", "internal/channel/wechat",
		"internal/channel/sandbox", "internal/api", "internal/compat", "internal/admin"},
		"metrics are edge: they read the database through service, and name routes without importing the servers"},
	{"internal/store/postgres", []string{"internal/store/sqlite", "internal/channel", "internal/service",
		"internal/api", "internal/compat", "internal/admin"},
		"an engine depends on the contract and the domain only"},
	{"internal/store/sqlite", []string{"internal/store/postgres", "internal/channel", "internal/service",
		"internal/api", "internal/compat", "internal/admin"},
		"an engine depends on the contract and the domain only"},
	{"internal/channel", []string{"internal/store", "internal/service", "internal/api", "internal/compat", "internal/admin"},
		"a channel depends on the contract and the domain only"},
	{"internal/channel/sandbox", []string{"internal/channel/alipay", "internal/channel/wechat",
		"github.com/smartwalle/alipay", "github.com/wechatpay-apiv3/wechatpay-go"},
		"the sandboxes speak the wire protocols themselves, so the SDKs talking to them prove interop"},
	{"internal/channel/alipay", []string{"internal/channel/sandbox", "internal/channel/wechat"},
		"an adapter knows its channel only"},
	{"internal/channel/wechat", []string{"internal/channel/sandbox", "internal/channel/alipay"},
		"an adapter knows its channel only"},
	{"internal/store", []string{"internal/channel", "internal/service", "internal/api", "internal/compat", "internal/admin"},
		"storage depends on the domain only"},
	{"internal/webhook", []string{"internal/store", "internal/service", "internal/api", "internal/compat", "internal/admin",
		"internal/channel"},
		"the webhook contract and its sender depend on nothing of ours"},
	{"internal/wire", []string{"internal/store", "internal/service", "internal/api", "internal/compat", "internal/admin",
		"internal/channel", "internal/webhook", "net/http"},
		"the outside's JSON objects are built from the domain alone"},
	{"internal/loadgen", []string{"internal/store", "internal/service", "internal/api", "internal/compat", "internal/admin",
		"internal/channel", "internal/webhook", "internal/metrics"},
		"the load generator is a client of the HTTP API: it measures what a platform's backend sees, not the code behind it"},
	{"internal/", []string{"cmd/"},
		"only main wires things together"},
}

// testOnly lists packages that only tests may import.
var testOnly = []string{"internal/store/storetest", "internal/store/postgres/pgtest", "internal/store/dbtest", "internal/channel/channeltest",
	"internal/metrics/metricstest"}

type pkg struct {
	ImportPath   string
	Standard     bool
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	std := map[string]bool{}
	stdOut, err := exec.Command("go", "list", "std").Output()
	if err != nil {
		t.Fatalf("go list std: %v", err)
	}
	for _, p := range strings.Fields(string(stdOut)) {
		std[p] = true
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	checked := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		checked++
		rel := strings.TrimPrefix(p.ImportPath, mod)
		for _, imp := range p.Imports {
			impRel, ours := strings.CutPrefix(imp, mod)
			for _, r := range rules {
				if !under(rel, r.from) {
					continue
				}
				for _, d := range r.deny {
					if (d == "std!" && !std[imp]) || (ours && under(impRel, d)) || (!ours && under(imp, d)) {
						t.Errorf("%s imports %s: %s", rel, imp, r.why)
					}
				}
			}
			for _, to := range testOnly {
				if ours && under(impRel, to) && !strings.HasSuffix(rel, "test") {
					t.Errorf("%s imports the test helper %s outside a test", rel, imp)
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages; is the module path %q still right?", checked, mod)
	}
}

// under reports whether path is prefix or below it.
func under(path, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}
