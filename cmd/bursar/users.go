package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/wire"
)

func usersCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:  "users",
		Usage: "the marketplace's buyers and sellers",
		Description: "Acts on the database directly, as the platform (\"platform:cli\" in the audit log).\n" +
			"Passwords and tokens are the marketplace's business, through the API.",
		Commands: []*cli.Command{
			{
				Name:  "create",
				Usage: "create a user",
				Flags: withJSON(getenv,
					&cli.StringFlag{Name: "id", Usage: "the marketplace's own ID for the user (generated when empty)"},
					&cli.StringFlag{Name: "name", Usage: "display name"},
					&cli.StringFlag{Name: "avatar", Usage: "avatar URL"},
				),
				Action: dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
					if cmd.Args().Present() {
						return nil, usageError{fmt.Errorf("bursar users create takes flags only; the ID is --id")}
					}
					in := service.UserInput{ID: bursar.UserID(cmd.String("id"))}
					if cmd.IsSet("name") {
						in.DisplayName = new(cmd.String("name"))
					}
					if cmd.IsSet("avatar") {
						in.AvatarURL = new(cmd.String("avatar"))
					}
					u, err := service.NewUsers(d).Create(ctx, operator, in)
					return userRow(wire.UserOf(u)), err
				}),
			},
			{
				Name:      "show",
				Usage:     "show a user with their wallet",
				ArgsUsage: "USER_ID",
				Flags:     withJSON(getenv),
				Action: dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
					id, err := oneArg(cmd, "user ID")
					if err != nil {
						return nil, err
					}
					u, err := service.NewUsers(d).Get(ctx, operator, bursar.UserID(id))
					if err != nil {
						return nil, err
					}
					w, err := service.NewWallets(d).Get(ctx, operator, u.ID)
					return userDetail{User: wire.UserOf(u), Wallet: wire.WalletOf(w.User, w.Cash, w.Earnings)}, err
				}),
			},
			{
				Name:  "list",
				Usage: "list users, newest first",
				Flags: withJSON(getenv,
					&cli.IntFlag{Name: "limit", Value: 20, Usage: "at most this many (1 to 100)"},
					&cli.StringFlag{Name: "after", Usage: "the next page: users older than this user ID"},
				),
				Action: dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
					us, more, err := service.NewUsers(d).List(ctx, operator, bursar.UserID(cmd.String("after")), int(cmd.Int("limit")))
					l := list[wire.User]{Object: "list", HasMore: more, Data: make([]wire.User, 0, len(us))}
					for _, u := range us {
						l.Data = append(l.Data, wire.UserOf(u))
					}
					return userList(l), err
				}),
			},
		},
	}
}

// list is a page of objects, as the API's lists are (without their URL).
type list[T any] struct {
	Object  string `json:"object"`
	HasMore bool   `json:"has_more"`
	Data    []T    `json:"data"`
}

// next is the table's last line when there are more pages.
func (l list[T]) next(cols func(...string), lastID string) {
	if l.HasMore {
		cols("")
		cols("(more: --after " + lastID + ")")
	}
}

type userRow wire.User

func (u userRow) table(cols func(...string)) {
	cols("ID", "NAME", "AVATAR", "CREATED")
	cols(string(u.ID), u.DisplayName, u.AvatarURL, deref(u.CreatedAt))
}

type userList list[wire.User]

func (l userList) table(cols func(...string)) {
	cols("ID", "NAME", "CREATED")
	last := ""
	for _, u := range l.Data {
		cols(string(u.ID), u.DisplayName, deref(u.CreatedAt))
		last = string(u.ID)
	}
	list[wire.User](l).next(cols, last)
}

// userDetail is a user and their wallet.
type userDetail struct {
	wire.User
	Wallet wire.Wallet `json:"wallet"`
}

func (u userDetail) table(cols func(...string)) {
	userRow(u.User).table(cols)
	cols("")
	cols("CASH", "EARNINGS", "TOTAL")
	cols(u.Wallet.Cash.Yuan(), u.Wallet.Earnings.Yuan(), u.Wallet.Total.Yuan())
}
