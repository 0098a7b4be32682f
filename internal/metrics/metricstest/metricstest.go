// Package metricstest reads what the metrics package writes, for tests: a
// /metrics answer parsed as Prometheus parses it, and the JSON access log.
//
// Import it only from tests.
package metricstest

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are the metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// Parse reads a /metrics answer as Prometheus does.
func Parse(t testing.TB, r io.Reader) Families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// Value returns the value of the family's series with exactly these labels
// (a histogram's count of samples), and whether there is one.
func (f Families) Value(name string, labels map[string]string) (float64, bool) {
series:
	for _, m := range f[name].GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// Log is a JSON log sink that the server's goroutines and the test share.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Lines returns the log lines written so far whose fields include every
// one of want (all of them when want is empty).
func (l *Log) Lines(t testing.TB, want map[string]any) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(l.b.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		match := true
		for k, v := range want {
			match = match && m[k] == v
		}
		if match {
			out = append(out, m)
		}
	}
	return out
}
