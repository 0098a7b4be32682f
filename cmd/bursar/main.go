// Command bursar is the Bursar order, payment and escrow service: one binary
// whose subcommands serve the API, migrate the database and check the ledger.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v3"
)

// Exit codes, stable for scripts and cron jobs.
const (
	exitError   = 1 // the command failed
	exitUsage   = 2 // the command line was wrong
	exitProblem = 3 // the command ran and found a problem (ledger verify)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bursar:", err)
		os.Exit(exitCode(err))
	}
}

// run is the whole program, with its outside world passed in so that tests
// can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	root := &cli.Command{
		Name:  "bursar",
		Usage: "order, payment and escrow service for marketplaces of paid services and courses",
		Description: "Every flag can also be set by the BURSAR_* environment variable named in its help;\n" +
			"a flag on the command line wins over the environment.",
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: []*cli.Command{
			serveCommand(getenv, stderr),
			migrateCommand(getenv),
			ledgerCommand(getenv),
			keysCommand(getenv),
			sandboxCommand(getenv),
			webhooksCommand(getenv),
			adminsCommand(getenv),
			reconCommand(getenv),
			usersCommand(getenv),
			ordersCommand(getenv),
			refundsCommand(getenv),
			withdrawalsCommand(getenv),
			demoCommand(getenv),
			benchCommand(getenv),
		},
		// Errors are returned, not turned into os.Exit inside the library,
		// so run stays testable and main alone decides the exit code.
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
		Suggest:        true,
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageError{fmt.Errorf("unknown command %q; see bursar --help", cmd.Args().First())}
			}
			return cli.ShowAppHelp(cmd)
		},
	}
	setUsageErrors(root)
	return root.Run(ctx, args)
}

// setUsageErrors marks flag mistakes on cmd and its subcommands as usage
// errors, for exit code 2.
func setUsageErrors(cmd *cli.Command) {
	cmd.OnUsageError = func(_ context.Context, _ *cli.Command, err error, _ bool) error {
		return usageError{err}
	}
	for _, sub := range cmd.Commands {
		setUsageErrors(sub)
	}
}

// usageError is a mistake on the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// problemError means the command worked and found something wrong.
type problemError struct{ msg string }

func (e problemError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue usageError
	var pe problemError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &pe):
		return exitProblem
	}
	return exitError
}
