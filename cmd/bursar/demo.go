package main

import "github.com/urfave/cli/v3"

func demoCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{Name: "demo", Flags: dbFlags(getenv)}
}
