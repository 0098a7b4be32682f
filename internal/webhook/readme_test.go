package webhook_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/webhook"
)

// TestREADMEVerifier compiles the verification snippet the README gives
// platforms and runs it on deliveries signed by Sign, so the documented code
// keeps agreeing with the real signer.
func TestREADMEVerifier(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```go\nfunc verify(")
	snippet, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no ```go block with func verify(")
	}
	body := `{"id":"evt_1","type":"order.paid"}`
	good := webhook.Sign("whsec_test", time.Now(), []byte(body))
	old := webhook.Sign("whsec_test", time.Now().Add(-time.Hour), []byte(body))
	program := `package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

func main() {
	body := []byte(` + "`" + body + "`" + `)
	fmt.Println(verify("whsec_test", "` + good + `", body), verify("whsec_other", "` + good + `", body),
		verify("whsec_test", "` + good + `", append(body, ' ')), verify("whsec_test", "` + old + `", body))
}

func verify(` + snippet
	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte(program), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "run", file).CombinedOutput()
	if err != nil {
		t.Fatalf("the README's snippet does not run: %v\n%s\n%s", err, out, program)
	}
	if got := strings.TrimSpace(string(out)); got != "true false false false" {
		t.Errorf("the README's verify says %q, want true for the good delivery and false for a wrong secret, body or time", got)
	}
}
