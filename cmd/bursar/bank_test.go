package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/loadgen"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/postgres/pgtest"
)

// The bank test's load: few buyers, so that many clients spend the same
// wallets at once, funded for a handful of payments, so that the wallets
// run dry and refusals happen alongside the payments that fit.
const (
	bankClients    = 16
	bankBuyers     = 4
	bankFunds      = 500  // fen: five 1-yuan purchases
	bankTopup      = 1000 // fen, what loadgen tops up by
	bankWithdrawal = 10   // fen, what loadgen withdraws
	bankBPS        = 500
	bankMix        = "pay=35,purchase=10,channel=10,confirm=15,refund=10,topup=3,withdraw=5"
)

// TestBank is the bank test over HTTP: many clients pay, buy, confirm,
// refund, top up and withdraw at random for a few seconds against a real
// `bursar serve`, while a reader watches that no wallet goes negative.
// Afterwards every account of the database must hold exactly what the
// operations the clients saw succeed put there, the accounts must sum to
// zero, and both the API's verification and `bursar ledger verify` must
// agree.
func TestBank(t *testing.T) {
	engines := []struct {
		name string
		db   func(t *testing.T) dbConfig
	}{
		{"sqlite", func(t *testing.T) dbConfig { return dbConfig{dataDir: t.TempDir()} }},
		{"postgres", func(t *testing.T) dbConfig { return dbConfig{dataDir: t.TempDir(), db: pgtest.URL(t)} }},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { bank(t, e.db(t)) })
	}
}

func bank(t *testing.T, db dbConfig) {
	args := []string{"--data-dir", db.dataDir}
	if db.db != "" {
		args = append(args, "--db", db.db)
	}
	key := createKey(t, args...)
	base, stop := startServe(t, nil, append([]string{"--addr", "127.0.0.1:0", "--sandbox-retry-scale", "0.001",
		"--commission-bps", fmt.Sprint(bankBPS)}, args...)...)
	defer stop()

	var mu sync.Mutex
	var outcomes []loadgen.Outcome
	seen := map[string]bool{}
	observe := func(o loadgen.Outcome) {
		mu.Lock()
		outcomes = append(outcomes, o)
		if o.User != "" {
			seen[o.User] = true
		}
		mu.Unlock()
	}
	users := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var us []string
		for u := range seen {
			us = append(us, u)
		}
		return us
	}

	ctx, cancel := context.WithCancel(context.Background())
	var samples atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { watchWallets(ctx, t, base, key, users, &samples) })
	mix, err := loadgen.ParseMix(bankMix)
	if err != nil {
		t.Fatal(err)
	}
	// The count only bounds the pending orders made before the run; the
	// duration ends it.
	rep, err := loadgen.Run(context.Background(), loadgen.Config{Addr: base, Key: key, Clients: bankClients,
		Duration: 3 * time.Second, Count: 600, Mix: mix, Users: bankBuyers, Seed: 11, Funds: bankFunds, Observe: observe})
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if samples.Load() == 0 {
		t.Error("no wallet was read during the run")
	}

	m := newBankModel(t, outcomes)
	if rep.Failures() != 0 {
		t.Errorf("%d operations failed: %+v", rep.Failures(), rep.Ops)
	}
	if rep.Ledger == nil || !rep.Ledger.OK {
		t.Errorf("GET /v1/ledger/verification: %+v", rep.Ledger)
	}

	// A refund of a channel payment is approved at once but returned by
	// the channel later; wait for it, so the orders are at rest.
	a := client{t, base}
	for id := range m.refunded {
		if m.paid[id] {
			continue
		}
		eventually(t, 20*time.Second, "refund of "+id, func() (bool, any) {
			o := a.must(200, key, "GET", "/v1/orders/"+id, "")
			return o["status"] == "refunded", o["status"]
		})
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	m.check(t, db)

	if out, err := runCLI(t, append([]string{"ledger", "verify"}, args...)...); err != nil || !strings.Contains(out, "ledger OK") {
		t.Errorf("bursar ledger verify: exit code %d (%v)\n%s", exitCode(err), err, out)
	}
}

// watchWallets reads the wallets of the users seen so far through the API
// until ctx ends, and fails t on a negative balance: the end state could
// hide a balance that dipped and came back.
func watchWallets(ctx context.Context, t *testing.T, base, key string, users func() []string, samples *atomic.Int64) {
	for ctx.Err() == nil {
		for _, u := range users() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/users/"+u+"/wallet", nil)
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("GET wallet of %s: %v", u, err)
				}
				return
			}
			var w struct{ Cash, Earnings int64 }
			err = json.NewDecoder(resp.Body).Decode(&w)
			resp.Body.Close()
			switch {
			case resp.StatusCode != http.StatusOK || err != nil:
				t.Errorf("GET wallet of %s = %d (%v)", u, resp.StatusCode, err)
				return
			case w.Cash < 0 || w.Earnings < 0:
				t.Errorf("the wallet of %s went negative during the run: %+v", u, w)
			}
			samples.Add(1)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bankModel is what the clients saw happen: the operations that succeeded,
