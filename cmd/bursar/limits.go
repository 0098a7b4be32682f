package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/clientip"
	"bursar.dev/bursar/internal/ratelimit"
)

// limitFlags bound what one client can make the server hold or do: how
// long it may take to send a request, how large its headers may be, how
// often it may guess a password. Bodies are bounded by each surface, which
// knows its largest.
func limitFlags(getenv func(string) string) []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{
			Name:    "read-header-timeout",
			Value:   10 * time.Second,
			Usage:   "how long a client has to send a request's headers",
			Sources: env(getenv, "BURSAR_READ_HEADER_TIMEOUT"),
		},
		&cli.DurationFlag{
			Name:    "read-timeout",
			Value:   30 * time.Second,
			Usage:   "how long a client has to send a whole request, body included (a 1 MiB body at 50 kB/s takes 20s)",
			Sources: env(getenv, "BURSAR_READ_TIMEOUT"),
		},
		&cli.DurationFlag{
			Name:    "write-timeout",
			Value:   5 * time.Minute,
			Usage:   "how long a request may take from its headers to the end of the answer; past it the answer is cut off",
			Sources: env(getenv, "BURSAR_WRITE_TIMEOUT"),
		},
		&cli.DurationFlag{
			Name:    "idle-timeout",
			Value:   2 * time.Minute,
			Usage:   "how long a kept-alive connection may wait for its next request",
			Sources: env(getenv, "BURSAR_IDLE_TIMEOUT"),
		},
		&cli.IntFlag{
			Name:    "max-header-bytes",
			Value:   64 << 10,
			Usage:   "the largest request headers accepted, in bytes",
			Sources: env(getenv, "BURSAR_MAX_HEADER_BYTES"),
		},
		&cli.StringFlag{
			Name: "trusted-proxies",
			Usage: "comma-separated addresses or CIDR prefixes of the reverse proxies whose X-Forwarded-For names " +
				"the client for the limits per address and the access log; none by default: the peer is the client",
			Sources: env(getenv, "BURSAR_TRUSTED_PROXIES"),
		},
		&cli.IntFlag{
			Name:    "ip-logins-per-minute",
			Value:   20,
			Usage:   "v1 logins and console sign-ins from one client address per minute, in bursts of as many; 0 for no limit",
			Sources: env(getenv, "BURSAR_IP_LOGINS_PER_MINUTE"),
		},
		&cli.IntFlag{
			Name:  "wrong-passwords-per-hour",
			Value: 20,
			Usage: "wrong passwords one user or admin may send per hour, from anywhere, before further tries are " +
				"refused unchecked; 0 for no limit (the lockout after 5 in a row holds either way)",
			Sources: env(getenv, "BURSAR_WRONG_PASSWORDS_PER_HOUR"),
		},
	}
}

// limits is what limitFlags set up.
type limits struct {
	proxies clientip.Proxies
	signIns *ratelimit.Limiter // per client address
	tries   *ratelimit.Limiter // wrong passwords per account
}

func limitsFrom(cmd *cli.Command) (limits, error) {
	var l limits
	for _, name := range []string{"read-header-timeout", "read-timeout", "write-timeout", "idle-timeout"} {
		if d := cmd.Duration(name); d < 0 {
			return l, usageError{fmt.Errorf("--%s is 0 (none) or more, not %s", name, d)}
		}
	}
	if n := cmd.Int("max-header-bytes"); n < 1<<10 {
		return l, usageError{fmt.Errorf("--max-header-bytes is at least 1024, not %d", n)}
	}
	var err error
	if l.proxies, err = clientip.ParseProxies(cmd.String("trusted-proxies")); err != nil {
		return l, usageError{fmt.Errorf("--trusted-proxies: %w", err)}
	}
	for _, f := range []struct {
		name string
		per  time.Duration
		to   **ratelimit.Limiter
	}{{"ip-logins-per-minute", time.Minute, &l.signIns}, {"wrong-passwords-per-hour", time.Hour, &l.tries}} {
		switch n := cmd.Int(f.name); {
		case n < 0:
			return l, usageError{fmt.Errorf("--%s is 0 (no limit) or more, not %d", f.name, n)}
		case n > 0:
			*f.to = ratelimit.New(n, f.per, ratelimit.DefaultMaxKeys, time.Now)
		}
	}
	return l, nil
}

// server is the HTTP server with the flags' timeouts and bounds.
func server(cmd *cli.Command, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cmd.Duration("read-header-timeout"),
		ReadTimeout:       cmd.Duration("read-timeout"),
		WriteTimeout:      cmd.Duration("write-timeout"),
		IdleTimeout:       cmd.Duration("idle-timeout"),
		MaxHeaderBytes:    cmd.Int("max-header-bytes"),
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
