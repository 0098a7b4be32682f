package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/wire"
)

// adminsCommand manages the people who sign in to the console at /admin.
func adminsCommand(getenv func(string) string) *cli.Command {
	withDB := func(flags ...cli.Flag) []cli.Flag { return withJSON(getenv, flags...) }
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
				Action: dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
					admins := service.NewAdmins(d)
					name, err := oneArg(cmd, "admin name")
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
				Action: dbAction(func(ctx context.Context, _ *cli.Command, d service.Deps) (any, error) {
					list, err := service.NewAdmins(d).List(ctx)
					out := make(adminList, 0, len(list))
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
		Action: dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
			admin, err := oneArg(cmd, "admin name")
			if err != nil {
				return nil, err
			}
			a, err := service.NewAdmins(d).SetDisabled(ctx, admin, disabled)
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

// adminList is admins as the command line prints them.
type adminList []adminObject

func (l adminList) table(cols func(...string)) {
	cols("NAME", "ROLE", "CREATED", "DISABLED")
	for _, a := range l {
		cols(a.Name, string(a.Role), deref(a.CreatedAt), deref(a.DisabledAt))
	}
}

func (a adminObject) table(cols func(...string)) {
	adminList{a}.table(cols)
	if a.Password != "" {
		cols("")
		cols("Password (shown only now): " + a.Password)
	}
}
