package api

import (
	"bytes"
	_ "embed" // for the document and the page template
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"iter"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// openAPI is the OpenAPI 3.0.3 document of the v1 API, written by hand
// beside the route table it describes. openapi_test.go fails when the two
// disagree, when an example does not match its schema, and when the error
// table drifts from errors.go.
//
//go:embed openapi.json
var openAPI []byte

//go:embed templates/docs.html
var docsTemplate string

// handleOpenAPI serves the document exactly as embedded.
func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI) // the client has gone if this fails
}

// handleDocs serves the human documentation: one HTML page rendered from
// the document, with no script and no external asset, so it works offline.
func (s *Server) handleDocs(w http.ResponseWriter, r *http.Request) {
	page, err := docsPage()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

// docsPage renders the page once. The document is embedded, so the page
// cannot change while the process runs, and a document the renderer cannot
// read is a programming error that TestDocsPage catches before release.
var docsPage = sync.OnceValues(func() ([]byte, error) {
	var d oaDoc
	if err := json.Unmarshal(openAPI, &d); err != nil {
		return nil, fmt.Errorf("parse openapi.json: %w", err)
	}
	t, err := template.New("docs").Funcs(template.FuncMap{"prose": prose, "lower": strings.ToLower}).Parse(docsTemplate)
	if err != nil {
		return nil, fmt.Errorf("parse docs template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d.view()); err != nil {
		return nil, fmt.Errorf("render docs: %w", err)
	}
	return b.Bytes(), nil
})

// The parts of an OpenAPI 3.0 document the page shows. Anything else in the
// document is ignored here; kin-openapi validates the whole of it in tests.
type (
	oaDoc struct {
		Info struct {
			Title, Version, Description string
		}
		Servers []struct{ URL string }
		Tags    []struct{ Name, Description string }
		// A path item holds only operations, keyed by method: the document
		// declares parameters on each operation, not on the path.
		Paths      ordered[ordered[*oaOperation]]
		Components struct {
			Schemas    ordered[*oaSchema]
			Parameters map[string]*oaParameter
			Responses  map[string]*oaResponse
		}
	}
	oaOperation struct {
		Tags        []string
		Summary     string
		Description string
		OperationID string
		Security    *[]map[string][]string // nil: the document's default; empty: public
		Parameters  []*oaParameter
		RequestBody *oaRequestBody
		Responses   ordered[*oaResponse]
	}
	oaParameter struct {
		Ref                   string `json:"$ref"`
		Name, In, Description string
		Required              bool
		Schema                *oaSchema
	}
	oaRequestBody struct {
		Required bool
		Content  ordered[*oaMedia]
	}
	oaResponse struct {
		Ref         string `json:"$ref"`
		Description string
		Content     ordered[*oaMedia]
	}
	oaMedia struct {
		Schema   *oaSchema
		Example  json.RawMessage
		Examples ordered[*struct {
			Summary string
			Value   json.RawMessage
		}]
	}
	oaSchema struct {
		Ref                  string `json:"$ref"`
		Type, Format         string
		Description          string
		Nullable             bool
		Enum                 []json.RawMessage
		Default              json.RawMessage
		Minimum, Maximum     *float64
		MinLength, MaxLength *int
		Items                *oaSchema
		Properties           ordered[*oaSchema]
		Required             []string
		// Statuses maps each error code to its HTTP status (ErrorObject.code).
		Statuses map[string]int `json:"x-bursar-status"`
	}
)

// ordered is a JSON object decoded with its keys in document order, so the
// page lists paths, fields and responses in the order their author chose.
type ordered[T any] struct {
	keys []string
	m    map[string]T
}

func (o *ordered[T]) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &o.m); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // the opening brace; Unmarshal checked it is an object
		return err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
		o.keys = append(o.keys, key.(string))
	}
	return nil
}

func (o ordered[T]) all() iter.Seq2[string, T] {
	return func(yield func(string, T) bool) {
		for _, k := range o.keys {
			if !yield(k, o.m[k]) {
				return
			}
		}
	}
}

// The page's view of the document.
type (
	docView struct {
		Title, Version, Server string
		Intro                  []string
		Tags                   []*tagView
		Errors                 []errorView
		Objects                []schemaView
	}
	tagView struct {
		Name, Description string
		Ops               []opView
	}
	opView struct {
		ID, Method, Path, Summary string
		Description               []string
		Public                    bool
		Params                    []fieldView
		Body                      *bodyView
		Responses                 []responseView
	}
	fieldView struct {
		Name, In, Type, Link, Rules, Description string
		Required                                 bool
	}
	bodyView struct {
		Required   bool
		Type, Link string // Link is always empty; the "type" template wants it
		Fields     []fieldView
		Example    string
	}
	responseView struct {
		Status, Description, ContentType, Type, Link string
		Codes                                        []string
		Examples                                     []exampleView
	}
	exampleView struct{ Summary, Text string }
	errorView   struct {
		Code   string
		Status int
	}
	schemaView struct {
		Name, Type, Description string
		Fields                  []fieldView
	}
)

