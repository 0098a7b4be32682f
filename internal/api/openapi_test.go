package api_test

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"bursar.dev/bursar/internal/api"
)

// undocumented lists routes that may be registered without being in
// openapi.json, each with the reason. Keep it empty: a route a client can
// call is a route the document describes.
var undocumented = map[string]string{}

func loadOpenAPI(t *testing.T) (*openapi3.T, []byte) {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	return doc, raw
}

// operations returns the document's operations keyed like Server.Routes:
// "POST /v1/orders/{id}/pay".
func operations(doc *openapi3.T) map[string]*openapi3.Operation {
	ops := map[string]*openapi3.Operation{}
	for p, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[strings.ToUpper(method)+" "+p] = op
		}
	}
	return ops
}

func TestOpenAPIValid(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	// Validate also checks every example against its schema.
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3.0 document: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
}

// TestOpenAPIMatchesRoutes compares the route table with the document in
// both directions, one line per route, so a route added to api.go without
// documentation (or documented but not yet registered) is named.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	documented := operations(doc)
	registered := map[string]bool{}
	for _, r := range api.New(api.Deps{}).Routes() {
		registered[r] = true
	}
	for _, r := range slices.Sorted(maps.Keys(registered)) {
		if _, ok := documented[r]; !ok && undocumented[r] == "" {
			t.Errorf("route %s is registered in api.go but not documented in openapi.json", r)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(documented)) {
		if !registered[r] {
			t.Errorf("route %s is documented in openapi.json but not registered in api.go", r)
		}
	}
	for r := range undocumented {
		if _, ok := documented[r]; ok || !registered[r] {
			t.Errorf("route %s is in the undocumented allow-list but is documented or not registered; remove it", r)
		}
	}
}

// TestOpenAPIOperations checks what every operation must carry: an ID, a
// summary, a description saying who may call it, examples, Request-Id on
// every answer, a 401 where a credential is needed, and Idempotency-Key on
// every POST that supports it.
func TestOpenAPIOperations(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	ops := operations(doc)
	for _, route := range slices.Sorted(maps.Keys(ops)) {
		op := ops[route]
		if op.OperationID == "" || op.Summary == "" {
			t.Errorf("%s: needs an operationId and a summary", route)
		}
		if !strings.Contains(op.Description, "Who may call: ") {
			t.Errorf("%s: the description must say \"Who may call: …\"", route)
		}
		public := op.Security != nil && len(*op.Security) == 0
		if !public && op.Responses.Value("401") == nil {
			t.Errorf("%s: needs a credential but documents no 401", route)
		}
		if rb := op.RequestBody; rb != nil {
			for ct, m := range rb.Value.Content {
				if m.Schema == nil || (m.Example == nil && len(m.Examples) == 0) {
					t.Errorf("%s: the %s request body needs a schema and an example", route, ct)
				}
			}
		}
		success := false
		for status, resp := range op.Responses.Map() {
			if resp.Value.Headers["Request-Id"] == nil {
				t.Errorf("%s: response %s does not declare the Request-Id header", route, status)
			}
			if !strings.HasPrefix(status, "2") {
				continue
			}
			for _, m := range resp.Value.Content {
				if m.Example != nil || len(m.Examples) > 0 {
					success = true
				}
			}
		}
		if !success {
			t.Errorf("%s: needs a 2xx response with an example", route)
		}
		hasKey := false
		for _, p := range op.Parameters {
			if p.Value.In == openapi3.ParameterInHeader && p.Value.Name == "Idempotency-Key" {
				hasKey = true
			}
		}
		// The public POSTs are not wrapped by the idempotency layer: logging
		// in mints a new token each time, and a channel's notification is
		// idempotent by what it says, not by a header.
		post := strings.HasPrefix(route, "POST ")
		wantKey := post && !public
		if post && public != (route == "POST /v1/login" || route == "POST /v1/notify/{channel}") {
			t.Errorf("%s: public = %v in openapi.json", route, public)
		}
		if hasKey != wantKey {
			t.Errorf("%s: declares Idempotency-Key = %v, want %v", route, hasKey, wantKey)
		}
	}
}

