package admin

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// beijing is the time zone the console shows times in: the channels' and
// the marketplaces' own.
var beijing = time.FixedZone("CST", 8*3600)

var funcs = template.FuncMap{
	"yuan": func(a bursar.Amount) string { return a.Yuan() },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(beijing).Format("2006-01-02 15:04:05")
	},
	"date": func(t time.Time) string { return t.In(beijing).Format(time.DateOnly) },
	// formKey gives each form a one-time key, so a double click or a
	// resubmitted form acts once (see Server.action).
	"formKey": rand.Text,
	// dict passes several values to a shared template.
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
}

// parsePages parses each page with the layout and the shared pieces
// (files starting with _): every page defines "content" for the layout to
// show.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html"))
	pages := map[string]*template.Template{}
	entries, _ := templateFS.ReadDir("templates") // embedded above
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+e.Name()))
	}
	return pages
}

// view is what every page's template gets.
type view struct {
	Title   string
	Admin   bursar.Admin
	Path    string // the page's own address, for forms to come back to
	OK      string
	Error   string
	Data    map[string]any
	Section string
}

// render executes a page into a buffer first, so a template error becomes
// an error page rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, page, title string, data map[string]any) {
	t, ok := s.pages[page]
	if !ok {
		panic("admin: no page " + page)
	}
	v := view{Title: title, Admin: sessionOf(r).admin, Path: r.URL.RequestURI(), OK: flash(r, "ok"),
		Error: flash(r, "error"), Data: data, Section: section(r.URL.Path)}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.deps.Log.ErrorContext(r.Context(), "console template failed", "page", page, "err", err)
		http.Error(w, "The page could not be shown; it has been logged.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

// section names the menu entry a path is under.
func section(path string) string {
	rest := strings.TrimPrefix(path, Prefix)
	first, _, _ := strings.Cut(rest, "/")
	return first
}