func (d *oaDoc) view() docView {
	v := docView{Title: d.Info.Title, Version: d.Info.Version, Intro: strings.Split(d.Info.Description, "\n\n")}
	if len(d.Servers) > 0 {
		v.Server = d.Servers[0].URL
	}
	tags := map[string]*tagView{}
	for _, t := range d.Tags {
		tags[t.Name] = &tagView{Name: t.Name, Description: t.Description}
		v.Tags = append(v.Tags, tags[t.Name])
	}
	for p, item := range d.Paths.all() {
		for method, op := range item.all() {
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			if tags[tag] == nil {
				tags[tag] = &tagView{Name: tag}
				v.Tags = append(v.Tags, tags[tag])
			}
			tags[tag].Ops = append(tags[tag].Ops, d.opView(p, method, op))
		}
	}
	for name, s := range d.Components.Schemas.all() {
		if code := s.Properties.m["code"]; name == "ErrorObject" && code != nil {
			for _, c := range code.Enum {
				var str string
				_ = json.Unmarshal(c, &str)
				v.Errors = append(v.Errors, errorView{Code: str, Status: code.Statuses[str]})
			}
		}
		if strings.HasSuffix(name, "Request") {
			continue // request bodies are shown with their operations
		}
		typ, _ := typeOf(s)
		v.Objects = append(v.Objects, schemaView{Name: name, Type: typ, Description: s.Description, Fields: fields(s)})
	}
	return v
}

func (d *oaDoc) opView(p, method string, op *oaOperation) opView {
	v := opView{ID: op.OperationID, Method: strings.ToUpper(method), Path: p, Summary: op.Summary,
		Description: strings.Split(op.Description, "\n\n"), Public: op.Security != nil && len(*op.Security) == 0}
	for _, param := range op.Parameters {
		if param.Ref != "" {
			param = d.Components.Parameters[path.Base(param.Ref)]
		}
		if param == nil {
			continue // a dangling $ref; the document's validation reports it
		}
		typ, link := typeOf(param.Schema)
		v.Params = append(v.Params, fieldView{Name: param.Name, In: param.In, Type: typ, Link: link,
			Rules: rules(param.Schema), Description: param.Description, Required: param.Required})
	}
	if rb := op.RequestBody; rb != nil {
		for _, m := range rb.Content.all() {
			// No link: request bodies are not in the page's list of objects;
			// their fields are listed here instead.
			typ, _ := typeOf(m.Schema)
			v.Body = &bodyView{Required: rb.Required, Type: typ, Fields: fields(d.resolve(m.Schema)),
				Example: exampleText(m.Example)}
			break // the API speaks JSON only
		}
	}
	for status, r := range op.Responses.all() {
		if r.Ref != "" {
			r = d.Components.Responses[path.Base(r.Ref)]
		}
		if r == nil {
			continue
		}
		rv := responseView{Status: status, Description: r.Description}
		for ct, m := range r.Content.all() {
			rv.ContentType = ct
			rv.Type, rv.Link = typeOf(m.Schema)
			if len(m.Example) > 0 {
				rv.Examples = append(rv.Examples, exampleView{Text: exampleText(m.Example)})
			}
			for _, ex := range m.Examples.all() {
				rv.Examples = append(rv.Examples, exampleView{Summary: ex.Summary, Text: exampleText(ex.Value)})
				var e struct{ Error struct{ Code string } }
				if json.Unmarshal(ex.Value, &e) == nil && e.Error.Code != "" && !slices.Contains(rv.Codes, e.Error.Code) {
					rv.Codes = append(rv.Codes, e.Error.Code)
				}
			}
			break
		}
		v.Responses = append(v.Responses, rv)
	}
	return v
}

// resolve follows a schema's $ref to the component it names.
func (d *oaDoc) resolve(s *oaSchema) *oaSchema {
	if s != nil && s.Ref != "" {
		return d.Components.Schemas.m[path.Base(s.Ref)]
	}
	return s
}

// fields lists an object schema's properties, in document order.
func fields(s *oaSchema) []fieldView {
	if s == nil {
		return nil
	}
	var fs []fieldView
	for name, p := range s.Properties.all() {
		typ, link := typeOf(p)
		fs = append(fs, fieldView{Name: name, Type: typ, Link: link, Rules: rules(p), Description: p.Description,
			Required: slices.Contains(s.Required, name)})
	}
	return fs
}

// typeOf describes a schema in a few words, with the anchor of the object
// it refers to, if any.
func typeOf(s *oaSchema) (text, link string) {
	switch {
	case s == nil:
		return "", ""
	case s.Ref != "":
		name := path.Base(s.Ref)
		return name, "schema-" + name
	case s.Type == "array":
		t, l := typeOf(s.Items)
		return "array of " + t, l
	}
	t := s.Type
	if s.Format == "date-time" {
		t += " (RFC 3339)"
	}
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			vals[i] = string(e)
		}
		t += ": " + strings.Join(vals, " | ")
	}
	if s.Nullable {
		t += " or null"
	}
	return t, ""
}

// rules sums up a schema's bounds and default.
func rules(s *oaSchema) string {
	if s == nil {
		return ""
	}
	var r []string
	if s.Minimum != nil {
		r = append(r, fmt.Sprintf("min %g", *s.Minimum))
	}
	if s.Maximum != nil {
		r = append(r, fmt.Sprintf("max %g", *s.Maximum))
	}
	if s.MinLength != nil {
		r = append(r, fmt.Sprintf("min length %d", *s.MinLength))
	}
	if s.MaxLength != nil {
		r = append(r, fmt.Sprintf("max length %d", *s.MaxLength))
	}
	if len(s.Default) > 0 {
		r = append(r, "default "+string(s.Default))
	}
	return strings.Join(r, ", ")
}

// exampleText indents a JSON example; a string example (the HTML page's)
// is shown as the text it holds.
func exampleText(raw json.RawMessage) string {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str
	}
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// prose renders a description: HTML-escaped, with `code` spans, the only
// markup the document's descriptions use.
func prose(s string) template.HTML {
	return template.HTML(codeSpan.ReplaceAllString(html.EscapeString(s), "<code>$1</code>")) //nolint:gosec // G203: escaped above; only <code> is added
}
