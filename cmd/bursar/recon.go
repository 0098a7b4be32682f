package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/wire"
)

// reconChannelFlags say where the channels are: by default the sandboxes
// that `bursar serve --sandbox` runs, through the adapter configuration it
// wrote under --data-dir (serve must be running, at the address it wrote
// there); with --sandbox=false, the configuration files serve is given.
func reconChannelFlags(getenv func(string) string) []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{
			Name:    "sandbox",
			Value:   true,
			Usage:   "reconcile against the sandboxes of a running `bursar serve --sandbox` on the same --data-dir, through the adapter configuration it wrote in DATA_DIR/sandbox",
			Sources: env(getenv, "BURSAR_SANDBOX"),
		},
		&cli.StringFlag{
			Name:    "alipay-config",
			Usage:   "Alipay app configuration file, as for serve; needs --sandbox=false",
			Sources: env(getenv, "BURSAR_ALIPAY_CONFIG"),
		},
		&cli.StringFlag{
			Name:    "wechat-config",
			Usage:   "WeChat Pay merchant configuration file, as for serve; needs --sandbox=false",
			Sources: env(getenv, "BURSAR_WECHAT_CONFIG"),
		},
	}
}

// reconConfigs names the adapter configuration to load.
func reconConfigs(cmd *cli.Command) (channelConfigs, error) {
	configs := channelConfigs{alipay: cmd.String("alipay-config"), wechat: cmd.String("wechat-config")}
	if !cmd.Bool("sandbox") {
		return configs, nil
	}
	if configs != (channelConfigs{}) {
		return configs, usageError{errors.New("--alipay-config and --wechat-config need --sandbox=false")}
	}
	dir := filepath.Join(cmd.String("data-dir"), "sandbox")
	for _, f := range []struct {
		path string
		dst  *string
	}{
		{filepath.Join(dir, "alipay", "alipay.json"), &configs.alipay},
		{filepath.Join(dir, "wechat", wechatsandbox.ConfigFileName), &configs.wechat},
	} {
		if _, err := os.Stat(f.path); err == nil {
			*f.dst = f.path
		}
	}
	if configs == (channelConfigs{}) {
		return configs, fmt.Errorf("no sandbox configuration in %s: start `bursar serve --sandbox --data-dir %s` first, or give --sandbox=false with the channels' configuration files",
			dir, cmd.String("data-dir"))
	}
	return configs, nil
}

// openRecon opens the database (see openCurrent) and the reconciliation service.
func openRecon(ctx context.Context, cmd *cli.Command, withChannels bool) (*service.Recon, store.DB, error) {
	db, err := dbConfigFrom(cmd).openCurrent(ctx)
	if err != nil {
		return nil, nil, err
	}
	d := service.Deps{DB: db, Now: time.Now}
	if withChannels {
		configs, err := reconConfigs(cmd)
		if err == nil {
			d.Channels, err = openChannels(configs)
		}
		if err != nil {
			_ = db.Close() // the channels' error is the one to report
			return nil, nil, err
		}
	}
	return service.NewRecon(d), db, nil
}

// reconOutput is a run as --json prints it: the API's object.
type reconOutput struct {
	wire.ReconRun
	ExceptionList []wire.ReconException `json:"exception_list"`
}

