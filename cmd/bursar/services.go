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
	}
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
	return service.Deps{DB: db, Now: time.Now, Log: log, Pepper: pepper, CommissionBPS: bps,
		OrderExpiry: cmd.Duration("order-expiry")}, nil
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
