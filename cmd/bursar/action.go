package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
)

// operator is who the command line acts as: the platform, named "cli" in
// the audit log.
var operator = bursar.Actor{Kind: bursar.CredentialPlatform, Credential: "cli"}

// tabler is a result that prints itself as a table: cols writes one
// tab-separated row.
type tabler interface {
	table(cols func(cells ...string))
}

// dbAction opens the database (see openCurrent), builds the use cases'
// dependencies on the real clock, runs fn acting as the operator, and prints
// its result: as JSON with --json, else as a table. Coded errors are shown
// by their message, bad input as a usage error (exit 2), see cliError.
func dbAction(fn func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error)) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		db, err := dbConfigFrom(cmd).openCurrent(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		d := service.Deps{DB: db, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
		v, err := fn(ctx, cmd, d)
		if err != nil {
			var ue usageError
			if errors.As(err, &ue) {
				return err
			}
			return cliError(err)
		}
		out := cmd.Root().Writer
		if cmd.Bool("json") {
			return printJSON(out, v)
		}
		return printTable(out, v)
	}
}

// oneArg returns the command's one argument, or a usage error naming what
// it should be.
func oneArg(cmd *cli.Command, what string) (string, error) {
	if cmd.Args().Len() != 1 || cmd.Args().First() == "" {
		return "", usageError{fmt.Errorf("%s takes one %s", cmd.FullName(), what)}
	}
	return cmd.Args().First(), nil
}

// withJSON is the database flags, --json and a command's own flags.
func withJSON(getenv func(string) string, flags ...cli.Flag) []cli.Flag {
	return append(append(dbFlags(getenv), &cli.BoolFlag{Name: "json", Usage: "print JSON, as the API shows it"}), flags...)
}
