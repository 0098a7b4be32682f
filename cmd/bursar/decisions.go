package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/wire"
)

// The platform's decisions on refunds and large withdrawals. They go through
// the same use cases as the API's approve and reject, so the same rules and
// the audit log ("platform:cli") apply; the money then moves as it would
// after the API's decision: a wallet refund at once, a channel refund and
// an approved withdrawal by the jobs of a running `bursar serve`.

func refundsCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:  "refunds",
		Usage: "decide buyers' refund requests",
		Commands: []*cli.Command{
			{
				Name:      "approve",
				Usage:     "approve a requested refund: the money goes back where it came from",
				ArgsUsage: "REFUND_ID",
				Description: "A wallet payment is refunded at once. A channel payment is refunded through its channel by a\n" +
					"running `bursar serve`; the refund is processing until the channel confirms. Approving one\n" +
					"needs the channels' configuration, found as `bursar recon` finds it (--sandbox, the default:\n" +
					"that of `bursar serve --sandbox` on the same --data-dir; else --alipay-config, --wechat-config).",
				Flags: append(withJSON(getenv, &cli.StringFlag{Name: "note", Usage: "a note for the record"}),
					reconChannelFlags(getenv)...),
				Action: dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
					id, err := oneArg(cmd, "refund ID")
					if err != nil {
						return nil, err
					}
					// Only a channel payment's refund needs the channels: a
					// wallet refund works on a database alone.
					if d.Channels, err = channelsIfAny(cmd); err != nil {
						return nil, err
					}
					r, err := service.NewRefunds(d).Approve(ctx, operator, bursar.RefundID(id), cmd.String("note"))
					if bursar.ErrorCode(err) == bursar.ChannelFailed && len(d.Channels) == 0 {
						return nil, fmt.Errorf("%s Give the channels' configuration: run `bursar serve --sandbox` on this --data-dir first, or give --sandbox=false with --alipay-config and --wechat-config",
							bursar.ErrorMessage(err))
					}
					return refundRow(wire.RefundOf(r)), err
				}),
			},
			{
				Name:      "reject",
				Usage:     "refuse a requested refund with a reason; the escrow hold resumes",
				ArgsUsage: "REFUND_ID",
				Flags:     withJSON(getenv, &cli.StringFlag{Name: "reason", Required: true, Usage: "why, for the buyer and the record"}),
				Action: dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
					id, err := oneArg(cmd, "refund ID")
					if err != nil {
						return nil, err
					}
					r, err := service.NewRefunds(d).Reject(ctx, operator, bursar.RefundID(id), cmd.String("reason"))
					return refundRow(wire.RefundOf(r)), err
				}),
			},
		},
	}
}

// channelsIfAny opens the channels the flags name, or none when --sandbox
// finds no sandbox configuration in the data dir.
func channelsIfAny(cmd *cli.Command) (map[bursar.Channel]channel.Channel, error) {
	configs, err := reconConfigs(cmd)
	var ue usageError
	if err != nil && (errors.As(err, &ue) || !cmd.Bool("sandbox")) {
		return nil, err
	}
	if err != nil {
		return nil, nil // no sandbox has run here: only wallet refunds can be decided
	}
	return openChannels(configs)
}

func withdrawalsCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:  "withdrawals",
		Usage: "decide withdrawals that wait for the platform's approval",
		Commands: []*cli.Command{
			{
				Name:      "approve",
				Usage:     "let a requested withdrawal go to Alipay (a running `bursar serve` pays it out)",
				ArgsUsage: "WITHDRAWAL_ID",
				Flags:     withJSON(getenv, &cli.StringFlag{Name: "note", Usage: "a note for the record"}),
				Action: dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
					id, err := oneArg(cmd, "withdrawal ID")
					if err != nil {
						return nil, err
					}
					o, err := service.NewWithdrawals(d).Approve(ctx, operator, bursar.OrderID(id), cmd.String("note"))
					return orderRow(wire.OrderOf(o)), err
				}),
			},
			{
				Name:      "reject",
				Usage:     "refuse a requested withdrawal with a reason; the money goes back to the seller's earnings",
				ArgsUsage: "WITHDRAWAL_ID",
				Flags:     withJSON(getenv, &cli.StringFlag{Name: "reason", Required: true, Usage: "why, for the seller and the record"}),
				Action: dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
					id, err := oneArg(cmd, "withdrawal ID")
					if err != nil {
						return nil, err
					}
					o, err := service.NewWithdrawals(d).Reject(ctx, operator, bursar.OrderID(id), cmd.String("reason"))
					return orderRow(wire.OrderOf(o)), err
				}),
			},
		},
	}
}

type refundRow wire.Refund

func (r refundRow) table(cols func(...string)) { refundRows(cols, []wire.Refund{wire.Refund(r)}) }

type orderRow wire.Order

func (o orderRow) table(cols func(...string)) {
	orderRows(cols, []wire.Order{wire.Order(o)})
	if o.FailureReason != "" {
		cols("")
		cols("failure:", o.FailureReason)
	}
}