// from which every account's balance follows.
type bankModel struct {
	paid        map[string]bool // purchases paid: true from the wallet, false through a channel
	confirmed   map[string]bool
	refunded    map[string]bool
	topups      map[string]int // by buyer
	withdrawals map[string]int // by seller
}

func newBankModel(t *testing.T, outcomes []loadgen.Outcome) bankModel {
	t.Helper()
	m := bankModel{paid: map[string]bool{}, confirmed: map[string]bool{}, refunded: map[string]bool{},
		topups: map[string]int{}, withdrawals: map[string]int{}}
	succeeded := map[loadgen.Op]int{}
	refused := map[string]int{}
	for _, o := range outcomes {
		if o.Code != "" {
			if !slices.Contains(loadgen.Refusals, o.Code) {
				t.Errorf("%s of %q failed: %s", o.Op, o.Order, o.Code)
			}
			refused[o.Code]++
			continue
		}
		succeeded[o.Op]++
		switch o.Op {
		case loadgen.OpPay, loadgen.OpPurchase, loadgen.OpChannel:
			if _, ok := m.paid[o.Order]; ok {
				t.Errorf("order %s paid twice", o.Order)
			}
			m.paid[o.Order] = o.Op != loadgen.OpChannel
		case loadgen.OpConfirm:
			m.confirmed[o.Order] = true
		case loadgen.OpRefund:
			m.refunded[o.Order] = true
		case loadgen.OpTopup:
			m.topups[o.User]++
		case loadgen.OpWithdraw:
			m.withdrawals[o.User]++
		}
	}
	for id := range m.confirmed {
		if _, ok := m.paid[id]; !ok || m.refunded[id] {
			t.Errorf("order %s confirmed, but paid %v and refunded %v", id, ok, m.refunded[id])
		}
	}
	for id := range m.refunded {
		if _, ok := m.paid[id]; !ok {
			t.Errorf("order %s refunded but never paid", id)
		}
	}
	// The test proves little if the load did not do everything, or if no
	// wallet ever ran dry.
	for _, op := range loadgen.Ops {
		if succeeded[op] == 0 {
			t.Errorf("no %s succeeded: %v", op, succeeded)
		}
	}
	if refused["insufficient_funds"] == 0 {
		t.Errorf("no payment was refused for insufficient funds: %v", succeeded)
	}
	t.Logf("succeeded: %v; refused: %v", succeeded, refused)
	return m
}

