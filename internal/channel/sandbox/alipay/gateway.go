package alipay

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// beijing is the time zone of every Alipay timestamp.
var beijing = time.FixedZone("CST", 8*3600)

// timeLayout is Alipay's timestamp format, always in Beijing time.
const timeLayout = "2006-01-02 15:04:05"

// Config configures a Gateway. Only Dir is required.
type Config struct {
	// Dir is the directory Setup prepared: the gateway's key, its
	// certificates and the apps it serves.
	Dir string
	// BaseURL is the gateway's own address as buyers and merchants reach it
	// (scheme://host[:port]), used in the URLs it hands out: QR codes, bill
	// downloads. Empty: taken from each request's Host.
	BaseURL string
	// DataDir, when set, keeps the gateway's state (trades, refunds,
	// transfers, notifications not yet acknowledged) in alipay-sandbox.json,
	// rewritten after every change and loaded by New, so a restarted
	// sandbox carries on where it stopped.
	DataDir string
	// Now is the gateway's clock; time.Now when nil. Request timestamps,
	// trade times, bills and the notification schedule all follow it.
	Now func() time.Time
	// TimestampSkew is how far a request's timestamp may be from Now; 10
	// minutes when zero. Tests that move Now by days widen it, since SDKs
	// stamp requests with the real time.
	TimestampSkew time.Duration
	// RetrySchedule replaces Alipay's waits between the attempts to deliver
	// a notification: 4m, 10m, 10m, 1h, 2h, 6h, 15h.
	RetrySchedule []time.Duration
	// RetryScale multiplies Alipay's schedule (unless RetrySchedule is set)
	// and the 5 s delivery timeout; 0 means 1. Tests use 0.001 or less.
	RetryScale float64
	// DeliveryTimeout bounds one delivery attempt; when zero, 5 s ×
	// RetryScale but at least 250 ms.
	DeliveryTimeout time.Duration
	// Client delivers notifications; when nil, a client that follows no
	// redirects, since Alipay takes a redirect as a failed delivery.
	Client *http.Client
	// AppGatewayURL is where messages (alipay.fund.trans.order.changed) go
	// for an app with no application gateway set through the control call.
	// Alipay sends them to the gateway configured in its console, not to a
	// notify_url. Empty: such messages are not sent.
	AppGatewayURL string
	// BillRows, when set, sees the lines of an app's bill for a day before
	// the file is written and returns the lines to write instead: the hook
	// to plant differences (a payment Bursar never saw, a missing one, a
	// wrong amount) for reconciliation tests, after the plants of POST
	// /alipay/sandbox/bill/plant. The footer and the summary file are
	// computed from what it returns. It runs with the gateway locked and
	// must not call the Gateway.
	BillRows func(appID string, day time.Time, rows []BillRow) []BillRow
	// Log receives what the gateway does and what failed; discarded when nil.
	Log *slog.Logger
}

// Gateway is a fake Alipay Open Platform gateway. It is safe for concurrent
// use. New starts its background work (notification delivery, payouts that
// finish later, trades that expire); Close stops it.
type Gateway struct {
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	client   *http.Client
	schedule []time.Duration
	timeout  time.Duration
	skew     time.Duration

	key      *rsa.PrivateKey // Alipay's own key: signs responses and notifications
	certSN   string          // alipay_cert_sn of the Alipay certificate
	certPEM  []byte
	rootSN   string // alipay_root_cert_sn
	sellerID string
	apps     map[string]*app
	mux      *http.ServeMux

	mu       sync.Mutex // guards everything below
	closed   bool       // no deliveries start once set
	st       *state
	inFlight map[string]bool      // notification ids being delivered
	bills    map[string]billToken // bill download tokens; short-lived, so not saved

	cancel    context.CancelFunc
	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	work      sync.WaitGroup // deliveries under way
	closeOnce sync.Once
}

// app is a merchant application the gateway serves.
type app struct {
	id     string
	mode   string // modeCert or modePublicKey
	pub    *rsa.PublicKey
	certSN string // app_cert_sn, in certificate mode
}

// minScaledTimeout is the least delivery timeout RetryScale leads to.
const minScaledTimeout = 250 * time.Millisecond

// The real schedule of notification retries: after the first attempt,
// Alipay tries again after these waits, 8 attempts in about 25 hours.
var alipaySchedule = []time.Duration{4 * time.Minute, 10 * time.Minute, 10 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour}

