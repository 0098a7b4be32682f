package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/service"
)

// demoPIN is the payment password of every demo user, so a person can pay
// as them through the API or the seed APIs.
const demoPIN = "246810"

func demoCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "fill a fresh database with a small marketplace: users, items and orders in every state",
		Description: "Creates sellers and buyers (Chinese and English names, payment password " + demoPIN + "), sessions and\n" +
			"courses, a webhook endpoint, and orders in every state, through the same use cases as the API, so\n" +
			"the ledger, the audit log (\"platform:cli\") and the webhook outbox are what real traffic leaves.\n\n" +
			"Wallet purchases are spread over the last --days on a moved clock: buyers are funded by wallet\n" +
			"adjustments (\"launch credit\"), and releases and expiries run as the clock passes them. Alipay\n" +
			"and WeChat Pay payments, top-ups, a channel refund and the withdrawals happen at the end, on the\n" +
			"real clock, through the sandboxes (started in-process on this --data-dir, as `bursar serve\n" +
			"--sandbox` runs them, so serve finds the same trades afterwards).\n\n" +
			"Afterwards `bursar serve` carries on with the real clock: courses in escrow are released when their\n" +
			"7-day hold ends, orders left pending close 30 minutes after the demo, channel payments left pending\n" +
			"are checked at the sandbox, the payout Alipay is \"dealing\" with succeeds two hours later, and the\n" +
			"webhook endpoint (--webhook-url) gets every event, retried for three days if it does not answer.\n\n" +
			"Refuses a database that has users, unless --force. --seed picks the same names, items and amounts\n" +
			"again; IDs and order numbers are random.",
		Flags: append(append(dbFlags(getenv), serviceFlags(getenv)...),
			&cli.BoolFlag{Name: "json", Usage: "print the summary as JSON"},
			&cli.BoolFlag{Name: "force", Usage: "add to a database that already has users"},
			&cli.IntFlag{Name: "seed", Value: 1, Usage: "random seed for names, items and amounts"},
			&cli.IntFlag{Name: "days", Value: 3, Usage: "spread the wallet purchases over this many days before now (1 to 14)"},
			&cli.StringFlag{Name: "webhook-url", Value: "http://127.0.0.1:9/bursar-demo-webhooks",
				Usage: "the demo webhook endpoint's URL (the default refuses connections, so deliveries fail and retry)"},
			&cli.BoolFlag{Name: "channels", Value: true, Usage: "also pay through the Alipay and WeChat Pay sandboxes (false: wallet only)"},
		),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageError{errors.New("bursar demo takes flags only")}
			}
			days := int(cmd.Int("days"))
			if days < 1 || days > 14 {
				return usageError{fmt.Errorf("--days is between 1 and 14, not %d", days)}
			}
			db, err := dbConfigFrom(cmd).open(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			d, err := deps(cmd, db, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			existing, _, err := service.NewUsers(d).List(ctx, operator, "", 1)
			if err != nil {
				return err
			}
			if len(existing) > 0 && !cmd.Bool("force") {
				return errors.New("the database already has users: bursar demo fills a fresh one (give --force to add to this one anyway)")
			}
			clk := &demoClock{}
			d.Now = clk.Now
			var stop func()
			if cmd.Bool("channels") {
				if d.Channels, d.PublicURL, stop, err = demoChannels(ctx, cmd, d); err != nil {
					return err
				}
				defer stop()
			}
			s, err := runDemo(ctx, d, clk, demoOptions{seed: int64(cmd.Int("seed")), days: days,
				webhookURL: cmd.String("webhook-url"), sandbox: d.PublicURL})
			if err != nil {
				return cliError(err)
			}
			out := cmd.Root().Writer
			if cmd.Bool("json") {
				return printJSON(out, s)
			}
			s.print(out)
			return nil
		},
	}
}

// demoClock is the demo's clock: a moved time while it backdates, the real
// time when set to zero.
type demoClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		return time.Now()
	}
	return c.now
}

func (c *demoClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// demoChannels starts the sandboxes in this process on a free loopback
// port, with the channels' notifications going to the notification use
// case, and returns the adapters, the base URL and a stop function.
func demoChannels(ctx context.Context, cmd *cli.Command, d service.Deps) (map[bursar.Channel]channel.Channel, string, func(), error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	base := "http://" + ln.Addr().String()
	log := slog.New(slog.DiscardHandler)
	sb, err := startSandboxes(filepath.Join(dbConfigFrom(cmd).dataDir, "sandbox"), base, base+"/v1/notify/alipay", 0.001, log)
	if err != nil {
		_ = ln.Close()
		return nil, "", nil, fmt.Errorf("sandbox: %w", err)
	}
	chans, err := openChannels(sb.configs)
	if err != nil {
		sb.Close()
		_ = ln.Close()
		return nil, "", nil, err
	}
	d.Channels, d.PublicURL = chans, base
	notifications := service.NewNotifications(d)
	mux := http.NewServeMux()
	sb.mount(mux)
	mux.HandleFunc("POST /v1/notify/{channel}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ans, err := notifications.Accept(r.Context(), bursar.Channel(r.PathValue("channel")), channel.Inbound{Header: r.Header, Body: body})
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		if ans.ContentType != "" {
			w.Header().Set("Content-Type", ans.ContentType)
		}
		w.WriteHeader(ans.Status)
		_, _ = w.Write(ans.Body)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		sb.Close() // unacknowledged notifications stay in the sandbox's state, for serve
	}
	return chans, base, stop, nil
}

// demoSummary is what the demo made.
type demoSummary struct {
	Sellers         []demoUser     `json:"sellers"`
	Buyers          []demoUser     `json:"buyers"`
	Items           int            `json:"items"`
	Orders          int            `json:"orders"`
	ByState         map[string]int `json:"orders_by_type_and_status"`
	PartlyRefunded  int            `json:"partly_refunded"`
	Reviews         int            `json:"reviews"`
	WebhookEndpoint string         `json:"webhook_endpoint"`
	PaymentPassword string         `json:"payment_password"`
	From            string         `json:"from"`
	To              string         `json:"to"`
	Channels        bool           `json:"channels"`
	// Examples names one order of each state, for trying the commands.
	Examples map[string]bursar.OrderID `json:"examples"`
}

type demoUser struct {
	ID   bursar.UserID `json:"id"`
	Name string        `json:"name"`
}

func (s demoSummary) print(out io.Writer) {
	fmt.Fprintf(out, "demo marketplace from %s to %s\n", s.From, s.To)
	fmt.Fprintf(out, "%d sellers, %d buyers (payment password %s), %d items, %d orders, %d reviews\n",
		len(s.Sellers), len(s.Buyers), s.PaymentPassword, s.Items, s.Orders, s.Reviews)
	keys := make([]string, 0, len(s.ByState))
	for k := range s.ByState {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ex := ""
		if id, ok := s.Examples[k]; ok {
			ex = "  e.g. " + string(id)
		}
		fmt.Fprintf(out, "  %-28s %3d%s\n", k, s.ByState[k], ex)
	}
	fmt.Fprintf(out, "  %-28s %3d\n", "partly refunded", s.PartlyRefunded)
	if !s.Channels {
		fmt.Fprintln(out, "wallet payments only (--channels=false)")
	}
	fmt.Fprintf(out, "webhook endpoint %s\n", s.WebhookEndpoint)
	fmt.Fprintln(out, "next: bursar serve (same --data-dir/--db), then bursar orders list, bursar ledger verify")
}
