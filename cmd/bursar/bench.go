package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/loadgen"
)

func benchCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "load a running bursar serve through its v1 API and report throughput, latencies and errors",
		Description: "Sets up buyers with funded wallets and payment passwords, sellers with a session to sell, and\n" +
			"pending orders (not timed), then has --clients clients draw operations from --mix until\n" +
			"--duration or --count is reached, whichever comes first, and ends with GET /v1/ledger/verification.\n\n" +
			"Operations: pay (wallet payment of a pending order), purchase (order + wallet payment), channel\n" +
			"(order paid through the Alipay or WeChat Pay sandbox, until Bursar has the notification), confirm,\n" +
			"refund (asked and approved), topup (through the Alipay sandbox), withdraw. confirm and refund take\n" +
			"orders paid earlier in the run, or buy one first (a purchase); channel and topup need the server's\n" +
			"sandboxes (serve --sandbox, the default). Latencies are of successful operations.\n\n" +
			"The target must be on this machine unless --allow-remote is given. Get a key with\n" +
			"`bursar keys create` on the server's database.\n\n" +
			"With --baseline it loads no server: it posts 1-fen transfers between funded bench accounts\n" +
			"(user:bench-baseline-NNNN:cash, funded from platform:adjustments) directly on the database that\n" +
			"--db names, one entry per transaction through the storage contract the service uses, and reports\n" +
			"them as the operation transfer: the ceiling a payment through the API can approach on that\n" +
			"database and machine. WARNING: it writes these accounts and entries to the database for good;\n" +
			"point it at a bench database, never at one with real money.\n\n" +
			"Exit status: 0; 1 when an operation failed other than by a refusal the rules call for under load\n" +
			"(" + strings.Join(loadgen.Refusals, ", ") + "), or the run could not be made; 3 when the ledger does not verify.",
		Flags: append(dbFlags(getenv),
			&cli.BoolFlag{Name: "baseline", Usage: "post plain transfers on the database --db names, with no server, for the ceiling to compare with (writes bench data to it)"},
			&cli.StringFlag{Name: "addr", Value: "http://127.0.0.1:8080", Usage: "the server to load",
				Sources: env(getenv, "BURSAR_BENCH_ADDR")},
			&cli.BoolFlag{Name: "allow-remote", Usage: "load a server that is not on a loopback address",
				Sources: env(getenv, "BURSAR_BENCH_ALLOW_REMOTE")},
			&cli.StringFlag{Name: "key", Usage: "a platform secret key (sk_…) of the server; needed unless --baseline",
				Sources: env(getenv, "BURSAR_BENCH_KEY")},
			&cli.IntFlag{Name: "clients", Value: 32, Usage: "concurrent clients, each with one request in flight",
				Sources: env(getenv, "BURSAR_BENCH_CLIENTS")},
			&cli.DurationFlag{Name: "duration", Value: 10 * time.Second, Usage: "stop drawing operations after this long (0: no limit; with --count alone, none)",
				Sources: env(getenv, "BURSAR_BENCH_DURATION")},
			&cli.IntFlag{Name: "count", Usage: "stop after this many operations drawn from the mix (0: no limit)",
				Sources: env(getenv, "BURSAR_BENCH_COUNT")},
			&cli.StringFlag{Name: "mix", Value: "pay=1",
				Usage:   "operations and their weights, such as pay=60,channel=10,confirm=10,refund=10,topup=5,withdraw=5",
				Sources: env(getenv, "BURSAR_BENCH_MIX")},
			&cli.IntFlag{Name: "users", Usage: "buyers to set up, and as many sellers (0: one of each per client); with --baseline, twice this many accounts",
				Sources: env(getenv, "BURSAR_BENCH_USERS")},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the draws, so a run's sequence of operations repeats",
				Sources: env(getenv, "BURSAR_BENCH_SEED")},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		),
		Action: bench,
	}
}

func bench(ctx context.Context, cmd *cli.Command) error {
	mix, err := loadgen.ParseMix(cmd.String("mix"))
	if err != nil {
		return usageError{fmt.Errorf("--mix: %w", err)}
	}
	cfg := loadgen.Config{Addr: cmd.String("addr"), AllowRemote: cmd.Bool("allow-remote"), Key: cmd.String("key"),
		Clients: int(cmd.Int("clients")), Duration: cmd.Duration("duration"), Count: int(cmd.Int("count")), Mix: mix,
		Users: int(cmd.Int("users")), Seed: cmd.Uint64("seed")}
	switch {
	case cfg.Clients < 1 || cfg.Clients > 10_000:
		return usageError{fmt.Errorf("--clients is between 1 and 10000, not %d", cfg.Clients)}
	case cfg.Duration < 0 || cfg.Count < 0 || cfg.Users < 0:
		return usageError{fmt.Errorf("--duration, --count and --users cannot be negative")}
	case cfg.Duration == 0 && cfg.Count == 0:
		return usageError{fmt.Errorf("give --duration, --count or both: a run must end")}
	}
	if !cmd.IsSet("duration") && cmd.IsSet("count") {
		cfg.Duration = 0 // a count alone is the bound; the default duration is for runs given neither
	}
	if cmd.Bool("baseline") {
		return benchBaseline(ctx, cmd, cfg)
	}
	if cfg.Key == "" {
		return usageError{fmt.Errorf("--key is needed: a platform secret key of the server")}
	}
	if _, err := loadgen.ParseTarget(cfg.Addr, cfg.AllowRemote); err != nil {
		return usageError{fmt.Errorf("--addr: %w", err)}
	}
	errOut := cmd.Root().ErrWriter
	if !cmd.Bool("json") {
		cfg.Progress = func(msg string) { fmt.Fprintln(errOut, msg) }
	}
	rep, err := loadgen.Run(ctx, cfg)
	return benchResult(cmd, rep, err)
}

