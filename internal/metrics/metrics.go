// Package metrics is the operator's view of a running Bursar: Prometheus
// metrics at /metrics and a structured access log line per request.
//
// HTTP figures (requests by route and status, latency by route) are this
// process's own. Business figures (payments, refunds, the job queue,
// webhook deliveries, channel notifications) are read from the database
// when Prometheus scrapes, through service.Ops, so every process of a
// deployment reports the same, right numbers however many there are.
//
// It is part of the edge: it may use service and the Prometheus client,
// never a store engine or a channel adapter.
package metrics

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"bursar.dev/bursar/internal/clientip"
	"bursar.dev/bursar/internal/service"
)

// DefaultScrapeTimeout bounds the database reads of one scrape.
const DefaultScrapeTimeout = 5 * time.Second

// Options is what the metrics need.
type Options struct {
	// Ops reads the business figures; without it only HTTP and runtime
	// figures are served.
	Ops *service.Ops
	// Log receives the access log and the metrics' own errors; the
	// default logger when nil.
	Log *slog.Logger
	// ScrapeTimeout bounds the database reads of one scrape, so a slow
	// database cannot hang /metrics; DefaultScrapeTimeout when zero.
	ScrapeTimeout time.Duration
	// Proxies are the reverse proxies whose X-Forwarded-For names the
	// client in the access log; any other peer is logged as itself, so a
	// client cannot write someone else's address into the log.
	Proxies clientip.Proxies
}

// Metrics holds one process's registry. There is no global registry: main
// makes one and mounts Handler and Wrap.
type Metrics struct {
	reg      *prometheus.Registry
	log      *slog.Logger
	proxies  clientip.Proxies
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// New returns the metrics of one process, registered and ready to serve.
func New(o Options) *Metrics {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.ScrapeTimeout <= 0 {
		o.ScrapeTimeout = DefaultScrapeTimeout
	}
	m := &Metrics{
		reg:     prometheus.NewRegistry(),
		log:     o.Log,
		proxies: o.Proxies,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "bursar", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered by this process, by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "bursar", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "bursar", Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being answered by this process now.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.Ops != nil {
		m.reg.MustRegister(newDBCollector(o.Ops, o.ScrapeTimeout, o.Log))
	}
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError, // serve what could be gathered
	})
}
