package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/alipay"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
	"bursar.dev/bursar/internal/channel/wechat"
)

func channelFlags(getenv func(string) string) []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{
			Name:    "sandbox",
			Value:   true,
			Usage:   "run fake Alipay and WeChat Pay gateways in this process, under this server's address, and pay through them (development; turn off to use real channels)",
			Sources: env(getenv, "BURSAR_SANDBOX"),
		},
		&cli.StringFlag{
			Name:    "alipay-config",
			Usage:   "Alipay app configuration file (JSON: app_id, key and certificate files, gateway); needs --sandbox=false",
			Sources: env(getenv, "BURSAR_ALIPAY_CONFIG"),
		},
		&cli.StringFlag{
			Name:    "wechat-config",
			Usage:   "WeChat Pay merchant configuration file (JSON: mch_id, app_id, key files, base_url); needs --sandbox=false",
			Sources: env(getenv, "BURSAR_WECHAT_CONFIG"),
		},
		&cli.StringFlag{
			Name:    "public-url",
			Usage:   "where the channels reach this server for notifications (scheme://host[:port]); http://<listen address> when empty",
			Sources: env(getenv, "BURSAR_PUBLIC_URL"),
		},
		&cli.FloatFlag{
			Name:    "sandbox-retry-scale",
			Value:   1,
			Usage:   "with --sandbox, multiply the channels' real notification retry schedules by this (tests use 0.001)",
			Sources: env(getenv, "BURSAR_SANDBOX_RETRY_SCALE"),
		},
	}
}

// channelConfigs names the adapter configuration files to load.
type channelConfigs struct{ alipay, wechat string }

// openChannels builds the adapters whose configuration is given.
func openChannels(cfg channelConfigs) (map[bursar.Channel]channel.Channel, error) {
	chans := map[bursar.Channel]channel.Channel{}
	if cfg.alipay != "" {
		c, err := alipay.LoadConfig(cfg.alipay)
		if err != nil {
			return nil, fmt.Errorf("alipay: %w", err)
		}
		ch, err := alipay.New(c)
		if err != nil {
			return nil, fmt.Errorf("alipay: %w", err)
		}
		chans[bursar.ChannelAlipay] = ch
	}
	if cfg.wechat != "" {
		c, err := wechat.LoadConfig(cfg.wechat)
		if err != nil {
			return nil, fmt.Errorf("wechat: %w", err)
		}
		ch, err := wechat.New(c)
		if err != nil {
			return nil, fmt.Errorf("wechat: %w", err)
		}
		chans[bursar.ChannelWeChat] = ch
	}
	return chans, nil
}

// sandboxes are the two fake gateways, sharing one address: Alipay answers
// /gateway.do and /alipay/, WeChat Pay /v3/ and /wechat/.
type sandboxes struct {
	alipay  *alipaysandbox.Gateway
	wechat  *wechatsandbox.Gateway
	configs channelConfigs // the merchant's side, for the adapters
}

// startSandboxes prepares dir (keys, certificates and the adapters'
// configuration, generated on first use) and starts both gateways at
// baseURL. Alipay's payout messages go to appGateway, as Alipay sends them
// to the application gateway set in its console.
func startSandboxes(dir, baseURL, appGateway string, retryScale float64, log *slog.Logger) (*sandboxes, error) {
	if retryScale <= 0 {
		return nil, usageError{fmt.Errorf("--sandbox-retry-scale must be more than 0, not %v", retryScale)}
	}
	aDir, wDir := filepath.Join(dir, "alipay"), filepath.Join(dir, "wechat")
	af, err := alipaysandbox.Setup(aDir, baseURL)
	if err != nil {
		return nil, err
	}
	wf, err := wechatsandbox.Setup(wDir, baseURL)
	if err != nil {
		return nil, err
	}
	a, err := alipaysandbox.New(alipaysandbox.Config{Dir: aDir, BaseURL: baseURL, DataDir: aDir,
		RetryScale: retryScale, AppGatewayURL: appGateway, Log: log.With("sandbox", "alipay")})
	if err != nil {
		return nil, err
	}
	wcfg := wf.Gateway
	wcfg.BaseURL, wcfg.DataDir, wcfg.RetryScale, wcfg.Log = baseURL, wDir, retryScale, log.With("sandbox", "wechat")
	w, err := wechatsandbox.New(wcfg)
	if err != nil {
		a.Close()
		return nil, err
	}
	return &sandboxes{alipay: a, wechat: w, configs: channelConfigs{alipay: af.CertConfig, wechat: wf.ConfigFile}}, nil
}