// benchBaseline runs the plain transfer loop on the database --db names.
func benchBaseline(ctx context.Context, cmd *cli.Command, cfg loadgen.Config) error {
	if !cmd.IsSet("db") {
		return usageError{fmt.Errorf("--baseline needs --db: it writes bench accounts and entries to the database it names")}
	}
	dbc := dbConfigFrom(cmd)
	db, err := dbc.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if !cmd.Bool("json") {
		fmt.Fprintf(cmd.Root().ErrWriter, "posting transfers on %s with %d clients\n", dbc, cfg.Clients)
	}
	users := cmp.Or(cfg.Users, cfg.Clients)
	rep, err := baseline(ctx, db, baselineConfig{clients: cfg.Clients, accounts: 2 * users, duration: cfg.Duration,
		count: cfg.Count, seed: cfg.Seed})
	rep.Target = dbc.String()
	return benchResult(cmd, rep, err)
}

// benchResult prints a run's report, as JSON with --json, and turns its
// outcome into the exit status.
func benchResult(cmd *cli.Command, rep loadgen.Report, err error) error {
	out := cmd.Root().Writer
	if len(rep.Ops) > 0 || rep.Ledger != nil {
		var perr error
		if cmd.Bool("json") {
			perr = printJSON(out, rep)
		} else {
			perr = printTable(out, benchReport(rep))
		}
		if perr != nil {
			return perr
		}
	}
	switch {
	case err != nil:
		return err
	case !rep.Ledger.OK:
		return problemError{fmt.Sprintf("the ledger breaks %d invariant check(s) after the run", len(rep.Ledger.Problems))}
	case rep.Failures() > 0:
		return fmt.Errorf("%d operation(s) failed", rep.Failures())
	}
	return nil
}

// benchReport prints a run's report as a table, one row per operation,
// then the errors by code and the ledger's verification.
type benchReport loadgen.Report

func (r benchReport) table(cols func(cells ...string)) {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	cols("OP", "COUNT", "ERRORS", "OPS/S", "P50 MS", "P95 MS", "P99 MS", "MAX MS")
	var total, failed int64
	var rate float64
	for _, s := range r.Ops {
		cols(string(s.Op), strconv.FormatInt(s.Count, 10), strconv.FormatInt(s.Failed(), 10), strconv.FormatFloat(s.OpsPerSec, 'f', 1, 64),
			f(s.P50MS), f(s.P95MS), f(s.P99MS), f(s.MaxMS))
		total, failed, rate = total+s.Count, failed+s.Failed(), rate+s.OpsPerSec
	}
	cols("total", strconv.FormatInt(total, 10), strconv.FormatInt(failed, 10), strconv.FormatFloat(rate, 'f', 1, 64))
	cols("")
	if r.Accounts > 0 {
		cols(fmt.Sprintf("%d clients, plain transfers between %d accounts on %s, seed %d: set-up %.1fs, run %.2fs",
			r.Clients, r.Accounts, r.Target, r.Seed, r.SetupSeconds, r.ElapsedSeconds))
	} else {
		cols(fmt.Sprintf("%d clients, %d buyers and %d sellers, mix %s, seed %d: set-up %.1fs, run %.2fs",
			r.Clients, r.Users, r.Users, r.Mix, r.Seed, r.SetupSeconds, r.ElapsedSeconds))
	}
	for _, s := range r.Ops {
		for _, code := range slices.Sorted(maps.Keys(s.Errors)) {
			kind := "failed"
			if slices.Contains(loadgen.Refusals, code) {
				kind = "refused"
			}
			cols(fmt.Sprintf("%s %s: %s ×%d", s.Op, kind, code, s.Errors[code]))
		}
	}
	switch v := r.Ledger; {
	case v == nil:
		cols("ledger not verified")
	case v.OK:
		cols(fmt.Sprintf("ledger OK: %d accounts, %d entries, %d postings", v.Accounts, v.Entries, v.Postings))
	default:
		for _, p := range v.Problems {
			cols(fmt.Sprintf("PROBLEM %s %s: %s", p.Check, p.Subject, cmp.Or(p.Detail, "-")))
		}
	}
}
