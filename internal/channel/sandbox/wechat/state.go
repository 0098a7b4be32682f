package wechat

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// stateFile is the name of the state file in Config.DataDir.
const stateFile = "wechat-sandbox.json"

// state is everything the gateway remembers. It is guarded by Gateway.mu
// and written whole after every change.
type state struct {
	Seq           int64              `json:"seq"`                   // numbers transaction and refund ids
	Trades        map[string]*trade  `json:"trades"`                // by out_trade_no
	Refunds       map[string]*refund `json:"refunds"`               // by out_refund_no
	Notifications []*notification    `json:"notifications"`         // oldest first
	BillPlants    []billPlant        `json:"bill_plants,omitempty"` // differences planted in bills, in order
}

// The trade types and states, as on the wire.
const (
	tradeNative = "NATIVE"
	tradeJSAPI  = "JSAPI"
	tradeH5     = "MWEB"
	tradeApp    = "APP"

	stateNotPay  = "NOTPAY"
	stateSuccess = "SUCCESS"
	stateRefund  = "REFUND" // paid, and a refund was made since
	stateClosed  = "CLOSED"
)

// trade is one order the merchant placed.
type trade struct {
	OutTradeNo    string        `json:"out_trade_no"`
	TradeType     string        `json:"trade_type"`
	AppID         string        `json:"appid"`
	Description   string        `json:"description"`
	Attach        string        `json:"attach,omitempty"`
	NotifyURL     string        `json:"notify_url"`
	Total         bursar.Amount `json:"total"`
	OpenID        string        `json:"openid,omitempty"` // the JSAPI payer, or whoever paid
	ClientIP      string        `json:"client_ip,omitempty"`
	TimeExpire    time.Time     `json:"time_expire"`
	Params        string        `json:"params"` // the prepay parameters that must not change
	PrepayID      string        `json:"prepay_id"`
	State         string        `json:"state"`
	TransactionID string        `json:"transaction_id,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
	SuccessTime   time.Time     `json:"success_time,omitzero"`
}

// paid reports whether money was taken for the trade.
func (t *trade) paid() bool { return t.State == stateSuccess || t.State == stateRefund }

// The refund states, as on the wire.
const (
	refundProcessing = "PROCESSING"
	refundSuccess    = "SUCCESS"
	refundClosed     = "CLOSED"
	refundAbnormal   = "ABNORMAL"
)

// refund is one refund of a paid trade.
type refund struct {
	OutRefundNo   string        `json:"out_refund_no"`
	RefundID      string        `json:"refund_id"`
	OutTradeNo    string        `json:"out_trade_no"`
	TransactionID string        `json:"transaction_id"`
	Reason        string        `json:"reason,omitempty"`
	NotifyURL     string        `json:"notify_url"` // the refund's, else the payment's
	Amount        bursar.Amount `json:"amount"`
	Total         bursar.Amount `json:"total"`
	Status        string        `json:"status"`
	Outcome       string        `json:"outcome"` // where it goes from PROCESSING
	CreatedAt     time.Time     `json:"created_at"`
	DueAt         time.Time     `json:"due_at"` // when it leaves PROCESSING
	SuccessTime   time.Time     `json:"success_time,omitzero"`
}

// counts reports whether the refund holds or took money from the trade.
func (r *refund) counts() bool { return r.Status != refundClosed }

// The states of a notification.
const (
	notifyPending   = "pending"   // to be delivered at NextAt
	notifyDelivered = "delivered" // the merchant answered 200 or 204
	notifyAbandoned = "abandoned" // the schedule ran out
	notifyDropped   = "dropped"   // never sent: the drop control was on
)

// notification is one event for the merchant. Its body is built once, so
// every delivery sends the same bytes and the same id; only the signature
// headers are made anew.
type notification struct {
	ID         string    `json:"id"`
	EventType  string    `json:"event_type"`
	URL        string    `json:"url"`
	Body       string    `json:"body"`
	Status     string    `json:"status"`
	Attempts   int       `json:"attempts"`
	NextAt     time.Time `json:"next_at"`
	LastResult string    `json:"last_result,omitempty"`
}

// controls are the sandbox knobs a person or a test turned; they are not
// persisted. (Bill plants are, in state: a reconciliation run may come
// after a restart.)
type controls struct {
	nextRefund  string    // the outcome of the next refund, when not SUCCESS
	nextError   *apiError // the answer to the next API call
	notifyMode  string    // deliver (default), hold or drop
	notifyDelay time.Duration
}

// load reads the state file, if DataDir is set and the file exists.
func (g *Gateway) load() error {
	g.st = state{Trades: map[string]*trade{}, Refunds: map[string]*refund{}}
	if g.cfg.DataDir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(g.cfg.DataDir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("wechat sandbox: read state: %w", err)
	}
	if err := json.Unmarshal(b, &g.st); err != nil {
		return fmt.Errorf("wechat sandbox: state file %s: %w", stateFile, err)
	}
	if g.st.Trades == nil {
		g.st.Trades = map[string]*trade{}
	}
	if g.st.Refunds == nil {
		g.st.Refunds = map[string]*refund{}
	}
	return nil
}

// saveLocked writes the state file through a temporary file and a rename,
// so a gateway killed half way leaves the previous state, never half of
// one. It does not fsync: the file must survive a killed process, not a
// power cut. The caller holds g.mu.
func (g *Gateway) saveLocked() error {
	if g.cfg.DataDir == "" {
		return nil
	}
	b, err := json.MarshalIndent(&g.st, "", "\t")
	if err != nil {
		return fmt.Errorf("wechat sandbox: encode state: %w", err)
	}
	f, err := os.CreateTemp(g.cfg.DataDir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("wechat sandbox: save state: %w", err)
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("wechat sandbox: save state: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(g.cfg.DataDir, stateFile)); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("wechat sandbox: save state: %w", err)
	}
	return nil
}

// persistLocked saves the state, logging a failure: the gateway goes on
// from memory, and the next change tries again.
func (g *Gateway) persistLocked() {
	if err := g.saveLocked(); err != nil {
		g.log.Error("wechat sandbox: state not saved", "err", err)
	}
}

// nextIDLocked returns a new WeChat-style number: prefix, the Beijing date and a
// sequence, 28 digits for transactions as on the real wire.
func (g *Gateway) nextIDLocked(prefix string, now time.Time) string {
	g.st.Seq++
	return fmt.Sprintf("%s%s%010d", prefix, now.In(beijing).Format("20060102"), g.st.Seq)
}
