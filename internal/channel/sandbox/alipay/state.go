package alipay

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

// stateFile is the name of the gateway's state in Config.DataDir.
const stateFile = "alipay-sandbox.json"

// The trade states, as Alipay names them.
const (
	waitBuyerPay  = "WAIT_BUYER_PAY"
	tradeSuccess  = "TRADE_SUCCESS"
	tradeFinished = "TRADE_FINISHED"
	tradeClosed   = "TRADE_CLOSED"
)

// state is everything the gateway remembers. It is saved whole after every
// change, which is plenty for a sandbox's few hundred records.
type state struct {
	Seq           int64                `json:"seq"` // the last number used in a generated id
	Trades        map[string]*trade    `json:"trades"`
	Transfers     map[string]*transfer `json:"transfers"`
	Notifications []*notification      `json:"notifications"`
	Controls      controls             `json:"controls"`
	AppGateways   map[string]string    `json:"app_gateways,omitempty"` // app id → application gateway URL
}

// trade is one Alipay trade. Page, wap and QR trades are recorded when the
// merchant asks for them but exist for the merchant's queries only once the
// buyer has opened the cashier (Opened), as with the real Alipay.
type trade struct {
	AppID          string        `json:"app_id"`
	OutTradeNo     string        `json:"out_trade_no"`
	TradeNo        string        `json:"trade_no"`
	Method         string        `json:"method"` // the API that created it: alipay.trade.page.pay, ...
	Status         string        `json:"status"`
	Opened         bool          `json:"opened"`
	Total          bursar.Amount `json:"total"`
	Subject        string        `json:"subject"`
	Body           string        `json:"body,omitempty"`
	PassbackParams string        `json:"passback_params,omitempty"`
	NotifyURL      string        `json:"notify_url,omitempty"`
	ReturnURL      string        `json:"return_url,omitempty"`
	QRCode         string        `json:"qr_code,omitempty"` // the cashier token a precreate handed out
	BuyerID        string        `json:"buyer_id,omitempty"`
	BuyerLogonID   string        `json:"buyer_logon_id,omitempty"`
	Created        time.Time     `json:"created"`
	ExpiresAt      time.Time     `json:"expires_at,omitzero"`
	Paid           time.Time     `json:"paid,omitzero"`
	Closed         time.Time     `json:"closed,omitzero"`
	Refunded       bursar.Amount `json:"refunded"`
	Refunds        []*refund     `json:"refunds,omitempty"`
}

// refund is one successful refund of a trade.
type refund struct {
	OutRequestNo string        `json:"out_request_no"`
	Amount       bursar.Amount `json:"amount"`
	Reason       string        `json:"reason,omitempty"`
	At           time.Time     `json:"at"`
}

// transfer is one payout (alipay.fund.trans.uni.transfer).
type transfer struct {
	AppID          string        `json:"app_id"`
	OutBizNo       string        `json:"out_biz_no"`
	OrderID        string        `json:"order_id"`
	PayFundOrderID string        `json:"pay_fund_order_id"`
	Amount         bursar.Amount `json:"amount"`
	Identity       string        `json:"identity"`
	IdentityType   string        `json:"identity_type"`
	Name           string        `json:"name,omitempty"`
	Title          string        `json:"title,omitempty"`
	Status         string        `json:"status"` // SUCCESS, FAIL or DEALING
	ErrorCode      string        `json:"error_code,omitempty"`
	FailReason     string        `json:"fail_reason,omitempty"`
	Created        time.Time     `json:"created"`
	PayDate        time.Time     `json:"pay_date,omitzero"`
	// A DEALING transfer becomes FinishStatus at FinishAt.
	FinishAt     time.Time `json:"finish_at,omitzero"`
	FinishStatus string    `json:"finish_status,omitempty"`
}

// controls are the failures a tester asked for, consumed as they happen,
// and the differences planted in bills, which stay.
type controls struct {
	FailRefunds   int           `json:"fail_refunds,omitempty"`
	FailTransfers int           `json:"fail_transfers,omitempty"`
	Dealing       []dealing     `json:"dealing,omitempty"` // for the next transfers, in order
	BadAccounts   []string      `json:"bad_accounts,omitempty"`
	BadNames      []string      `json:"bad_names,omitempty"`
	DropNotify    int           `json:"drop_notify,omitempty"`
	DelayNotify   int           `json:"delay_notify,omitempty"`
	Delay         time.Duration `json:"delay,omitempty"`
	BillPlants    []billPlant   `json:"bill_plants,omitempty"` // never consumed; see plant.go
}

// dealing makes one transfer answer DEALING and end as Outcome After later.
type dealing struct {
	Outcome string        `json:"outcome"` // SUCCESS or FAIL
	After   time.Duration `json:"after"`
}

func newState() *state {
	return &state{Trades: map[string]*trade{}, Transfers: map[string]*transfer{}}
}

func key(appID, no string) string { return appID + "/" + no }

// loadState reads the state saved in dir; a missing file is a fresh state.
func loadState(dir string) (*state, error) {
	st := newState()
	if dir == "" {
		return st, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("read %s: %w", stateFile, err)
	}
	if st.Trades == nil {
		st.Trades = map[string]*trade{}
	}
	if st.Transfers == nil {
		st.Transfers = map[string]*transfer{}
	}
	return st, nil
}

// save writes the state to DataDir, if there is one. The caller holds g.mu.
func (g *Gateway) save() error {
	if g.cfg.DataDir == "" {
		return nil
	}
	b, err := json.Marshal(g.st)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(g.cfg.DataDir, stateFile), b)
}

// nextSeq returns a new sequence number for generated ids. The caller holds g.mu.
func (g *Gateway) nextSeq() int64 {
	g.st.Seq++
	return g.st.Seq
}

// findTrade looks a trade up by out_trade_no or trade_no for an app. The
// caller holds g.mu.
func (g *Gateway) findTrade(appID, outTradeNo, tradeNo string) *trade {
	if outTradeNo != "" {
		t := g.st.Trades[key(appID, outTradeNo)]
		if t != nil && (tradeNo == "" || t.TradeNo == tradeNo) {
			return t
		}
		return nil
	}
	if tradeNo == "" {
		return nil
	}
	for _, t := range g.st.Trades {
		if t.AppID == appID && t.TradeNo == tradeNo {
			return t
		}
	}
	return nil
}
