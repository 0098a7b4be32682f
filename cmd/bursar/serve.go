package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/admin"
	"bursar.dev/bursar/internal/api"
	"bursar.dev/bursar/internal/compat/seed1"
	"bursar.dev/bursar/internal/compat/seed2"
	"bursar.dev/bursar/internal/metrics"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/webhook/httpsender"
)

// dispatcher is work that is due now and then: jobs, webhook deliveries.
type dispatcher interface {
	DispatchDue(ctx context.Context) (int, error)
	Wait()
}

// sweep is a clean-up that runs now and then, to its end before it returns,
// so there is nothing to wait for.
type sweep func(ctx context.Context) (int, error)

func (s sweep) DispatchDue(ctx context.Context) (int, error) { return s(ctx) }
func (sweep) Wait()                                          {}

// runDue starts what is due every interval until ctx ends, then waits for
// the work still running, logging done with the count of each round that
// did something. Shutdown stops new work between jobs; a channel call or a
// delivery already started runs to its end (its client's timeout bounds
// it), and one cut short by the process dying is retried when its lease
// ends.
func runDue(ctx context.Context, what, done string, d dispatcher, log *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	defer d.Wait()
	for {
		if n, err := d.DispatchDue(ctx); err != nil && ctx.Err() == nil {
			log.Error("running "+what, "err", err)
		} else if n > 0 {
			log.Info(done, "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func serveCommand(getenv func(string) string, stderr io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the API on the configured database, migrating it first",
		Flags: append(append(append(append(dbFlags(getenv), serviceFlags(getenv)...), channelFlags(getenv)...), limitFlags(getenv)...),
			&cli.StringFlag{
				Name:    "addr",
				Value:   "127.0.0.1:8080",
				Usage:   "address to listen on (host:port; port 0 picks a free one)",
				Sources: env(getenv, "BURSAR_ADDR"),
			},
			&cli.DurationFlag{
				Name:    "shutdown-timeout",
				Value:   15 * time.Second,
				Usage:   "how long to let in-flight requests finish after SIGTERM",
				Sources: env(getenv, "BURSAR_SHUTDOWN_TIMEOUT"),
			},
			&cli.StringFlag{
				Name:    "log-level",
				Value:   "info",
				Usage:   "least important log lines written: debug, info, warn or error (info has a line per request)",
				Sources: env(getenv, "BURSAR_LOG_LEVEL"),
				Validator: func(s string) error {
					var l slog.Level
					return l.UnmarshalText([]byte(s))
				},
			},
			&cli.StringFlag{
				Name: "debug-addr",
				Usage: "address at which to serve Go's profiles (/debug/pprof/), such as 127.0.0.1:6060; off by default. " +
					"They need no credentials and show the process's internals: keep the address private",
				Sources: env(getenv, "BURSAR_DEBUG_ADDR"),
			},
			&cli.DurationFlag{
				Name: "ready-max-job-lag",
				Usage: "/readyz fails when the earliest due job is later than this; off by default (0), because every process " +
					"shares the queue and a backlog would take them all out of the load balancer at once: alert on " +
					"bursar_job_queue_lag_seconds instead",
				Sources: env(getenv, "BURSAR_READY_MAX_JOB_LAG"),
			},
			&cli.DurationFlag{
				Name:    "webhook-timeout",
				Value:   10 * time.Second,
				Usage:   "how long a webhook endpoint has to answer a delivery (at most 1m) before it is retried",
				Sources: env(getenv, "BURSAR_WEBHOOK_TIMEOUT"),
				Validator: func(d time.Duration) error {
					if d <= 0 || d > time.Minute {
						return fmt.Errorf("--webhook-timeout is between 1ms and 1m, not %s", d)
					}
					return nil
				},
			},
		),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			return serve(ctx, cmd, stderr)
		},
	}
}

// serve builds the program by hand, in order, and runs it until ctx ends.
func serve(ctx context.Context, cmd *cli.Command, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmd.String("log-level"))); err != nil {
		return usageError{fmt.Errorf("--log-level: %w", err)}
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	dbc := dbConfigFrom(cmd)
	log.Info("starting", "addr", cmd.String("addr"), "db", dbc.String(), "data_dir", dbc.dataDir)

	// 1. Open the store and bring its schema up to date.
	db, err := dbc.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	// 2. Listen: the channels need the address for their notifications.
	publicURL, err := parsePublicURL(cmd.String("public-url"))
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cmd.String("addr"))
	if err != nil {
		return err
	}
	defer func() { _ = ln.Close() }() // Serve closes it too; this covers the errors before
	publicURL = cmp.Or(publicURL, "http://"+ln.Addr().String())
	mux := http.NewServeMux()

	// 3. The channels: the in-process sandboxes, or the configured ones.
	configs := channelConfigs{alipay: cmd.String("alipay-config"), wechat: cmd.String("wechat-config")}
	if cmd.Bool("sandbox") {
		if configs != (channelConfigs{}) {
			return usageError{errors.New("--alipay-config and --wechat-config need --sandbox=false")}
		}
		sb, err := startSandboxes(filepath.Join(dbc.dataDir, "sandbox"), publicURL, publicURL+"/v1/notify/alipay",
			cmd.Float("sandbox-retry-scale"), log)
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		defer sb.Close()
		sb.mount(mux)
		configs = sb.configs
		log.Warn("payments go to the built-in Alipay and WeChat Pay sandboxes: no real money moves", "url", publicURL)
	}
	chans, err := openChannels(configs)
	if err != nil {
		return err
	}

	// 4. Build the use cases on the store and the channels.
	d, err := deps(cmd, db, log)
	if err != nil {
		return err
	}
	lim, err := limitsFrom(cmd)
	if err != nil {
		return err
	}
	d.Channels, d.PublicURL, d.Tries = chans, publicURL, lim.tries
	d.Webhooks = httpsender.New(cmd.Duration("webhook-timeout"))
	jobs, webhooks, recon := service.NewJobs(d), service.NewWebhooks(d), service.NewRecon(d)
	if err := recon.Schedule(ctx); err != nil { // each channel's daily reconciliation
		return fmt.Errorf("schedule reconciliation: %w", err)
	}

	// 5. Build the HTTP server.
	auth, users, items, orders := service.NewAuth(d), service.NewUsers(d), service.NewItems(d), service.NewOrders(d)
	wallets, refunds, reviews := service.NewWallets(d), service.NewRefunds(d), service.NewReviews(d)
	idempotency := service.NewIdempotency(d)
	entitlements, withdrawals := service.NewEntitlements(d), service.NewWithdrawals(d)
	ops := service.NewOps(d, cmd.Duration("ready-max-job-lag"))
	mux.Handle("/", api.New(api.Deps{Log: log, Auth: auth, Users: users, Items: items, Orders: orders,
		Wallets: wallets, Idempotency: idempotency, Refunds: refunds, Reviews: reviews,
		Entitlements: entitlements, Withdrawals: withdrawals, Notifications: service.NewNotifications(d),
		Webhooks: webhooks, Recon: recon, Ops: ops, Ledger: service.NewLedger(d), SignIns: lim.signIns, Proxies: lim.proxies}))
	// The two existing APIs, verbatim, over the same core.
	mux.Handle(seed1.Prefix, seed1.New(seed1.Deps{Auth: auth, Users: users, Items: items, Orders: orders,
		Wallets: wallets, Refunds: refunds, Reviews: reviews, Entitlements: entitlements, Withdrawals: withdrawals,
		Log: log, Now: d.Now}))
	mux.Handle(seed2.Prefix, seed2.New(seed2.Deps{Auth: auth, Items: items, Orders: orders, Log: log}))
	// The console, for people: sign in with an admin from `bursar admins create`.
	mux.Handle(admin.Prefix, admin.New(admin.Deps{Log: log, Admins: service.NewAdmins(d), Idempotency: idempotency,
		Console: service.NewConsole(d),
		Users:   users, Orders: orders, Refunds: refunds, Withdrawals: withdrawals, Wallets: wallets, Recon: recon,
		Webhooks: webhooks, SignIns: lim.signIns, Proxies: lim.proxies}))
	mux.Handle("GET /admin", http.RedirectHandler(admin.Prefix, http.StatusMovedPermanently))
	// Prometheus metrics, outside the v1 API; every request is counted and
	// logged with its route and request ID.
	obs := metrics.New(metrics.Options{Ops: ops, Log: log, Proxies: lim.proxies})
	mux.Handle("GET /metrics", obs.Handler())
	srv := server(cmd, obs.Wrap(mux), log)
	if addr := cmd.String("debug-addr"); addr != "" {
		stop, err := serveDebug(ctx, addr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	// The printed URL carries the real port when --addr asked for port 0.
	fmt.Fprintf(cmd.Root().Writer, "bursar listening on http://%s\n", ln.Addr())
	log.Info("listening", "addr", ln.Addr().String(), "engine", db.Engine(), "public_url", publicURL,
		"channels", len(chans))

	// 6. Run due jobs (escrow releases, expiries, channel work) and send
	// due webhook deliveries, each every second. The signal stops new ones
	// at once, while requests still drain.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer context.AfterFunc(ctx, stopBackground)()
	var background sync.WaitGroup
	background.Go(func() { runDue(bgCtx, "jobs", "started jobs", jobs, log, time.Second) })
	background.Go(func() { runDue(bgCtx, "webhook deliveries", "started webhook deliveries", webhooks, log, time.Second) })
	// Every process purges: the purge skips what another is removing.
	background.Go(func() {
		runDue(bgCtx, "the Idempotency-Key purge", "purged expired Idempotency-Keys", sweep(idempotency.Purge), log, time.Minute)
	})
	grace, drained := cmd.Duration("shutdown-timeout"), false
	defer func() {
		stopBackground()
		if waitAtMost(&background, grace, log) && drained {
			log.Info("stopped")
		}
	}()

	// 7. Serve until a signal, then let in-flight requests finish; the
	// deferred call above then waits for running jobs and deliveries, and
	// the database closes last.
	if err := serveUntilDone(ctx, srv, ln, grace); err != nil {
		return err
	}
	drained = true
	log.Info("requests drained; waiting for running jobs and deliveries")
	return nil
}

// waitAtMost waits for wg up to grace and reports whether it ended. Work
// still running then is abandoned to its lease: another process, or this
// one restarted, runs it again.
func waitAtMost(wg *sync.WaitGroup, grace time.Duration, log *slog.Logger) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(grace):
		log.Warn("jobs or deliveries still running after --shutdown-timeout; their leases will let them run again")
		return false
	}
}

// parsePublicURL checks --public-url: scheme and host only, since the
// channels' notification paths are appended to it and a channel's notify
// URL may not carry a query.
func parsePublicURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", usageError{fmt.Errorf("--public-url is scheme://host[:port] with no path or query, not %q", s)}
	}
	return u.Scheme + "://" + u.Host, nil
}
