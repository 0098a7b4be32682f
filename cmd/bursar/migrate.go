package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"
)

func migrateCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:  "migrate",
		Usage: "apply the database migrations that have not been applied (serve does this too)",
		Flags: dbFlags(getenv),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			dbc := dbConfigFrom(cmd)
			db, err := dbc.open(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			fmt.Fprintf(cmd.Root().Writer, "%s is up to date\n", dbc)
			return nil
		},
	}
}
