package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
)

func ledgerCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:  "ledger",
		Usage: "inspect the double-entry ledger",
		Commands: []*cli.Command{{
			Name:  "verify",
			Usage: "check every ledger invariant; exit 3 and list each problem if one is broken",
			Description: "Checks that every entry's postings sum to zero per currency, every stored balance\n" +
				"equals the sum of its postings, no account that may not go negative is below zero,\n" +
				"accounts are stored with the rules their names give them, and all balances of a\n" +
				"currency sum to zero.",
			Flags: append(dbFlags(getenv), &cli.BoolFlag{Name: "json", Usage: "print the report as JSON"}),
			Action: func(ctx context.Context, cmd *cli.Command) error {
				db, err := dbConfigFrom(cmd).openCurrent(ctx)
				if err != nil {
					return err
				}
				defer db.Close()
				r, err := service.NewLedger(service.Deps{DB: db, Now: time.Now}).Verify(ctx)
				if err != nil {
					return err
				}
				out := cmd.Root().Writer
				if cmd.Bool("json") {
					if r.Problems == nil {
						r.Problems = []bursar.LedgerProblem{}
					}
					enc := json.NewEncoder(out)
					enc.SetIndent("", "  ")
					if err := enc.Encode(r); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(out, "checked %d accounts, %d entries, %d postings\n", r.Accounts, r.Entries, r.Postings)
					for _, p := range r.Problems {
						fmt.Fprintf(out, "PROBLEM %s\n", p)
					}
				}
				if !r.OK() {
					return problemError{fmt.Sprintf("the ledger breaks %d invariant check(s)", len(r.Problems))}
				}
				if !cmd.Bool("json") {
					fmt.Fprintln(out, "ledger OK")
				}
				return nil
			},
		}},
	}
}
