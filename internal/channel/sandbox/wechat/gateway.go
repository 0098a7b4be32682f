package wechat

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Config is what a Gateway needs. Setup fills the identities and keys;
// the caller adds the rest.
type Config struct {
	// Dir, when set, is a directory Setup prepared: New takes the
	// identities and keys below from it, except those already set.
	Dir string

	MchID string // the one merchant this gateway serves
	AppID string // its app id

	// MerchantSerial is the merchant API certificate's serial number in
	// upper-case hex, as requests name it in serial_no; MerchantKey is that
	// certificate's public key, which verifies the merchant's requests.
	MerchantSerial string
	MerchantKey    *rsa.PublicKey

	// APIv3Key encrypts notification resources and platform certificates:
	// 32 ASCII bytes shared with the merchant.
	APIv3Key string

	// PublicKeyID and PublicKey are the WeChat Pay public key mode's pair
	// ("PUB_KEY_ID_" and digits): the gateway signs with the private key,
	// the merchant verifies with the public one it was given.
	PublicKeyID string
	PublicKey   *rsa.PrivateKey

	// PlatformCert and PlatformKey enable platform certificate mode: the
	// gateway serves GET /v3/certificates and signs with this key when a
	// request asks for the certificate's serial. Optional.
	PlatformCert *x509.Certificate
	PlatformKey  *rsa.PrivateKey
	// NotifyWith chooses what signs notifications: "public_key" (the
	// default), "platform" (needs PlatformCert), or "mixed", which picks
	// one at random per delivery as WeChat does while a merchant migrates.
	NotifyWith string

	// BaseURL is where people and merchants reach this gateway (scheme and
	// host), used in cashier links. Empty: taken from each request's Host.
	BaseURL string
	// DataDir, when set, is where the gateway keeps its state
	// (wechat-sandbox.json), rewritten after every change and loaded by New.
	DataDir string
	// Now is the gateway's clock; time.Now when nil.
	Now func() time.Time
	// RetrySchedule replaces the waits between notification deliveries:
	// WeChat's 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (24h4m
	// in all) when empty. RetryScale, when positive, multiplies WeChat's
	// schedule (unless RetrySchedule is set), the delivery timeout and the
	// refund delay: 0.001 in tests.
	RetrySchedule []time.Duration
	RetryScale    float64
	// DeliveryTimeout bounds one notification delivery; when zero it is
	// WeChat's 5 s times RetryScale, but never under 100 ms so a slow test
	// machine does not turn every delivery into a timeout.
	DeliveryTimeout time.Duration
	// RefundDelay is how long a refund stays PROCESSING before it settles;
	// 2 s times RetryScale when zero.
	RefundDelay time.Duration
	// BillRows, when set, sees the rows of a day's bill before the file is
	// written and returns the rows to write instead: the hook to plant
	// differences (a payment the merchant never saw, a missing one, a wrong
	// amount) for reconciliation tests, after the plants of POST
	// /wechat/sandbox/bill/plant. The summary is computed from what it
	// returns. It runs with the gateway locked and must not call it.
	BillRows func(day time.Time, rows []BillRow) []BillRow
	// Client delivers notifications; when nil, a client that follows no
	// redirects, since WeChat takes a redirect as a failed delivery.
	Client *http.Client
	// Log receives delivery failures and the like; discarded when nil.
	Log *slog.Logger
}

// wechatSchedule is WeChat Pay's documented notification retry schedule
// (24h4m in all): the intervals after the first delivery.
var wechatSchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// beijing is the time zone of every time on WeChat Pay's wire and in its bills.
var beijing = time.FixedZone("CST", 8*3600)

// Gateway is a fake WeChat Pay API v3 for one merchant. It is safe for
// concurrent use.
type Gateway struct {
	cfg      Config
	schedule []time.Duration
	timeout  time.Duration
	client   *http.Client
	log      *slog.Logger

	mu       sync.Mutex
	st       state
	inflight map[string]bool     // notifications being delivered now
	tokens   map[string]billFile // bill download tokens, not persisted: they live minutes
	controls controls

	wake   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup // the loop and the deliveries under way
}

