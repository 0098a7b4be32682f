package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
)

func keysCommand(getenv func(string) string) *cli.Command {
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "print JSON"}
	return &cli.Command{
		Name:  "keys",
		Usage: "manage platform secret keys",
		Commands: []*cli.Command{
			{
				Name:  "create",
				Usage: "create a platform secret key and print it (it is shown only once)",
				Flags: append(dbFlags(getenv), &cli.StringFlag{Name: "name", Usage: "a label for people"}, jsonFlag),
				Action: func(ctx context.Context, cmd *cli.Command) error {
					auth, done, err := openAuth(ctx, cmd)
					if err != nil {
						return err
					}
					defer done()
					secret, c, err := auth.CreatePlatformKey(ctx, cmd.String("name"))
					if err != nil {
						return err
					}
					out := cmd.Root().Writer
					if cmd.Bool("json") {
						return json.NewEncoder(out).Encode(map[string]string{"id": string(c.ID), "secret": secret, "name": c.Name})
					}
					fmt.Fprintf(out, "created key %s\n%s\n", c.ID, secret)
					return nil
				},
			},
			{
				Name:      "revoke",
				Usage:     "revoke a platform secret key by its ID",
				ArgsUsage: "KEY_ID",
				Flags:     dbFlags(getenv),
				Action: func(ctx context.Context, cmd *cli.Command) error {
					if cmd.Args().Len() != 1 {
						return usageError{fmt.Errorf("keys revoke takes one key ID")}
					}
					auth, done, err := openAuth(ctx, cmd)
					if err != nil {
						return err
					}
					defer done()
					if err := auth.RevokeKey(ctx, bursar.CredentialID(cmd.Args().First())); err != nil {
						return err
					}
					fmt.Fprintf(cmd.Root().Writer, "revoked %s\n", cmd.Args().First())
					return nil
				},
			},
		},
	}
}

func openAuth(ctx context.Context, cmd *cli.Command) (*service.Auth, func(), error) {
	db, err := dbConfigFrom(cmd).openCurrent(ctx)
	if err != nil {
		return nil, nil, err
	}
	return service.NewAuth(service.Deps{DB: db, Now: time.Now, Log: slog.Default()}), func() { _ = db.Close() }, nil
}