// New loads the gateway's keys and apps from cfg.Dir and its state from
// cfg.DataDir, and starts delivering the notifications still pending.
func New(cfg Config) (*Gateway, error) {
	reg, err := readRegistry(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("alipay sandbox: %w (run Setup on the directory first)", err)
	}
	g := &Gateway{cfg: cfg, now: cfg.Now, log: cfg.Log, client: cfg.Client, sellerID: reg.SellerID,
		apps: map[string]*app{}, inFlight: map[string]bool{}, bills: map[string]billToken{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.client == nil {
		g.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	scale := cfg.RetryScale
	if scale <= 0 {
		scale = 1
	}
	g.schedule = cfg.RetrySchedule
	if len(g.schedule) == 0 {
		for _, d := range alipaySchedule {
			g.schedule = append(g.schedule, time.Duration(float64(d)*scale))
		}
	}
	g.skew = cfg.TimestampSkew
	if g.skew <= 0 {
		g.skew = defaultTimestampSkew
	}
	g.timeout = cfg.DeliveryTimeout
	if g.timeout <= 0 {
		// Scaled, but never below what a local round trip needs, or every
		// attempt would time out.
		g.timeout = max(time.Duration(float64(5*time.Second)*scale), minScaledTimeout)
	}
	if err := g.loadKeys(reg); err != nil {
		return nil, fmt.Errorf("alipay sandbox: %w", err)
	}
	if g.st, err = loadState(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("alipay sandbox: %w", err)
	}
	g.mux = g.routes()
	// The loop's context is the root of every delivery; Close cancels it.
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go g.loop(ctx)
	return g, nil
}

func (g *Gateway) loadKeys(reg registry) error {
	read := func(name string) ([]byte, error) {
		if name == "" {
			return nil, errors.New("the registry names no file")
		}
		return os.ReadFile(filepath.Join(g.cfg.Dir, name))
	}
	b, err := read(reg.GatewayKey)
	if err == nil {
		g.key, err = parsePrivateKey(b)
	}
	if err != nil {
		return fmt.Errorf("gateway key: %w", err)
	}
	if g.certPEM, err = read(reg.AlipayCert); err != nil {
		return fmt.Errorf("alipay certificate: %w", err)
	}
	cert, err := parseCert(g.certPEM)
	if err != nil {
		return fmt.Errorf("alipay certificate: %w", err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&g.key.PublicKey) {
		return errors.New("the Alipay certificate does not hold the gateway's key")
	}
	g.certSN = certSN(cert)
	if b, err = read(reg.RootCert); err == nil {
		g.rootSN, err = rootCertSN(b)
	}
	if err != nil {
		return fmt.Errorf("root certificate: %w", err)
	}
	for _, ra := range reg.Apps {
		a := &app{id: ra.AppID, mode: ra.Mode}
		switch ra.Mode {
		case modeCert:
			if b, err = read(ra.Cert); err != nil {
				return fmt.Errorf("app %s certificate: %w", ra.AppID, err)
			}
			c, err := parseCert(b)
			if err != nil {
				return fmt.Errorf("app %s certificate: %w", ra.AppID, err)
			}
			pub, ok := c.PublicKey.(*rsa.PublicKey)
			if !ok {
				return fmt.Errorf("app %s certificate holds no RSA key", ra.AppID)
			}
			a.pub, a.certSN = pub, certSN(c)
		case modePublicKey:
			if b, err = read(ra.PublicKey); err == nil {
				a.pub, err = parsePublicKey(b)
			}
			if err != nil {
				return fmt.Errorf("app %s public key: %w", ra.AppID, err)
			}
		default:
			return fmt.Errorf("app %s has unknown mode %q", ra.AppID, ra.Mode)
		}
		g.apps[a.id] = a
	}
	return nil
}

// Handler serves the gateway's paths only: /gateway.do and everything under
// /alipay/. To share a listener, mount it on both:
//
//	mux.Handle("/gateway.do", gw.Handler())
//	mux.Handle("/alipay/", gw.Handler())
func (g *Gateway) Handler() http.Handler { return g.mux }

func (g *Gateway) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/gateway.do", g.handleGateway)
	mux.HandleFunc("GET /alipay/{$}", g.handleIndex)
	mux.HandleFunc("GET /alipay/cashier/qr/{code}", g.handleCashierQR)
	mux.HandleFunc("/alipay/cashier/app", g.handleCashierApp)
	mux.HandleFunc("POST /alipay/cashier/pay", g.handleCashierPay)
	mux.HandleFunc("GET /alipay/bill/downloadBillFile.resource", g.handleBillDownload)
	mux.HandleFunc("POST /alipay/sandbox/pay", g.handleControlPay)
	mux.HandleFunc("POST /alipay/sandbox/fail-next", g.handleControlFailNext)
	mux.HandleFunc("POST /alipay/sandbox/transfers/dealing", g.handleControlDealing)
	mux.HandleFunc("POST /alipay/sandbox/payees/bad", g.handleControlBadPayee)
	mux.HandleFunc("POST /alipay/sandbox/app-gateway", g.handleControlAppGateway)
	mux.HandleFunc("POST /alipay/sandbox/bill/plant", g.handleControlBillPlant)
	mux.HandleFunc("POST /alipay/sandbox/notifications/drop", g.handleControlDrop)
	mux.HandleFunc("POST /alipay/sandbox/notifications/delay", g.handleControlDelay)
	mux.HandleFunc("POST /alipay/sandbox/notifications/deliver", g.handleControlDeliver)
	mux.HandleFunc("GET /alipay/sandbox/notifications", g.handleControlNotifications)
	mux.HandleFunc("GET /alipay/sandbox/trades", g.handleControlTrades)
	return mux
}

// Close stops the background work and waits for deliveries under way to
// end. State is already saved; a new Gateway on the same DataDir resumes.
func (g *Gateway) Close() {
	g.closeOnce.Do(func() {
		g.mu.Lock()
		g.closed = true // before work.Wait: no delivery may be added once it waits
		g.mu.Unlock()
		close(g.stop)
		g.cancel()
		<-g.done
		g.work.Wait()
	})
}

// baseURL is the gateway's address for URLs it hands out.
func (g *Gateway) baseURL(r *http.Request) string {
	if g.cfg.BaseURL != "" {
		return strings.TrimSuffix(g.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// stamp formats t as an Alipay timestamp in Beijing time.
func stamp(t time.Time) string { return t.In(beijing).Format(timeLayout) }
