package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/wire"
)

func webhooksCommand(getenv func(string) string) *cli.Command {
	withDB := func(flags ...cli.Flag) []cli.Flag { return withJSON(getenv, flags...) }
	return &cli.Command{
		Name:  "webhooks",
		Usage: "webhook endpoints, events and their deliveries",
		Description: "Acts on the database directly, as the platform (\"platform:cli\" in the audit log).\n" +
			"A running `bursar serve` sends what these commands queue.",
		Commands: []*cli.Command{
			{
				Name:  "endpoints",
				Usage: "the URLs events are sent to",
				Commands: []*cli.Command{
					{
						Name:  "create",
						Usage: "register a URL for some event types (--events order.paid,order.completed or '*')",
						Flags: withDB(
							&cli.StringFlag{Name: "url", Required: true, Usage: "where to POST events"},
							&cli.StringFlag{Name: "events", Value: "*", Usage: "comma-separated event types, or * for all"},
							&cli.StringFlag{Name: "description", Usage: "a note for people"},
						),
						Action: webhookAction(func(ctx context.Context, cmd *cli.Command, hooks *service.Webhooks) (any, error) {
							url, desc, events := cmd.String("url"), cmd.String("description"), eventList(cmd.String("events"))
							e, err := hooks.CreateEndpoint(ctx, operator, service.EndpointInput{URL: &url, Events: &events, Description: &desc})
							return wire.EndpointOf(e, true), err
						}),
					},
					{
						Name:  "list",
						Usage: "list every endpoint",
						Flags: withDB(),
						Action: webhookAction(func(ctx context.Context, _ *cli.Command, hooks *service.Webhooks) (any, error) {
							es, err := hooks.Endpoints(ctx, operator)
							out := make([]wire.Endpoint, 0, len(es))
							for _, e := range es {
								out = append(out, wire.EndpointOf(e, false))
							}
							return out, err
						}),
					},
					endpointSwitch(withDB, "disable", true),
					endpointSwitch(withDB, "enable", false),
				},
			},
			{
				Name:  "events",
				Usage: "list events, newest first",
				Flags: withDB(
					&cli.StringFlag{Name: "order", Usage: "only this order's"},
					&cli.StringFlag{Name: "type", Usage: "only this type"},
					&cli.IntFlag{Name: "limit", Value: 20, Usage: "at most this many (1 to 100)"},
				),
				Action: webhookAction(func(ctx context.Context, cmd *cli.Command, hooks *service.Webhooks) (any, error) {
					es, _, err := hooks.Events(ctx, operator, bursar.EventFilter{Order: bursar.OrderID(cmd.String("order")),
						Type: bursar.EventType(cmd.String("type")), Limit: int(cmd.Int("limit"))})
					out := make([]wire.Event, 0, len(es))
					for _, e := range es {
						out = append(out, wire.EventOf(e))
					}
					return out, err
				}),
			},
			{
				Name:  "deliveries",
				Usage: "list deliveries, newest first, with their last answers (--status failed for the ones given up)",
				Flags: withDB(
					&cli.StringFlag{Name: "endpoint", Usage: "only to this endpoint"},
					&cli.StringFlag{Name: "event", Usage: "only of this event"},
					&cli.StringFlag{Name: "status", Usage: "pending, succeeded or failed"},
					&cli.IntFlag{Name: "limit", Value: 20, Usage: "at most this many (1 to 100)"},
				),
				Action: webhookAction(func(ctx context.Context, cmd *cli.Command, hooks *service.Webhooks) (any, error) {
					ds, _, err := hooks.Deliveries(ctx, operator, bursar.DeliveryFilter{Endpoint: bursar.EndpointID(cmd.String("endpoint")),
						Event: bursar.EventID(cmd.String("event")), Status: bursar.DeliveryStatus(cmd.String("status")),
						Limit: int(cmd.Int("limit"))})
					out := make([]wire.Delivery, 0, len(ds))
					for _, d := range ds {
						out = append(out, wire.DeliveryOf(d))
					}
					return out, err
				}),
			},
			{
				Name:      "delivery",
				Usage:     "show one delivery and every attempt at it",
				ArgsUsage: "DELIVERY_ID",
				Flags:     withDB(),
				Action: webhookAction(func(ctx context.Context, cmd *cli.Command, hooks *service.Webhooks) (any, error) {
					id, err := strconv.ParseInt(cmd.Args().First(), 10, 64)
					if err != nil || cmd.Args().Len() != 1 {
						return nil, usageError{fmt.Errorf("name one delivery by its number")}
					}
					d, attempts, err := hooks.Delivery(ctx, operator, bursar.DeliveryID(id))
					return wire.DeliveryWithAttempts(d, attempts), err
				}),
			},
			{
				Name:      "resend",
				Usage:     "send an event again: to one endpoint, or to every endpoint that wants it",
				ArgsUsage: "EVENT_ID",
				Flags:     withDB(&cli.StringFlag{Name: "endpoint", Usage: "only to this endpoint"}),
				Action: webhookAction(func(ctx context.Context, cmd *cli.Command, hooks *service.Webhooks) (any, error) {
					if cmd.Args().Len() != 1 {
						return nil, usageError{fmt.Errorf("name one event by its ID")}
					}
					ds, err := hooks.Resend(ctx, operator, bursar.EventID(cmd.Args().First()), bursar.EndpointID(cmd.String("endpoint")))
					out := make([]wire.Delivery, 0, len(ds))
					for _, d := range ds {
						out = append(out, wire.DeliveryOf(d))
					}
					return out, err
				}),
			},
		},
	}
}