// cliError shows a coded error by its message, a bad argument as a usage
// error (exit 2), and anything else in full: the operator may need it.
func cliError(err error) error {
	switch bursar.ErrorCode(err) {
	case bursar.Internal:
		return err
	case bursar.Invalid:
		return usageError{errors.New(bursar.ErrorMessage(err))}
	}
	return errors.New(bursar.ErrorMessage(err))
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func reconCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:  "recon",
		Usage: "reconcile a channel's daily bill against Bursar; exit 3 if something is open",
		Description: "Downloads the channel's bill of --date (Beijing time; yesterday by default), matches it line by\n" +
			"line against the payments, refunds and returned duplicates Bursar booked, stores the run and its\n" +
			"exceptions (as the daily job and POST /v1/reconciliations do), and prints them. It never changes\n" +
			"money. Progress goes to stderr. Exit code 3 when the run leaves exceptions open; a resolution\n" +
			"carried over from an earlier run of the day does not count.\n\n" +
			"The channels: with --sandbox (the default, as for serve) those of a running `bursar serve\n" +
			"--sandbox` on the same --data-dir, reached through the adapter configuration serve wrote there;\n" +
			"with --sandbox=false, the --alipay-config and --wechat-config files serve uses.",
		Flags: append(append(dbFlags(getenv), reconChannelFlags(getenv)...),
			&cli.StringFlag{Name: "channel", Usage: "the channel whose bill to reconcile: alipay or wechat"},
			&cli.StringFlag{Name: "date", Usage: "the day, yyyy-MM-dd, Beijing time (default: yesterday)"},
			&cli.BoolFlag{Name: "json", Usage: "print the run and its exceptions as JSON, as the API shows them"},
		),
		Commands: []*cli.Command{reconListCommand(getenv), reconResolveCommand(getenv)},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageError{fmt.Errorf("unknown recon command %q; see bursar recon --help", cmd.Args().First())}
			}
			name := bursar.Channel(cmd.String("channel"))
			if name == "" {
				return usageError{errors.New("--channel is required: alipay or wechat")}
			}
			day := time.Now().AddDate(0, 0, -1)
			if v := cmd.String("date"); v != "" {
				var err error
				if day, err = wire.ParseDate("date", v); err != nil {
					return usageError{fmt.Errorf("--date %q: %s", v, bursar.ErrorMessage(err))}
				}
			}
			recon, db, err := openRecon(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer db.Close()
			errw := cmd.Root().ErrWriter
			lastTenth := -1
			run, excs, err := recon.Run(ctx, operator, name, day, func(done, total int) {
				// One line per tenth of the file: enough for a long bill,
				// quiet for a short one.
				if total == 0 {
					return
				}
				if tenth := done * 10 / total; tenth != lastTenth {
					lastTenth = tenth
					fmt.Fprintf(errw, "matched %d of %d bill lines (%d%%)\n", done, total, done*100/total)
				}
			})
			if err != nil {
				if run.ID != "" {
					return fmt.Errorf("reconciliation %s failed: %w", run.ID, err)
				}
				return cliError(err)
			}
			return printRun(cmd, run, excs)
		},
	}
}

// printRun prints a finished run and its exceptions, and says whether any
// is left open.
func printRun(cmd *cli.Command, run bursar.ReconRun, excs []bursar.ReconException) error {
	out := cmd.Root().Writer
	open := 0
	for _, e := range excs {
		if e.Status == bursar.ReconOpen {
			open++
		}
	}
	if cmd.Bool("json") {
		o := reconOutput{ReconRun: wire.ReconRunOf(run), ExceptionList: make([]wire.ReconException, 0, len(excs))}
		for _, e := range excs {
			o.ExceptionList = append(o.ExceptionList, wire.ReconExceptionOf(e))
		}
		if err := printJSON(out, o); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "reconciliation %s of %s %s: %d bill lines, %d matched, %d exception(s), %d open\n",
			run.ID, run.Channel, wire.Date(run.Day), run.Lines, run.Matched, run.Exceptions(), open)
		fmt.Fprintf(out, "bill:   %d payments %s yuan, %d refunds %s yuan, fees %s yuan\n", run.BillPayments,
			run.BillPaymentTotal.Yuan(), run.BillRefunds, run.BillRefundTotal.Yuan(), run.BillFeeTotal.Yuan())
		fmt.Fprintf(out, "bursar: %d payments %s yuan, %d refunds %s yuan; %d payouts %s yuan (not on a trade bill)\n",
			run.OurPayments, run.OurPaymentTotal.Yuan(), run.OurRefunds, run.OurRefundTotal.Yuan(), run.OurPayouts,
			run.OurPayoutTotal.Yuan())
		for _, e := range excs {
			fmt.Fprintf(out, "%s %s %s line %d: %s\n", e.Status, e.ID, e.Kind, e.Line, e.Detail)
		}
	}
	if open > 0 {
		return problemError{fmt.Sprintf("the reconciliation left %d exception(s) open", open)}
	}
	return nil
}

func reconListCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list reconciliation runs, newest first, or one run with its exceptions",
		Flags: append(dbFlags(getenv),
			&cli.StringFlag{Name: "channel", Usage: "only runs of this channel"},
			&cli.StringFlag{Name: "date", Usage: "only runs of this day, yyyy-MM-dd"},
			&cli.IntFlag{Name: "limit", Value: 20, Usage: "at most this many runs (1 to 100)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON, as the API shows it"},
		),
		ArgsUsage: "[RUN_ID]",
		Action: func(ctx context.Context, cmd *cli.Command) error {
			recon, db, err := openRecon(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer db.Close()
			if id := cmd.Args().First(); id != "" {
				run, excs, err := recon.Get(ctx, operator, bursar.ReconRunID(id))
				if err != nil {
					return cliError(err)
				}
				return printRun(cmd, run, excs)
			}
			f := bursar.ReconRunFilter{Channel: bursar.Channel(cmd.String("channel")), Limit: int(cmd.Int("limit"))}
			if v := cmd.String("date"); v != "" {
				if f.Day, err = wire.ParseDate("date", v); err != nil {
					return usageError{fmt.Errorf("--date %q: %s", v, bursar.ErrorMessage(err))}
				}
			}
			runs, _, err := recon.List(ctx, operator, f)
			if err != nil {
				return cliError(err)
			}
			out := cmd.Root().Writer
			if cmd.Bool("json") {
				list := make([]wire.ReconRun, 0, len(runs))
				for _, r := range runs {
					list = append(list, wire.ReconRunOf(r))
				}
				return printJSON(out, list)
			}
			for _, r := range runs {
				fmt.Fprintf(out, "%s  %-6s %s  %-7s %5d lines %5d matched %3d exception(s)  %s\n", r.ID, r.Channel,
					wire.Date(r.Day), r.Status, r.Lines, r.Matched, r.Exceptions(), r.StartedAt.Format(time.RFC3339))
			}
			return nil
		},
	}
}

func reconResolveCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:      "resolve",
		Usage:     "record what was done about an open exception: accept, sync or adjusted, with a note",
		ArgsUsage: "EXCEPTION_ID",
		Description: "accept: explained, nothing to change. sync: ask the channel about the payment or refund again and\n" +
			"apply its answer as its notification would (needs the channels, as recon does). adjusted: the money\n" +
			"was put right by a wallet adjustment, which the note names.",
		Flags: append(append(dbFlags(getenv), reconChannelFlags(getenv)...),
			&cli.StringFlag{Name: "action", Required: true, Usage: "accept, sync or adjusted"},
			&cli.StringFlag{Name: "note", Required: true, Usage: "what was found and done"},
		),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			id := cmd.Args().First()
			if id == "" || cmd.Args().Len() > 1 {
				return usageError{errors.New("name one exception: bursar recon resolve EXCEPTION_ID --action ACTION --note NOTE")}
			}
			action := bursar.ReconAction(cmd.String("action"))
			recon, db, err := openRecon(ctx, cmd, action == bursar.ReconSync)
			if err != nil {
				return err
			}
			defer db.Close()
			e, err := recon.Resolve(ctx, operator, bursar.ReconExceptionID(id), action, cmd.String("note"))
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintf(cmd.Root().Writer, "%s %s: %s (%s)\n", e.ID, e.Status, e.Action, e.Note)
			return nil
		},
	}
}
