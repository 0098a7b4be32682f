package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v3"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
)

// serviceFlags configure the use cases.
func serviceFlags(getenv func(string) string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:    "pepper-file",
			Usage:   "file holding the secret key of payment-password hashes (default: pepper in the data dir, created if missing)",
			Sources: env(getenv, "BURSAR_PEPPER_FILE"),
		},
		&cli.IntFlag{
			Name:    "commission-bps",
			Usage:   "platform commission taken at each escrow release, in basis points (100 = 1%)",
			Sources: env(getenv, "BURSAR_COMMISSION_BPS"),
		},
		&cli.DurationFlag{
			Name:    "order-expiry",
			Value:   30 * time.Minute,
			Usage:   "how long an unpaid order stays payable",
			Sources: env(getenv, "BURSAR_ORDER_EXPIRY"),
		},
		&cli.DurationFlag{
			Name:    "payment-check-after",
			Value:   time.Minute,
			Usage:   "how soon after a channel payment starts Bursar first asks the channel about it, in case its notification is lost",
			Sources: env(getenv, "BURSAR_PAYMENT_CHECK_AFTER"),
		},
		&cli.StringFlag{
			Name:    "withdrawal-min",
			Value:   "0.10",
			Usage:   "the smallest withdrawal, in yuan",
			Sources: env(getenv, "BURSAR_WITHDRAWAL_MIN"),
		},
		&cli.StringFlag{
			Name:    "withdrawal-approval-over",
			Value:   "5000.00",
			Usage:   "withdrawals above this many yuan wait for the platform's approval",
			Sources: env(getenv, "BURSAR_WITHDRAWAL_APPROVAL_OVER"),
		},
		&cli.IntFlag{
			Name:    "withdrawal-daily-count",
			Value:   3,
			Usage:   "withdrawals a user may make per day (Beijing time)",
			Sources: env(getenv, "BURSAR_WITHDRAWAL_DAILY_COUNT"),
		},
		&cli.StringFlag{
			Name:    "withdrawal-daily-amount",
			Value:   "50000.00",
			Usage:   "yuan a user may withdraw per day (Beijing time)",
			Sources: env(getenv, "BURSAR_WITHDRAWAL_DAILY_AMOUNT"),
		},
	}
}

// withdrawalLimits reads the withdrawal flags; amounts are yuan strings,
// parsed exactly.
func withdrawalLimits(cmd *cli.Command) (service.WithdrawalLimits, error) {
	var l service.WithdrawalLimits
	for _, f := range []struct {
		name string
		dst  *bursar.Amount
	}{{"withdrawal-min", &l.Min}, {"withdrawal-approval-over", &l.ApprovalOver}, {"withdrawal-daily-amount", &l.DailyAmount}} {
		a, err := bursar.ParseYuan(cmd.String(f.name))
		if err != nil || a <= 0 {
			return l, usageError{fmt.Errorf("--%s is a positive amount of yuan such as 100.00, not %q", f.name, cmd.String(f.name))}
		}
		*f.dst = a
	}
	if l.Min < 10 {
		return l, usageError{fmt.Errorf("--withdrawal-min is at least 0.10 yuan, Alipay's smallest payout, not %s", l.Min.Yuan())}
	}
	l.DailyCount = int(cmd.Int("withdrawal-daily-count"))
	if l.DailyCount < 1 {
		return l, usageError{fmt.Errorf("--withdrawal-daily-count is at least 1, not %d", l.DailyCount)}
	}
	return l, nil
}

// deps builds the services' dependencies from the flags.
func deps(cmd *cli.Command, db store.DB, log *slog.Logger) (service.Deps, error) {
	pepper, err := loadPepper(cmd)
	if err != nil {
		return service.Deps{}, err
	}
	bps := cmd.Int("commission-bps")
	if bps < 0 || bps > 10_000 {
		return service.Deps{}, usageError{fmt.Errorf("--commission-bps must be between 0 and 10000, not %d", bps)}
	}
	limits, err := withdrawalLimits(cmd)
	if err != nil {
		return service.Deps{}, err
	}
	if d := cmd.Duration("payment-check-after"); d <= 0 {
		return service.Deps{}, usageError{fmt.Errorf("--payment-check-after must be more than 0, not %s", d)}
	}
	return service.Deps{DB: db, Now: time.Now, Log: log, Pepper: pepper, CommissionBPS: bps,
		OrderExpiry: cmd.Duration("order-expiry"), PaymentCheckAfter: cmd.Duration("payment-check-after"),
		Withdrawals: limits}, nil
}

// loadPepper reads the payment-password key, creating a random one on first
// use so the embedded default needs no set-up. Losing it makes every
// payment password invalid, so it is never regenerated over an existing file.
func loadPepper(cmd *cli.Command) ([]byte, error) {
	path := cmd.String("pepper-file")
	if path == "" {
		path = filepath.Join(cmd.String("data-dir"), "pepper")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && cmd.String("pepper-file") == "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, err
		}
		b = []byte(rand.Text() + rand.Text())
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create pepper file: %w", err)
		}
		if _, err := f.Write(b); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("write pepper file: %w", err)
		}
		return b, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("read pepper file: %w", err)
	}
	if len(b) < 32 {
		return nil, fmt.Errorf("the pepper file %s holds %d bytes; it needs at least 32", path, len(b))
	}
	return b, nil
}