// check compares every account of the database, read in one snapshot,
// with what the model says it must hold.
func (m bankModel) check(t *testing.T, c dbConfig) {
	t.Helper()
	ctx := context.Background()
	db, err := c.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.InReadTx(ctx, func(tx store.Tx) error {
		var orders []bursar.Order
		for f := (bursar.OrderFilter{Limit: 100}); ; {
			page, more, err := tx.OrderList(ctx, f)
			if err != nil {
				return err
			}
			orders = append(orders, page...)
			if !more {
				break
			}
			f.After = page[len(page)-1].ID
		}
		bal := map[bursar.AccountID]bursar.Amount{}
		get := func(id bursar.AccountID) error {
			a, err := tx.AccountGet(ctx, id)
			switch {
			case bursar.ErrorCode(err) == bursar.NotFound:
				return nil
			case err != nil:
				return err
			}
			bal[id] = a.Balance
			if a.Balance < 0 && !id.MayGoNegative() {
				t.Errorf("%s is negative: %d", id, a.Balance)
			}
			return nil
		}
		for _, id := range []bursar.AccountID{bursar.ChannelAccount(bursar.ChannelAlipay), bursar.ChannelAccount(bursar.ChannelWeChat),
			bursar.PayoutPending, bursar.PlatformFees, bursar.PlatformAdjustments} {
			if err := get(id); err != nil {
				return err
			}
		}

		// What each account must hold, from the operations that
		// succeeded and the orders' amounts.
		want := map[bursar.AccountID]bursar.Amount{}
		buyers, sellers := map[bursar.UserID]bool{}, map[bursar.UserID]bool{}
		var fromOutside bursar.Amount // into the ledger through the channels
		for _, o := range orders {
			if o.Type != bursar.OrderPurchase {
				continue
			}
			buyers[o.Buyer], sellers[o.Seller] = true, true
			id, amount := string(o.ID), o.Amount.Amount
			escrow := bursar.EscrowAccount(o.ID)
			for _, acc := range []bursar.AccountID{escrow, bursar.DuplicateEscrowAccount(o.ID, bursar.ChannelAlipay),
				bursar.DuplicateEscrowAccount(o.ID, bursar.ChannelWeChat)} {
				if err := get(acc); err != nil {
					return err
				}
			}
			byWallet, paid := m.paid[id]
			status := bursar.OrderPending
			switch {
			case !paid:
			case m.confirmed[id]:
				status = bursar.OrderCompleted
				fee := bursar.Commission(amount, bankBPS)
				want[bursar.UserEarningsAccount(o.Seller)] += amount - fee
				want[bursar.PlatformFees] += fee
			case m.refunded[id]:
				status = bursar.OrderRefunded
			default:
				status = bursar.OrderPaid
				want[escrow] = amount
			}
			if paid && !m.refunded[id] {
				if byWallet {
					want[bursar.UserCashAccount(o.Buyer)] -= amount
				} else {
					fromOutside += amount
				}
			}
			if o.Status != status {
				t.Errorf("order %s is %s, want %s", o.ID, o.Status, status)
			}
			// Escrow holds what was paid and not refunded until the
			// order settles, then nothing.
			held := o.Amount.Amount - o.Refunded
			if o.Status != bursar.OrderPaid && o.Status != bursar.OrderRefundRequested {
				held = 0
			}
			if bal[escrow] != held {
				t.Errorf("escrow of %s order %s holds %d, want %d (refunded %d)", o.Status, o.ID, bal[escrow], held, o.Refunded)
			}
		}
		if len(buyers) != bankBuyers || len(sellers) != bankBuyers {
			t.Errorf("%d buyers and %d sellers bought and sold, want %d of each", len(buyers), len(sellers), bankBuyers)
		}
		var withdrawn bursar.Amount
		for u := range buyers {
			want[bursar.UserCashAccount(u)] += bankFunds + bursar.Amount(bankTopup*m.topups[string(u)])
			fromOutside += bursar.Amount(bankTopup * m.topups[string(u)])
		}
		for u := range sellers {
			w := bursar.Amount(bankWithdrawal * m.withdrawals[string(u)])
			want[bursar.UserEarningsAccount(u)] += bankFunds - w
			withdrawn += w
		}
		want[bursar.PlatformAdjustments] = -bankFunds * bursar.Amount(len(buyers)+len(sellers))
		for u := range buyers {
			if sellers[u] {
				t.Errorf("user %s both buys and sells", u)
			}
		}
		for u := range m.topups {
			if !buyers[bursar.UserID(u)] {
				t.Errorf("user %s topped up but bought nothing", u)
			}
		}
		for u := range m.withdrawals {
			if !sellers[bursar.UserID(u)] {
				t.Errorf("user %s withdrew but sold nothing", u)
			}
		}
		for u := range buyers {
			for _, id := range []bursar.AccountID{bursar.UserCashAccount(u), bursar.UserEarningsAccount(u)} {
				if err := get(id); err != nil {
					return err
				}
			}
		}
		for u := range sellers {
			for _, id := range []bursar.AccountID{bursar.UserCashAccount(u), bursar.UserEarningsAccount(u)} {
				if err := get(id); err != nil {
					return err
				}
			}
		}

		// The users', escrows' and platform's accounts hold exactly what
		// the operations put there.
		for id, b := range bal {
			if k := id.Kind(); k == bursar.AccountChannel || k == bursar.AccountPayoutPending {
				continue
			}
			if b != want[id] {
				t.Errorf("%s holds %d, want %d", id, b, want[id])
			}
		}
		for id, w := range want {
			if _, ok := bal[id]; !ok && w != 0 {
				t.Errorf("%s does not exist, want it to hold %d", id, w)
			}
		}
		// What is at the channels and on its way out is what came in
		// through them less what was withdrawn: a withdrawal in flight
		// is in payout:pending, a finished one at the channel.
		outside := bal[bursar.ChannelAccount(bursar.ChannelAlipay)] + bal[bursar.ChannelAccount(bursar.ChannelWeChat)] + bal[bursar.PayoutPending]
		if outside != withdrawn-fromOutside {
			t.Errorf("the channels and payouts hold %d, want %d withdrawn less %d paid in", outside, withdrawn, fromOutside)
		}
		// Every account is one of those above, and together they hold
		// nothing: no money was made or lost anywhere else.
		var sum bursar.Amount
		for _, b := range bal {
			sum += b
		}
		if sum != 0 {
			t.Errorf("the %d accounts sum to %d, want 0", len(bal), sum)
		}
		r, err := tx.LedgerVerify(ctx)
		if err != nil {
			return err
		}
		if !r.OK() || r.Accounts != int64(len(bal)) {
			t.Errorf("the ledger has %d accounts, the test found %d; problems: %v", r.Accounts, len(bal), r.Problems)
		}
		t.Logf("%d orders, %d accounts, %d entries; %d in through the channels, %d withdrawn", len(orders), r.Accounts,
			r.Entries, fromOutside, withdrawn)
		return nil
	})
	if err != nil {
		t.Fatalf("read the database: %v", err)
	}
}
