package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
)

// dbCollector reads the business figures from the database, with a
// deadline: a slow database makes bursar_stats_up 0, not a hung /metrics.
// A reading serves every scrape for statsEvery, and scrapes that come
// while one is being read wait for it, so however often /metrics is asked
// for, the database answers at most one set of queries per statsEvery.
type dbCollector struct {
	ops     *service.Ops
	timeout time.Duration
	log     *slog.Logger

	mu     sync.Mutex
	last   bursar.OpsStats
	lastAt time.Time
	took0  time.Duration
	err    error

	up, took                    *prometheus.Desc
	payments, paymentAmount     *prometheus.Desc
	refunds, refundAmount       *prometheus.Desc
	deliveries, notices         *prometheus.Desc
	jobs, jobsDue, jobLag, lag1 *prometheus.Desc
}

func newDBCollector(ops *service.Ops, timeout time.Duration, log *slog.Logger) *dbCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("bursar_"+name, help, labels, nil)
	}
	return &dbCollector{ops: ops, timeout: timeout, log: log,
		up:   desc("stats_up", "1 when the last scrape read the figures from the database, 0 when it failed or timed out."),
		took: desc("stats_duration_seconds", "Time the last scrape took to read the figures from the database."),
		payments: desc("payments", "Payments in the database by channel and status; wallet payments are channel wallet, status paid.",
			"channel", "status"),
		paymentAmount: desc("payment_amount_fen", "Sum of the payments' amounts by channel and status, in fen.", "channel", "status"),
		refunds:       desc("refunds", "Refunds in the database by their order's channel and status.", "channel", "status"),
		refundAmount:  desc("refund_amount_fen", "Sum of the refunds' amounts by channel and status, in fen.", "channel", "status"),
		deliveries: desc("webhook_deliveries", "Webhook deliveries in the database by status; failed ones gave up after 3 days of retries.",
			"status"),
		notices: desc("channel_notifications_total", "Notifications received from the channels by channel and outcome; rejected ones failed verification or checks.",
			"channel", "outcome"),
		jobs:    desc("jobs", "Jobs in the queue by kind, due or not.", "kind"),
		jobsDue: desc("jobs_due", "Jobs due now by kind.", "kind"),
		jobLag:  desc("job_lag_seconds", "How late the earliest due job of a kind is; 0 when none is due.", "kind"),
		lag1:    desc("job_queue_lag_seconds", "How late the earliest due job of any kind is; 0 when none is due."),
	}
}

// Describe implements prometheus.Collector.
func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.took, c.payments, c.paymentAmount, c.refunds, c.refundAmount,
		c.deliveries, c.notices, c.jobs, c.jobsDue, c.jobLag, c.lag1} {
		ch <- d
	}
}

// statsEvery is how long one reading of the database's figures serves.
const statsEvery = 10 * time.Second

// read returns the figures, reading them again when the last reading is
// older than statsEvery.
func (c *dbCollector) read() (bursar.OpsStats, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.lastAt.IsZero() && time.Since(c.lastAt) < statsEvery {
		return c.last, c.took0, c.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	start := time.Now()
	c.last, c.err = c.ops.Stats(ctx)
	c.lastAt, c.took0 = time.Now(), time.Since(start)
	return c.last, c.took0, c.err
}

// Collect implements prometheus.Collector.
func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	s, took, err := c.read()
	ch <- prometheus.MustNewConstMetric(c.took, prometheus.GaugeValue, took.Seconds())
	if err != nil {
		c.log.Warn("metrics: figures not read from the database", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, p := range s.Payments {
		gauge(c.payments, float64(p.Count), string(p.Channel), p.Status)
		gauge(c.paymentAmount, float64(p.Amount), string(p.Channel), p.Status)
	}
	for _, r := range s.Refunds {
		gauge(c.refunds, float64(r.Count), string(r.Channel), r.Status)
		gauge(c.refundAmount, float64(r.Amount), string(r.Channel), r.Status)
	}
	for _, status := range []bursar.DeliveryStatus{bursar.DeliveryPending, bursar.DeliverySucceeded, bursar.DeliveryFailed} {
		gauge(c.deliveries, float64(count(s.Deliveries, string(status))), string(status)) // 0 too: alerts need the series
	}
	for _, n := range s.Notices {
		ch <- prometheus.MustNewConstMetric(c.notices, prometheus.CounterValue, float64(n.Count), string(n.Channel), n.Status)
	}
	for _, q := range s.Jobs {
		gauge(c.jobs, float64(q.Count), string(q.Kind))
		gauge(c.jobsDue, float64(q.Due), string(q.Kind))
		gauge(c.jobLag, q.Lag.Seconds(), string(q.Kind))
	}
	gauge(c.lag1, s.JobLag().Seconds())
}

// count returns the count of a status among cs, 0 when absent.
func count(cs []bursar.StatusCount, status string) int64 {
	for _, c := range cs {
		if c.Status == status {
			return c.Count
		}
	}
	return 0
}
