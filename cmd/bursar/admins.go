package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/wire"
)

// adminsCommand manages the people who sign in to the console at /admin.
func adminsCommand(getenv func(string) string) *cli.Command {
	withDB := func(flags ...cli.Flag) []cli.Flag {
		return append(append(dbFlags(getenv), &cli.BoolFlag{Name: "json", Usage: "print JSON"}), flags...)
	}
	return &cli.Command{
		Name:  "admins",
		Usage: "the people who sign in to the console at /admin",
		Commands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "add an admin; prints a new random password unless --password-stdin gives one",
				ArgsUsage: "NAME",
				Flags: withDB(
					&cli.StringFlag{Name: "role", Value: string(bursar.AdminOperator),
						Usage: "operator (decides refunds and withdrawals, adjusts, resolves) or viewer (reads only)"},
					&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from the first line of standard input"},
				),
				Action: adminAction(func(ctx context.Context, cmd *cli.Command, admins *service.Admins) (any, error) {
					name, err := oneArg(cmd, "name the admin")
					if err != nil {
						return nil, err
					}
					password, generated := "", false
					if cmd.Bool("password-stdin") {
						line, err := bufio.NewReader(cmd.Root().Reader).ReadString('\n')
						if err != nil && !errors.Is(err, io.EOF) {
							return nil, fmt.Errorf("read the password: %w", err)
						}
						password = strings.TrimRight(line, "\r\n")
					} else {
						password, generated = rand.Text(), true
					}
					a, err := admins.Create(ctx, name, password, bursar.AdminRole(cmd.String("role")))
					if err != nil {
						return nil, err
					}
					out := adminJSON(a)
					if generated {
						out.Password = password // shown once: only its hash is kept
					}
					return out, nil
				}),
			},
			{
				Name:  "list",
				Usage: "list the admins",
				Flags: withDB(),
				Action: adminAction(func(ctx context.Context, _ *cli.Command, admins *service.Admins) (any, error) {
					list, err := admins.List(ctx)
					out := make([]adminObject, 0, len(list))
					for _, a := range list {
						out = append(out, adminJSON(a))
					}
					return out, err
				}),
			},
			adminSwitch(withDB, "disable", true),
			adminSwitch(withDB, "enable", false),
		},
	}
}

func adminSwitch(withDB func(...cli.Flag) []cli.Flag, name string, disabled bool) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     name + " an admin's sign-in (their open sessions end at their next click)",
		ArgsUsage: "NAME",
		Flags:     withDB(),
		Action: adminAction(func(ctx context.Context, cmd *cli.Command, admins *service.Admins) (any, error) {
			admin, err := oneArg(cmd, "name the admin")
			if err != nil {
				return nil, err
			}
			a, err := admins.SetDisabled(ctx, admin, disabled)
			return adminJSON(a), err
		}),
	}
}

// adminObject is an admin as the command line shows it; never the hash.
type adminObject struct {
	Name       string           `json:"name"`
	Role       bursar.AdminRole `json:"role"`
	Password   string           `json:"password,omitempty"`
	CreatedAt  *string          `json:"created_at"`
	DisabledAt *string          `json:"disabled_at"`
}

func adminJSON(a bursar.Admin) adminObject {
	return adminObject{Name: a.Name, Role: a.Role, CreatedAt: wire.Time(a.CreatedAt), DisabledAt: wire.Time(a.DisabledAt)}
}

func oneArg(cmd *cli.Command, what string) (string, error) {
	if cmd.Args().Len() != 1 {
		return "", usageError{errors.New(what)}
	}
	return cmd.Args().First(), nil
}

// adminAction opens the database, runs fn and prints its result.
func adminAction(fn func(ctx context.Context, cmd *cli.Command, admins *service.Admins) (any, error)) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		db, err := dbConfigFrom(cmd).open(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		v, err := fn(ctx, cmd, service.NewAdmins(service.Deps{DB: db, Now: time.Now}))
		if err != nil {
			return err
		}
		out := cmd.Root().Writer
		if cmd.Bool("json") {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		}
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		list, ok := v.([]adminObject)
		if !ok {
			list = []adminObject{v.(adminObject)}
		}
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tDISABLED")
		for _, a := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.Role, deref(a.CreatedAt), deref(a.DisabledAt))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if one, ok := v.(adminObject); ok && one.Password != "" {
			fmt.Fprintf(out, "\nPassword (shown only now): %s\nSign in at /admin/ on the server.\n", one.Password)
		}
		return nil
	}
}