// New returns a gateway for cfg, with the state found in cfg.DataDir if
// any, and starts its background work: delivering notifications (those
// left pending by a previous gateway too) and settling refunds. Close
// stops it.
func New(cfg Config) (*Gateway, error) {
	if cfg.Dir != "" {
		if err := cfg.fillFrom(cfg.Dir); err != nil {
			return nil, fmt.Errorf("wechat sandbox: %w (run Setup on the directory first)", err)
		}
	}
	switch {
	case cfg.MchID == "" || cfg.AppID == "":
		return nil, errors.New("wechat sandbox: MchID and AppID are required")
	case cfg.MerchantSerial == "" || cfg.MerchantKey == nil:
		return nil, errors.New("wechat sandbox: the merchant's certificate serial and public key are required")
	case len(cfg.APIv3Key) != 32:
		return nil, fmt.Errorf("wechat sandbox: the APIv3 key has %d bytes, want 32", len(cfg.APIv3Key))
	case !strings.HasPrefix(cfg.PublicKeyID, publicKeyIDPrefix) || cfg.PublicKey == nil:
		return nil, errors.New("wechat sandbox: a public key id (PUB_KEY_ID_...) and its private key are required")
	case (cfg.PlatformCert == nil) != (cfg.PlatformKey == nil):
		return nil, errors.New("wechat sandbox: PlatformCert and PlatformKey go together")
	}
	switch cfg.NotifyWith {
	case "", notifyWithPublicKey, notifyWithMixed, notifyWithPlatform:
	default:
		return nil, fmt.Errorf("wechat sandbox: NotifyWith %q is not public_key, platform or mixed", cfg.NotifyWith)
	}
	if cfg.NotifyWith != "" && cfg.NotifyWith != notifyWithPublicKey && cfg.PlatformCert == nil {
		return nil, fmt.Errorf("wechat sandbox: NotifyWith %q needs a platform certificate", cfg.NotifyWith)
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("wechat sandbox: BaseURL %q is not an http(s) URL", cfg.BaseURL)
		}
		cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Gateway{
		cfg:      cfg,
		schedule: scaled(cfg.RetrySchedule, wechatSchedule, cfg.RetryScale),
		inflight: map[string]bool{},
		tokens:   map[string]billFile{},
		wake:     make(chan struct{}, 1),
		log:      cfg.Log,
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.timeout = cfg.DeliveryTimeout
	if g.timeout <= 0 {
		g.timeout = max(scale(5*time.Second, cfg.RetryScale), 100*time.Millisecond)
	}
	if g.cfg.RefundDelay <= 0 {
		g.cfg.RefundDelay = scale(2*time.Second, cfg.RetryScale)
	}
	g.client = cfg.Client
	if g.client == nil {
		g.client = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if err := g.load(); err != nil {
		return nil, err
	}
	// Every delivery's context derives from the loop's; Close cancels it.
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	g.wg.Add(1)
	go g.loop(ctx)
	return g, nil
}

// scaled is custom when set, else def scaled by factor.
func scaled(custom, def []time.Duration, factor float64) []time.Duration {
	if len(custom) > 0 {
		return custom
	}
	out := make([]time.Duration, len(def))
	for i, d := range def {
		out[i] = scale(d, factor)
	}
	return out
}

// scale multiplies d by factor when factor is positive, never below 1 ms so
// a scaled schedule still orders its steps.
func scale(d time.Duration, factor float64) time.Duration {
	if factor <= 0 {
		return d
	}
	return max(time.Duration(float64(d)*factor), time.Millisecond)
}

func (g *Gateway) now() time.Time { return g.cfg.Now() }

// Close stops the background work and waits for deliveries in flight to
// end. Notifications not yet acknowledged stay in the state file and are
// delivered by the next gateway on the same DataDir. Close may be called
// more than once.
func (g *Gateway) Close() {
	g.cancel()
	g.wg.Wait()
}

// Handler serves the gateway's paths, and only them: the API under /v3/
// and the cashier and controls under /wechat/. Mount it on both:
//
//	mux.Handle("/v3/", gw.Handler())
//	mux.Handle("/wechat/", gw.Handler())
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h func(http.ResponseWriter, *http.Request, []byte)) {
		mux.HandleFunc(pattern, g.authenticated(h))
	}
	api("POST /v3/pay/transactions/native", g.prepay(tradeNative))
	api("POST /v3/pay/transactions/jsapi", g.prepay(tradeJSAPI))
	api("POST /v3/pay/transactions/h5", g.prepay(tradeH5))
	api("POST /v3/pay/transactions/app", g.prepay(tradeApp))
	api("GET /v3/pay/transactions/out-trade-no/{out_trade_no}", g.handleTradeGet)
	api("GET /v3/pay/transactions/id/{transaction_id}", g.handleTradeGetByID)
	api("POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close", g.handleTradeClose)
	api("POST /v3/refund/domestic/refunds", g.handleRefundCreate)
	api("GET /v3/refund/domestic/refunds/{out_refund_no}", g.handleRefundGet)
	api("GET /v3/bill/tradebill", g.handleBillGet)
	api("GET /v3/certificates", g.handleCertificates)
	mux.HandleFunc("GET /v3/billdownload/file", g.handleBillDownload)
	mux.HandleFunc("/v3/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, apiErr(http.StatusNotFound, "NOT_FOUND", "请求的资源不存在"))
	})

	mux.HandleFunc("GET /wechat/cashier", g.handleCashier)
	mux.HandleFunc("POST /wechat/sandbox/pay", g.handlePay)
	mux.HandleFunc("POST /wechat/sandbox/next-refund", g.handleNextRefund)
	mux.HandleFunc("POST /wechat/sandbox/next-error", g.handleNextError)
	mux.HandleFunc("POST /wechat/sandbox/notifications", g.handleNotifyMode)
	mux.HandleFunc("POST /wechat/sandbox/notifications/flush", g.handleFlush)
	mux.HandleFunc("POST /wechat/sandbox/probe", g.handleProbe)
	mux.HandleFunc("POST /wechat/sandbox/bill/plant", g.handlePlant)
	mux.HandleFunc("GET /wechat/sandbox/state", g.handleState)
	mux.HandleFunc("/wechat/", func(w http.ResponseWriter, _ *http.Request) {
		writeControlError(w, http.StatusNotFound, "not_found", "No such sandbox page or control; see the package documentation.")
	})
	return mux
}

// baseURL is where the gateway is reached from, for links in answers.
func (g *Gateway) baseURL(r *http.Request) string {
	if g.cfg.BaseURL != "" {
		return g.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