func endpointSwitch(withDB func(...cli.Flag) []cli.Flag, name string, disabled bool) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     name + " an endpoint",
		ArgsUsage: "ENDPOINT_ID",
		Flags:     withDB(),
		Action: webhookAction(func(ctx context.Context, cmd *cli.Command, hooks *service.Webhooks) (any, error) {
			if cmd.Args().Len() != 1 {
				return nil, usageError{fmt.Errorf("name one endpoint by its ID")}
			}
			e, err := hooks.UpdateEndpoint(ctx, operator, bursar.EndpointID(cmd.Args().First()), service.EndpointInput{Disabled: &disabled})
			return wire.EndpointOf(e, false), err
		}),
	}
}

// eventList reads --events: comma-separated, spaces allowed.
func eventList(s string) []bursar.EventType {
	var out []bursar.EventType
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, bursar.EventType(part))
		}
	}
	return out
}

// webhookAction runs fn on the webhook use cases, as dbAction does.
func webhookAction(fn func(ctx context.Context, cmd *cli.Command, hooks *service.Webhooks) (any, error)) cli.ActionFunc {
	return dbAction(func(ctx context.Context, cmd *cli.Command, d service.Deps) (any, error) {
		return fn(ctx, cmd, service.NewWebhooks(d))
	})
}

// printTable prints what the operator's commands return, a row per object.
func printTable(out io.Writer, v any) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	cols := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	switch v := v.(type) {
	case tabler:
		v.table(cols)
	case wire.Endpoint:
		cols("ID", "URL", "EVENTS", "DISABLED", "SECRET")
		cols(string(v.ID), v.URL, joinTypes(v.Events), strconv.FormatBool(v.Disabled), cmp.Or(v.Secret, "(hidden)"))
	case []wire.Endpoint:
		cols("ID", "URL", "EVENTS", "DISABLED")
		for _, e := range v {
			cols(string(e.ID), e.URL, joinTypes(e.Events), strconv.FormatBool(e.Disabled))
		}
	case []wire.Event:
		cols("ID", "TYPE", "SUBJECT", "SEQ", "CREATED")
		for _, e := range v {
			cols(string(e.ID), string(e.Type), e.Subject, strconv.FormatInt(e.Seq, 10), deref(e.CreatedAt))
		}
	case []wire.Delivery:
		deliveryRows(cols, v)
	case wire.DeliveryDetail:
		deliveryRows(cols, []wire.Delivery{v.Delivery})
		if len(v.AttemptList) > 0 {
			cols("")
			cols("ATTEMPT AT", "HTTP", "TOOK", "ERROR", "ANSWER")
			for _, a := range v.AttemptList {
				cols(deref(a.At), strconv.Itoa(a.Status), (time.Duration(a.DurationMS) * time.Millisecond).String(), a.Error,
					oneLine(a.Body))
			}
		}
	default:
		return fmt.Errorf("cannot print %T", v)
	}
	return tw.Flush()
}

func deliveryRows(cols func(...string), ds []wire.Delivery) {
	cols("ID", "EVENT", "TYPE", "ENDPOINT", "STATUS", "ATTEMPTS", "LAST", "NEXT")
	for _, d := range ds {
		last := strconv.Itoa(d.LastStatus)
		if d.LastError != "" {
			last += " " + d.LastError
		}
		cols(strconv.FormatInt(int64(d.ID), 10), string(d.EventID), string(d.EventType), string(d.EndpointID), string(d.Status),
			strconv.Itoa(d.Attempts), oneLine(last), deref(d.NextAt))
	}
}

func joinTypes(ts []bursar.EventType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// oneLine keeps a cell on one line and short.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return s
}