// TestOpenAPIErrors checks the documented error codes, types and statuses
// against errors.go, and every error example against its response status.
func TestOpenAPIErrors(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	statuses, types := errorTable(t)
	obj := doc.Components.Schemas["ErrorObject"].Value
	code := obj.Properties["code"].Value
	documented := map[string]int{}
	if m, ok := code.Extensions["x-bursar-status"].(map[string]any); ok {
		for c, s := range m {
			n, _ := s.(float64)
			documented[c] = int(n)
		}
	}
	var enum []string
	for _, c := range code.Enum {
		enum = append(enum, c.(string))
	}
	if got, want := slices.Sorted(slices.Values(enum)), slices.Sorted(maps.Keys(statuses)); !slices.Equal(got, want) {
		t.Errorf("ErrorObject.code enum = %v, want the codes of errors.go %v", got, want)
	}
	if !maps.Equal(documented, statuses) {
		t.Errorf("ErrorObject.code x-bursar-status = %v, want errors.go's statuses %v", documented, statuses)
	}
	var typeEnum []string
	for _, v := range obj.Properties["type"].Value.Enum {
		typeEnum = append(typeEnum, v.(string))
	}
	if got, want := slices.Sorted(slices.Values(typeEnum)), slices.Sorted(slices.Values(types)); !slices.Equal(got, want) {
		t.Errorf("ErrorObject.type enum = %v, want the types of errors.go %v", got, want)
	}

	check := func(where, status string, resp *openapi3.Response) {
		for _, m := range resp.Content {
			for name, ex := range m.Examples {
				body, _ := ex.Value.Value.(map[string]any)
				e, _ := body["error"].(map[string]any)
				c, _ := e["code"].(string)
				want := statuses[c]
				if status == "default" && want >= 500 || status == strconv.Itoa(want) {
					continue
				}
				t.Errorf("%s: example %q of response %s has code %q, which errors.go answers with %d",
					where, name, status, c, want)
			}
		}
	}
	for route, op := range operations(doc) {
		for status, resp := range op.Responses.Map() {
			if strings.HasPrefix(status, "2") {
				continue
			}
			check(route, status, resp.Value)
		}
	}
}

// errorTable reads the code → status table and the error types out of
// errors.go, and the codes' values out of the bursar package, so the
// document cannot drift from them silently.
func errorTable(t *testing.T) (statuses map[string]int, types []string) {
	t.Helper()
	fset := token.NewFileSet()
	codes := map[string]string{} // bursar.Invalid → "invalid"
	bf, err := parser.ParseFile(fset, "../bursar/error.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(bf, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Values) == 1 {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				codes["bursar."+vs.Names[0].Name], _ = strconv.Unquote(lit.Value)
			}
		}
		return true
	})
	httpStatus := map[string]int{} // http.StatusNotFound → 404
	for s := 100; s < 600; s++ {
		if text := http.StatusText(s); text != "" {
			httpStatus["http.Status"+strings.NewReplacer(" ", "", "-", "").Replace(text)] = s
		}
	}
	af, err := parser.ParseFile(fset, "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	statuses = map[string]int{}
	errorType := regexp.MustCompile(`^"[a-z_]+_error"$`)
	ast.Inspect(af, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			if n.Names[0].Name != "statuses" {
				return true
			}
			for _, elt := range n.Values[0].(*ast.CompositeLit).Elts {
				kv := elt.(*ast.KeyValueExpr)
				key, value := selector(kv.Key), selector(kv.Value)
				if codes[key] == "" || httpStatus[value] == 0 {
					t.Fatalf("errors.go: cannot read the status line %s: %s", key, value)
				}
				statuses[codes[key]] = httpStatus[value]
			}
		case *ast.BasicLit:
			if errorType.MatchString(n.Value) {
				s, _ := strconv.Unquote(n.Value)
				if !slices.Contains(types, s) {
					types = append(types, s)
				}
			}
		}
		return true
	})
	if len(statuses) == 0 || len(types) == 0 {
		t.Fatal("errors.go: found no statuses table or no error types")
	}
	return statuses, types
}

// selector renders a selector such as bursar.Invalid or http.StatusOK.
func selector(e ast.Expr) string {
	if sel, ok := e.(*ast.SelectorExpr); ok {
		if x, ok := sel.X.(*ast.Ident); ok {
			return x.Name + "." + sel.Sel.Name
		}
	}
	return ""
}

func get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	api.New(api.Deps{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200\n%s", path, w.Code, w.Body)
	}
	return w
}

func TestOpenAPIServed(t *testing.T) {
	_, raw := loadOpenAPI(t)
	w := get(t, "/openapi.json")
	if ct, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type")); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", w.Header().Get("Content-Type"))
	}
	if !bytes.Equal(w.Body.Bytes(), raw) {
		t.Error("GET /openapi.json differs from openapi.json")
	}
	if w.Header().Get("Request-Id") == "" {
		t.Error("GET /openapi.json has no Request-Id")
	}
}

func TestDocsPage(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	w := get(t, "/docs")
	if ct, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type")); ct != "text/html" {
		t.Errorf("Content-Type = %q, want text/html", w.Header().Get("Content-Type"))
	}
	page := w.Body.String()
	for route, op := range operations(doc) {
		method, p, _ := strings.Cut(route, " ")
		for _, want := range []string{html.EscapeString(p), `id="` + op.OperationID + `"`, html.EscapeString(op.Summary)} {
			if !strings.Contains(page, want) {
				t.Errorf("/docs lacks %q of %s %s", want, method, p)
			}
		}
	}
	for name := range doc.Components.Schemas {
		if !strings.HasSuffix(name, "Request") && !strings.Contains(page, `id="schema-`+name+`"`) {
			t.Errorf("/docs lacks the object %s", name)
		}
	}
	for _, m := range regexp.MustCompile(`href="#([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(page, `id="`+m[1]+`"`) {
			t.Errorf("/docs links to #%s, which is not on the page", m[1])
		}
	}
	// Offline and without JavaScript: nothing to fetch, nothing to run.
	for _, bad := range []string{"<script", "<link", "src=", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("/docs contains %q; it must be self-contained", bad)
		}
	}
}