// mount adds the gateways' paths to mux.
func (s *sandboxes) mount(mux *http.ServeMux) {
	for _, p := range []string{"/gateway.do", "/alipay/"} {
		mux.Handle(p, s.alipay.Handler())
	}
	for _, p := range []string{"/v3/", "/wechat/"} {
		mux.Handle(p, s.wechat.Handler())
	}
}

// Close stops the gateways' notification delivery.
func (s *sandboxes) Close() {
	s.alipay.Close()
	s.wechat.Close()
}

func sandboxCommand(getenv func(string) string) *cli.Command {
	return &cli.Command{
		Name:  "sandbox",
		Usage: "run the fake Alipay and WeChat Pay gateways on their own",
		Description: "The gateways speak the real wire protocols (signatures, encodings, notifications with the real\n" +
			"retry schedules, bills). On first use they generate every key into --data-dir and write the\n" +
			"adapters' configuration files there; point bursar serve at them with\n" +
			"--sandbox=false --alipay-config DIR/alipay/alipay.json --wechat-config DIR/wechat/wechat.json.\n" +
			"A person pays by opening the payment URL Bursar returns; a program by POST /alipay/sandbox/pay\n" +
			"or /wechat/sandbox/pay with out_trade_no.",
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "addr",
				Value:   "127.0.0.1:8090",
				Usage:   "address to listen on (host:port)",
				Sources: env(getenv, "BURSAR_SANDBOX_ADDR"),
			},
			&cli.StringFlag{
				Name:    "data-dir",
				Value:   filepath.Join("data", "sandbox"),
				Usage:   "where the gateways keep their keys, the adapters' configuration and their trades",
				Sources: env(getenv, "BURSAR_SANDBOX_DATA_DIR"),
			},
			&cli.StringFlag{
				Name:    "app-gateway",
				Value:   "http://127.0.0.1:8080/v1/notify/alipay",
				Usage:   "where Alipay's payout messages go (the application gateway of the Alipay console)",
				Sources: env(getenv, "BURSAR_SANDBOX_APP_GATEWAY"),
			},
			&cli.FloatFlag{
				Name:    "retry-scale",
				Value:   1,
				Usage:   "multiply the notification retry schedules by this",
				Sources: env(getenv, "BURSAR_SANDBOX_RETRY_SCALE"),
			},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			log := slog.New(slog.NewJSONHandler(cmd.Root().ErrWriter, nil))
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, "tcp", cmd.String("addr"))
			if err != nil {
				return err
			}
			base := "http://" + ln.Addr().String()
			sb, err := startSandboxes(cmd.String("data-dir"), base, cmd.String("app-gateway"), cmd.Float("retry-scale"), log)
			if err != nil {
				_ = ln.Close()
				return err
			}
			defer sb.Close()
			mux := http.NewServeMux()
			sb.mount(mux)
			fmt.Fprintf(cmd.Root().Writer, "sandbox listening on %s\nalipay config: %s\nwechat config: %s\n",
				base, sb.configs.alipay, sb.configs.wechat)
			return serveUntilDone(ctx, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln, 5*time.Second)
		},
	}
}

// serveUntilDone serves on ln until ctx ends, then lets in-flight requests
// finish for up to grace.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
