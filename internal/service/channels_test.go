package service_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/channel/alipay"
	alipaysandbox "bursar.dev/bursar/internal/channel/sandbox/alipay"
	wechatsandbox "bursar.dev/bursar/internal/channel/sandbox/wechat"
	"bursar.dev/bursar/internal/channel/wechat"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// channelWorld is a marketplace with both channels, each a real adapter on
// its SDK talking to its sandbox over HTTP, and Bursar's notification
// endpoint on the same test server, as `bursar serve` mounts them.
type channelWorld struct {
	*bundle
	srv           *httptest.Server
	notifications *service.Notifications
	withdrawals   *service.Withdrawals

	mu       sync.Mutex
	received map[bursar.Channel][]channel.Inbound // notifications as they arrived
}

// keysDir is where sandboxKeys put the keys, removed when the tests end.
var keysDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if keysDir != "" {
		_ = os.RemoveAll(keysDir)
	}
	os.Exit(code)
}

// sandboxKeys generates the sandboxes' keys once per test binary; each test
// copies them, so only its own configuration and state differ.
var sandboxKeys = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "bursar-sandbox-keys-")
	if err != nil {
		return "", err
	}
	keysDir = dir
	if _, err := alipaysandbox.Setup(filepath.Join(dir, "alipay"), "http://127.0.0.1"); err != nil {
		return "", err
	}
	_, err = wechatsandbox.Setup(filepath.Join(dir, "wechat"), "http://127.0.0.1")
	return dir, err
})

func withChannels(t *testing.T, db store.DB) *channelWorld {
	t.Helper()
	return withChannelsAt(t, db, nil)
}

// withChannelsAt is withChannels whose Alipay sandbox keeps alipayNow's
// time (nil: the real clock) and takes requests stamped up to 72 hours
// from it, so tests can make trades on other days.
func withChannelsAt(t *testing.T, db store.DB, alipayNow func() time.Time) *channelWorld {
	t.Helper()
	b := setup(t, db)
	// The sandboxes and the SDKs sign with the real clock, so this clock
	// starts at it; tests move it only to make Bursar's jobs due.
	b.clock.now = time.Now().UTC().Truncate(time.Second)
	keys, err := sandboxKeys()
	must(t, err)
	dir := t.TempDir()
	must(t, os.CopyFS(dir, os.DirFS(keys)))

	w := &channelWorld{bundle: b, received: map[bursar.Channel][]channel.Inbound{}}
	mux := http.NewServeMux()
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	log := slog.New(slog.DiscardHandler)

	aDir, wDir := filepath.Join(dir, "alipay"), filepath.Join(dir, "wechat")
	af, err := alipaysandbox.Setup(aDir, w.srv.URL)
	must(t, err)
	wf, err := wechatsandbox.Setup(wDir, w.srv.URL)
	must(t, err)
	sandboxCfg := alipaysandbox.Config{Dir: aDir, BaseURL: w.srv.URL, RetryScale: 0.0001,
		AppGatewayURL: w.srv.URL + "/v1/notify/alipay", Log: log}
	if alipayNow != nil {
		sandboxCfg.Now, sandboxCfg.TimestampSkew = alipayNow, 72*time.Hour
	}
	ag, err := alipaysandbox.New(sandboxCfg)
	must(t, err)
	t.Cleanup(ag.Close)
	wcfg := wf.Gateway
	wcfg.BaseURL, wcfg.RetryScale, wcfg.RefundDelay, wcfg.Log = w.srv.URL, 0.0001, 50*time.Millisecond, log
	wg, err := wechatsandbox.New(wcfg)
	must(t, err)
	t.Cleanup(wg.Close)
	for _, p := range []string{"/gateway.do", "/alipay/"} {
		mux.Handle(p, ag.Handler())
	}
	for _, p := range []string{"/v3/", "/wechat/"} {
		mux.Handle(p, wg.Handler())
	}

	acfg, err := alipay.LoadConfig(af.CertConfig)
	must(t, err)
	ach, err := alipay.New(acfg)
	must(t, err)
	wccfg, err := wechat.LoadConfig(wf.ConfigFile)
	must(t, err)
	wch, err := wechat.New(wccfg)
	must(t, err)

	d := b.deps
	d.Log = log
	d.Channels = map[bursar.Channel]channel.Channel{bursar.ChannelAlipay: ach, bursar.ChannelWeChat: wch}
	d.PublicURL = w.srv.URL
	b.deps = d
	b.orders, b.wallets, b.jobs = service.NewOrders(d), service.NewWallets(d), service.NewJobs(d)
	w.notifications, w.withdrawals = service.NewNotifications(d), service.NewWithdrawals(d)
	mux.HandleFunc("POST /v1/notify/{channel}", func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		name := bursar.Channel(r.PathValue("channel"))
		in := channel.Inbound{Header: r.Header.Clone(), Body: body}
		w.mu.Lock()
		w.received[name] = append(w.received[name], in)
		w.mu.Unlock()
		w.answer(rw, w.accept(name, in))
	})
	return w
}

func (w *channelWorld) accept(name bursar.Channel, in channel.Inbound) channel.Answer {
	ans, err := w.notifications.Accept(context.Background(), name, in)
	if err != nil {
		return channel.Answer{Status: http.StatusNotFound}
	}
	return ans
}

func (w *channelWorld) answer(rw http.ResponseWriter, a channel.Answer) {
	if a.ContentType != "" {
		rw.Header().Set("Content-Type", a.ContentType)
	}
	rw.WriteHeader(a.Status)
	_, _ = rw.Write(a.Body)
}

// control calls a sandbox's control endpoint.
func (w *channelWorld) control(t *testing.T, path string, form url.Values) {
	t.Helper()
	resp, err := http.PostForm(w.srv.URL+path, form)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
}

// buyerPays is the buyer paying at the channel.
func (w *channelWorld) buyerPays(t *testing.T, o bursar.Order, name bursar.Channel) {
	t.Helper()
	w.control(t, "/"+string(name)+"/sandbox/pay", url.Values{"out_trade_no": {o.No}})
}

func (w *channelWorld) startPaying(t *testing.T, o bursar.Order, m channel.Method) channel.Payment {
	t.Helper()
	_, pay, err := w.orders.PayWithChannel(context.Background(), w.buyer, o.ID, m, service.PayOptions{ClientIP: "127.0.0.1"})
	must(t, err)
	return pay
}

// eventually polls cond until it holds or ten seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (w *channelWorld) order(t *testing.T, id bursar.OrderID) bursar.Order {
	t.Helper()
	o, err := w.orders.Get(context.Background(), w.platform, id)
	must(t, err)
	return o
}

func (w *channelWorld) waitStatus(t *testing.T, id bursar.OrderID, want bursar.OrderStatus) bursar.Order {
	t.Helper()
	var o bursar.Order
	eventually(t, "order "+string(id)+" to be "+string(want), func() bool {
		w.runJobs(t)
		o = w.order(t, id)
		return o.Status == want
	})
	return o
}

func (w *channelWorld) entries(t *testing.T, o bursar.Order) []bursar.PostedEntry {
	t.Helper()
	_, es, err := w.orders.GetWithEntries(context.Background(), w.platform, o.ID)
	must(t, err)
	return es
}

func (w *channelWorld) notices(t *testing.T, orderNo string) []bursar.Notice {
	t.Helper()
	var ns []bursar.Notice
	must(t, w.db.InReadTx(context.Background(), func(tx store.Tx) error {
		var err error
		ns, err = tx.NoticeList(context.Background(), orderNo)
		return err
	}))
	return ns
}

func (w *channelWorld) lastReceived(t *testing.T, name bursar.Channel) channel.Inbound {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	got := w.received[name]
	if len(got) == 0 {
		t.Fatalf("no %s notification arrived", name)
	}
	return got[len(got)-1]
}

func TestChannelPaymentAppliesOnce(t *testing.T) {
	for _, m := range []channel.Method{channel.AlipayQR, channel.WeChatNative} {
		t.Run(string(m), func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db store.DB) {
				w := withChannels(t, db)
				name := m.Channel()
				o := w.buy(t, w.course)
				pay := w.startPaying(t, o, m)
				if pay.URL == "" {
					t.Fatalf("%s gave no URL to pay: %+v", m, pay)
				}
				w.buyerPays(t, o, name)
				paid := w.waitStatus(t, o.ID, bursar.OrderPaid)
				if paid.Channel != name || w.balance(t, bursar.EscrowAccount(o.ID)) != 8888 {
					t.Fatalf("paid by %s with %d in escrow", paid.Channel, w.balance(t, bursar.EscrowAccount(o.ID)))
				}

				// The same notification again, ten times, all at once.
				in := w.lastReceived(t, name)
				var wg sync.WaitGroup
				for range 10 {
					wg.Go(func() {
						if a := w.accept(name, in); a.Status >= 300 || (name == bursar.ChannelAlipay && string(a.Body) != "success") {
							t.Errorf("a repeated notification was answered %d %q", a.Status, a.Body)
						}
					})
				}
				wg.Wait()
				if got := w.balance(t, bursar.ChannelAccount(name)); got != -8888 {
					t.Errorf("channel:%s = %d, want -8888: the payment was counted more than once", name, got)
				}
				if es := w.entries(t, o); len(es) != 1 {
					t.Errorf("%d ledger entries, want 1", len(es))
				}
				outcomes := map[bursar.NoticeOutcome]int{}
				for _, n := range w.notices(t, o.No) {
					outcomes[n.Outcome]++
				}
				if outcomes[bursar.NoticeApplied] != 1 || outcomes[bursar.NoticeDuplicate] < 10 {
					t.Errorf("stored notices by outcome: %v", outcomes)
				}

				// A tampered copy is refused and stored as such.
				bad := channel.Inbound{Header: in.Header, Body: []byte(strings.Replace(string(in.Body), `"summary":"`, `"summary":"!`, 1))}
				if name == bursar.ChannelAlipay {
					bad.Body = []byte(strings.Replace(string(in.Body), "88.88", "88.89", 1))
				}
				if string(bad.Body) == string(in.Body) {
					t.Fatalf("the tampering changed nothing in %s", in.Body)
				}
				if a := w.accept(name, bad); a.Status == http.StatusOK && string(a.Body) == "success" || a.Status == http.StatusNoContent {
					t.Errorf("a tampered notification was taken: %d %q", a.Status, a.Body)
				}
				if got := w.balance(t, bursar.ChannelAccount(name)); got != -8888 {
					t.Errorf("channel:%s = %d after a tampered notification", name, got)
				}
			})
		})
	}
}

func TestChannelPaymentRepairedByQuery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withChannels(t, db)
		o := w.buy(t, w.session)
		w.startPaying(t, o, channel.WeChatNative)
		w.control(t, "/wechat/sandbox/notifications", url.Values{"mode": {"drop"}})
		w.buyerPays(t, o, bursar.ChannelWeChat)
		w.runJobs(t)
		if got := w.order(t, o.ID).Status; got != bursar.OrderPending {
			t.Fatalf("order %s before the payment check", got)
		}
		w.clock.Advance(time.Minute) // the first payment check is due
		w.waitStatus(t, o.ID, bursar.OrderPaid)
		if ns := w.notices(t, o.No); len(ns) != 0 {
			t.Errorf("%d notices stored, but the sandbox dropped every notification", len(ns))
		}
	})
}

func TestExpiryClosesAtTheChannelFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withChannels(t, db)
		// Paid at the channel while the notification is held back: the
		// expiry must not close an order the buyer paid.
		paid := w.buy(t, w.session)
		w.startPaying(t, paid, channel.WeChatNative)
		w.control(t, "/wechat/sandbox/notifications", url.Values{"mode": {"hold"}})
		w.buyerPays(t, paid, bursar.ChannelWeChat)
		// Never paid: closed at WeChat, then here.
		unpaid := w.buy(t, w.course)
		w.startPaying(t, unpaid, channel.WeChatNative)

		w.clock.Advance(31 * time.Minute)
		w.waitStatus(t, paid.ID, bursar.OrderPaid)
		w.waitStatus(t, unpaid.ID, bursar.OrderClosed)
		ps, err := w.orders.Payments(context.Background(), w.platform, unpaid.ID)
		must(t, err)
		if len(ps) != 1 || ps[0].Status != bursar.PaymentClosed {
			t.Errorf("the unpaid order's payments: %+v", ps)
		}
	})
}

func TestLatePaymentReopensAClosedOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withChannels(t, db)
		o := w.buy(t, w.session)
		// An Alipay QR trade exists only once the buyer scans it, so closing
		// it before finds nothing to close and the order closes.
		w.startPaying(t, o, channel.AlipayQR)
		w.clock.Advance(31 * time.Minute)
		w.waitStatus(t, o.ID, bursar.OrderClosed)

		w.buyerPays(t, o, bursar.ChannelAlipay)
		got := w.waitStatus(t, o.ID, bursar.OrderPaid)
		if got.AccessUntil.IsZero() || w.balance(t, bursar.EscrowAccount(o.ID)) != 1990 {
			t.Errorf("re-opened order: access until %v, escrow %d", got.AccessUntil, w.balance(t, bursar.EscrowAccount(o.ID)))
		}
	})
}

func TestPaidTwiceIsReturned(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withChannels(t, db)
		ctx := context.Background()
		// Paying one way closes the payments started another way.
		o := w.buy(t, w.course)
		w.startPaying(t, o, channel.AlipayQR)
		w.startPaying(t, o, channel.WeChatNative)
		w.buyerPays(t, o, bursar.ChannelAlipay)
		w.waitStatus(t, o.ID, bursar.OrderPaid)
		eventually(t, "the WeChat payment to be closed", func() bool {
			w.runJobs(t)
			ps, err := w.orders.Payments(ctx, w.platform, o.ID)
			must(t, err)
			for _, p := range ps {
				if p.Channel == bursar.ChannelWeChat {
					return p.Status == bursar.PaymentClosed
				}
			}
			return false
		})

		// A channel payment that got through anyway, here one made before
		// the buyer paid from the wallet, is returned to the payer.
		o2 := w.buy(t, w.session)
		w.startPaying(t, o2, channel.WeChatNative)
		w.control(t, "/wechat/sandbox/notifications", url.Values{"mode": {"hold"}})
		w.buyerPays(t, o2, bursar.ChannelWeChat)
		w.fund(t, "buyer", bursar.AccountUserCash, 1990)
		_, err := w.orders.PayWithWallet(ctx, w.buyer, o2.ID, pin)
		must(t, err)
		w.control(t, "/wechat/sandbox/notifications", url.Values{"mode": {"deliver"}})
		w.control(t, "/wechat/sandbox/notifications/flush", nil)
		eventually(t, "the duplicate payment to be returned", func() bool {
			w.runJobs(t)
			p, err := w.orders.Payments(ctx, w.platform, o2.ID)
			must(t, err)
			return len(p) == 1 && p[0].Status == bursar.PaymentReturned
		})
		if got := w.order(t, o2.ID); got.Channel != bursar.ChannelWallet || got.Status != bursar.OrderPaid {
			t.Errorf("order after the duplicate: %s by %s", got.Status, got.Channel)
		}
		if got := w.balance(t, bursar.DuplicateEscrowAccount(o2.ID, bursar.ChannelWeChat)); got != 0 {
			t.Errorf("duplicate escrow holds %d after the return", got)
		}
	})
}

func TestChannelRefunds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withChannels(t, db)
		ctx := context.Background()
		for _, m := range []channel.Method{channel.AlipayQR, channel.WeChatNative} {
			name := m.Channel()
			o := w.buy(t, w.course)
			w.startPaying(t, o, m)
			w.buyerPays(t, o, name)
			w.waitStatus(t, o.ID, bursar.OrderPaid)

			part := bursar.Amount(1000)
			r, err := w.refunds().Request(ctx, w.buyer, o.ID, &part, "half of it")
			must(t, err)
			r, err = w.refunds().Approve(ctx, w.seller, r.ID, "")
			must(t, err)
			if r.Status != bursar.RefundProcessing {
				t.Fatalf("%s refund %s after approval, want processing", name, r.Status)
			}
			got := w.waitStatus(t, o.ID, bursar.OrderPaid)
			if got.Refunded != 1000 {
				t.Errorf("%s: refunded %d, want 1000", name, got.Refunded)
			}
			if r, _ = w.refunds().Get(ctx, w.buyer, r.ID); r.Status != bursar.RefundSucceeded {
				t.Errorf("%s refund %s", name, r.Status)
			}

			// The channel refuses the rest: back to the seller to decide.
			if name == bursar.ChannelAlipay {
				w.control(t, "/alipay/sandbox/fail-next", url.Values{"what": {"refund"}})
			} else {
				w.control(t, "/wechat/sandbox/next-refund", url.Values{"status": {"CLOSED"}})
			}
			r2, err := w.refunds().Request(ctx, w.buyer, o.ID, nil, "the rest")
			must(t, err)
			_, err = w.refunds().Approve(ctx, w.platform, r2.ID, "")
			must(t, err)
			eventually(t, "the refused refund to come back", func() bool {
				w.runJobs(t)
				r2, _ = w.refunds().Get(ctx, w.buyer, r2.ID)
				return r2.Status == bursar.RefundRequested
			})
			// Approved again, under a new number, it goes through.
			_, err = w.refunds().Approve(ctx, w.platform, r2.ID, "")
			must(t, err)
			got = w.waitStatus(t, o.ID, bursar.OrderRefunded)
			if got.Refunded != 8888 || w.balance(t, bursar.EscrowAccount(o.ID)) != 0 {
				t.Errorf("%s: refunded %d, escrow %d", name, got.Refunded, w.balance(t, bursar.EscrowAccount(o.ID)))
			}
		}
		if a, wc := w.balance(t, bursar.ChannelAccount(bursar.ChannelAlipay)), w.balance(t, bursar.ChannelAccount(bursar.ChannelWeChat)); a != 0 || wc != 0 {
			t.Errorf("channel accounts %d and %d after refunding everything", a, wc)
		}
	})
}

func TestTopup(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withChannels(t, db)
		ctx := context.Background()
		if _, err := w.orders.CreateTopup(ctx, w.buyer, service.TopupInput{User: "seller", Amount: 100}); bursar.ErrorCode(err) != bursar.Invalid {
			t.Errorf("topping up another user's wallet: %v", err)
		}
		top, err := w.orders.CreateTopup(ctx, w.buyer, service.TopupInput{User: "buyer", Amount: 5000})
		must(t, err)
		if _, err := w.orders.PayWithWallet(ctx, w.buyer, top.ID, pin); bursar.ErrorCode(err) != bursar.WrongState {
			t.Errorf("paying a top-up from the wallet: %v", err)
		}
		w.startPaying(t, top, channel.AlipayQR)
		w.buyerPays(t, top, bursar.ChannelAlipay)
		w.waitStatus(t, top.ID, bursar.OrderCompleted)
		if got := w.wallet(t, "buyer").Cash.Amount; got != 5000 {
			t.Errorf("cash after the top-up = %d, want 5000", got)
		}
		w.paid(t, w.session) // spent from the topped-up cash
		if got := w.wallet(t, "buyer").Cash.Amount; got != 5000-1990 {
			t.Errorf("cash after buying = %d", got)
		}
		if got := eventTypes(t, w.bundle, top.ID); !slices.Equal(got, []bursar.EventType{bursar.EventOrderCompleted}) {
			t.Errorf("events of the top-up: %v", got)
		}
	})
}

func TestWithdrawals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withChannels(t, db)
		ctx := context.Background()
		w.fund(t, "seller", bursar.AccountUserEarnings, 2_000_000)
		w.fund(t, "seller", bursar.AccountUserCash, 50_000)
		in := func(amount bursar.Amount, account string) service.WithdrawalInput {
			return service.WithdrawalInput{User: "seller", Amount: amount, Account: account, Name: "张三", PaymentPassword: pin}
		}

		for _, tc := range []struct {
			name string
			in   service.WithdrawalInput
			code bursar.Code
		}{
			{"another user's", service.WithdrawalInput{User: "buyer", Amount: 100, Account: "a@example.com", Name: "x", PaymentPassword: pin}, bursar.Invalid},
			{"too small", in(9, "a@example.com"), bursar.Invalid},
			{"no account", in(100, ""), bursar.Invalid},
			{"wrong password", service.WithdrawalInput{User: "seller", Amount: 100, Account: "a@example.com", Name: "x", PaymentPassword: "000000"}, bursar.Forbidden},
			{"more than earnings", in(2_000_001, "a@example.com"), bursar.InsufficientFunds},
		} {
			if _, err := w.withdrawals.Request(ctx, w.seller, tc.in); bursar.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}

		allowance := func() bursar.Amount {
			t.Helper()
			a, err := w.withdrawals.Allowance(ctx, w.seller, "seller")
			must(t, err)
			return a
		}
		if got := allowance(); got != 2_000_000 {
			t.Errorf("allowance before any withdrawal = %d, want all the earnings", got)
		}
		small := w.deps
		small.Withdrawals.DailyAmount = 15_000
		if got, err := service.NewWithdrawals(small).Allowance(ctx, w.seller, "seller"); err != nil || got != 15_000 {
			t.Errorf("allowance under a 150.00 daily limit = %d, %v; want 15000", got, err)
		}
		if _, err := w.withdrawals.Allowance(ctx, w.buyer, "seller"); bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("another user's allowance: %v", err)
		}
		ok, err := w.withdrawals.Request(ctx, w.seller, in(10_000, "seller@example.com"))
		must(t, err)
		if got := w.balance(t, bursar.UserEarningsAccount("seller")); got != 2_000_000-10_000 {
			t.Errorf("earnings while the payout runs = %d", got)
		}
		w.waitStatus(t, ok.ID, bursar.OrderSucceeded)

		w.control(t, "/alipay/sandbox/payees/bad", url.Values{"account": {"nobody@example.com"}})
		bad, err := w.withdrawals.Request(ctx, w.seller, in(20_000, "nobody@example.com"))
		must(t, err)
		if got := w.waitStatus(t, bad.ID, bursar.OrderFailed); got.FailureReason == "" {
			t.Error("a failed payout says nothing about why")
		}

		big, err := w.withdrawals.Request(ctx, w.seller, in(600_000, "seller@example.com"))
		must(t, err)
		if big.Status != bursar.OrderRequested || !big.NeedsApproval {
			t.Fatalf("a large withdrawal is %s (needs approval %v)", big.Status, big.NeedsApproval)
		}
		if _, err := w.withdrawals.Approve(ctx, w.seller, big.ID, ""); bursar.ErrorCode(err) != bursar.Forbidden {
			t.Errorf("the seller approving their own withdrawal: %v", err)
		}
		if _, err := w.withdrawals.Reject(ctx, w.buyer, big.ID, "no"); bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("another user rejecting it: %v", err)
		}
		rejected, err := w.withdrawals.Reject(ctx, w.platform, big.ID, "account under review")
		must(t, err)
		if rejected.Status != bursar.OrderFailed {
			t.Errorf("rejected withdrawal is %s", rejected.Status)
		}
		// Three a day, whether they succeed or not; failed ones do not count.
		if _, err := w.withdrawals.Request(ctx, w.seller, in(100, "seller@example.com")); err != nil {
			t.Fatal(err)
		}
		if _, err := w.withdrawals.Request(ctx, w.seller, in(100, "seller@example.com")); err != nil {
			t.Fatal(err)
		}
		if _, err := w.withdrawals.Request(ctx, w.seller, in(100, "seller@example.com")); bursar.ErrorCode(err) != bursar.RateLimited {
			t.Errorf("a fourth withdrawal in a day: %v", err)
		}
		if got := allowance(); got != 0 {
			t.Errorf("allowance after the day's three withdrawals = %d, want 0", got)
		}
		w.runJobs(t)
		eventually(t, "payouts to settle", func() bool {
			w.runJobs(t)
			return w.balance(t, bursar.PayoutPending) == 0
		})
		want := bursar.Amount(2_000_000 - 10_000 - 100 - 100)
		if got := w.balance(t, bursar.UserEarningsAccount("seller")); got != want {
			t.Errorf("earnings at the end = %d, want %d", got, want)
		}
		if got := w.wallet(t, "seller").Cash.Amount; got != 50_000 {
			t.Errorf("cash was touched by withdrawals: %d", got)
		}
		for _, c := range []struct {
			id   bursar.OrderID
			want []bursar.EventType
		}{
			{ok.ID, []bursar.EventType{bursar.EventWithdrawalProcessing, bursar.EventWithdrawalSucceeded}},
			{bad.ID, []bursar.EventType{bursar.EventWithdrawalProcessing, bursar.EventWithdrawalFailed}},
			{big.ID, []bursar.EventType{bursar.EventWithdrawalRequested, bursar.EventWithdrawalFailed}},
		} {
			if got := eventTypes(t, w.bundle, c.id); !slices.Equal(got, c.want) {
				t.Errorf("events of withdrawal %s: %v, want %v", c.id, got, c.want)
			}
		}
	})
}

func TestForgedNotifications(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withChannels(t, db)
		for _, tc := range []struct {
			name bursar.Channel
			in   channel.Inbound
		}{
			{bursar.ChannelAlipay, channel.Inbound{Body: []byte("trade_status=TRADE_SUCCESS&out_trade_no=1&total_amount=1.00&sign=AAAA")}},
			{bursar.ChannelAlipay, channel.Inbound{Body: []byte("\xff\x00garbage")}},
			{bursar.ChannelWeChat, channel.Inbound{Header: map[string][]string{"Wechatpay-Signature": {"AAAA"}}, Body: []byte(`{"id":"x"}`)}},
		} {
			a := w.accept(tc.name, tc.in)
			if a.Status == http.StatusNoContent || string(a.Body) == "success" {
				t.Errorf("%s took a forged notification: %d %q", tc.name, a.Status, a.Body)
			}
		}
		if got := w.balance(t, bursar.ChannelAccount(bursar.ChannelAlipay)); got != 0 {
			t.Errorf("a forged notification moved money: %d", got)
		}
	})
}

// resign re-signs an Alipay notification with the sandbox gateway's own
// key after changing fields: what a compromised or buggy channel could
// send, and the only way a validly signed wrong amount can arrive.
func (w *channelWorld) resign(t *testing.T, in channel.Inbound, set map[string]string) channel.Inbound {
	t.Helper()
	form, err := url.ParseQuery(string(in.Body))
	must(t, err)
	for k, v := range set {
		form.Set(k, v)
	}
	form.Del("sign")
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(form)) {
		if k != "sign_type" {
			parts = append(parts, k+"="+form.Get(k))
		}
	}
	keys, err := sandboxKeys()
	must(t, err)
	pemBytes, err := os.ReadFile(filepath.Join(keys, "alipay", "sandbox_alipay_private_key.pem"))
	must(t, err)
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatal("the sandbox key is not PEM")
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		key = k.(*rsa.PrivateKey)
	} else {
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		must(t, err)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "&")))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	must(t, err)
	form.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return channel.Inbound{Header: in.Header, Body: []byte(form.Encode())}
}

func TestSignedButWrongNotifications(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withChannels(t, db)
		paid := w.buy(t, w.session)
		w.startPaying(t, paid, channel.AlipayQR)
		w.buyerPays(t, paid, bursar.ChannelAlipay)
		w.waitStatus(t, paid.ID, bursar.OrderPaid)
		genuine := w.lastReceived(t, bursar.ChannelAlipay)
		// The re-signing itself is sound: an unchanged copy is taken.
		if a := w.accept(bursar.ChannelAlipay, w.resign(t, genuine, nil)); string(a.Body) != "success" {
			t.Fatalf("a re-signed copy of a genuine notification was answered %q", a.Body)
		}

		other := w.buy(t, w.course)
		w.startPaying(t, other, channel.AlipayQR)
		for _, tc := range []struct {
			name string
			set  map[string]string
		}{
			{"a smaller amount for an order", map[string]string{"out_trade_no": other.No, "total_amount": "0.01"}},
			{"an order that does not exist", map[string]string{"out_trade_no": "20260101000000", "total_amount": "88.88"}},
		} {
			if a := w.accept(bursar.ChannelAlipay, w.resign(t, genuine, tc.set)); string(a.Body) == "success" {
				t.Errorf("%s was taken", tc.name)
			}
		}
		if got := w.order(t, other.ID).Status; got != bursar.OrderPending {
			t.Errorf("the order is %s after a wrong-amount notification", got)
		}
		// A right one for an order Bursar never sent to Alipay is the
		// channel's word all the same: money arrived, and is never dropped.
		unsent := w.buy(t, w.session)
		if a := w.accept(bursar.ChannelAlipay, w.resign(t, genuine, map[string]string{"out_trade_no": unsent.No})); string(a.Body) != "success" {
			t.Errorf("a payment for an order never sent to Alipay was answered %q", a.Body)
		}
		if got := w.order(t, unsent.ID); got.Status != bursar.OrderPaid || got.Channel != bursar.ChannelAlipay {
			t.Errorf("an order paid at Alipay by the buyer's own doing is %s by %s", got.Status, got.Channel)
		}
		if got := w.balance(t, bursar.ChannelAccount(bursar.ChannelAlipay)); got != -1990*2 {
			t.Errorf("channel:alipay = %d, want -3980: a wrong notification moved money", got)
		}
		var rejected int
		for _, n := range w.notices(t, other.No) {
			if n.Outcome == bursar.NoticeRejected && n.Detail != "" && len(n.Body) > 0 {
				rejected++
			}
		}
		if rejected != 1 {
			t.Errorf("%d rejected notices stored for the wrong amount, want 1 with its reason and body", rejected)
		}
	})
}

func TestConfirmChannelPayment(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withChannels(t, db)
		ctx := context.Background()
		// The client pays at the channel by itself, with the order number as
		// out_trade_no, as seed 2's apps do, then reports it.
		appPays := func(o bursar.Order, amount bursar.Amount) {
			t.Helper()
			_, err := w.deps.Channels[bursar.ChannelWeChat].Pay(ctx, channel.PayRequest{OrderNo: o.No,
				Amount: bursar.Money{Amount: amount, Currency: bursar.CNY}, Subject: o.Subject, Method: channel.WeChatNative,
				ExpiresAt: o.ExpiresAt, NotifyURL: w.srv.URL + "/elsewhere"})
			must(t, err)
			w.buyerPays(t, o, bursar.ChannelWeChat)
		}

		o := w.buy(t, w.course)
		if _, err := w.orders.ConfirmChannelPayment(ctx, w.buyer, o.ID, bursar.ChannelWeChat); bursar.ErrorCode(err) != bursar.NotFound {
			t.Errorf("a report of a payment the channel never saw: %v", err)
		}
		appPays(o, 8888)
		got, err := w.orders.ConfirmChannelPayment(ctx, w.buyer, o.ID, bursar.ChannelWeChat)
		must(t, err)
		if got.Status != bursar.OrderPaid || got.Channel != bursar.ChannelWeChat {
			t.Errorf("after a confirmed report: %s by %s", got.Status, got.Channel)
		}
		if again, err := w.orders.ConfirmChannelPayment(ctx, w.buyer, o.ID, bursar.ChannelWeChat); err != nil || again.Status != bursar.OrderPaid {
			t.Errorf("a repeated report: %v, %v", again.Status, err)
		}

		short := w.buy(t, w.session) // the course is owned now
		appPays(short, 1)
		if _, err := w.orders.ConfirmChannelPayment(ctx, w.buyer, short.ID, bursar.ChannelWeChat); bursar.ErrorCode(err) != bursar.Invalid {
			t.Errorf("a payment of 0.01 for a 19.90 order: %v", err)
		}
		if got := w.order(t, short.ID); got.Status != bursar.OrderPending {
			t.Errorf("the underpaid order is %s", got.Status)
		}
		if ps, err := w.orders.Payments(ctx, w.platform, short.ID); err != nil || len(ps) != 1 || ps[0].Status != bursar.PaymentMismatch {
			t.Errorf("the underpaid payment: %+v, %v; want one in mismatch", ps, err)
		}
		if _, err := w.orders.ConfirmChannelPayment(ctx, w.seller, short.ID, bursar.ChannelWeChat); err == nil {
			t.Error("the seller confirmed the buyer's payment") // only parties see it; the check is the channel's word anyway
		}
		if got := w.balance(t, bursar.ChannelAccount(bursar.ChannelWeChat)); got != -8888 {
			t.Errorf("channel:wechat = %d, want -8888", got)
		}

		// Reported after the order closed: the payment is not dropped, the
		// order re-opens as paid. (The underpaid order closes meanwhile: its
		// mismatched payment keeps nothing open.)
		late := w.buy(t, w.session)
		w.clock.Advance(31 * time.Minute)
		w.waitStatus(t, late.ID, bursar.OrderClosed)
		w.waitStatus(t, short.ID, bursar.OrderClosed)
		appPays(late, 1990)
		got, err = w.orders.ConfirmChannelPayment(ctx, w.buyer, late.ID, bursar.ChannelWeChat)
		must(t, err)
		if got.Status != bursar.OrderPaid {
			t.Errorf("a late reported payment left the order %s", got.Status)
		}

		// Paid from the wallet, then paid again at the channel by the app:
		// the second payment is returned, not dropped.
		twice := w.buy(t, w.session)
		w.fund(t, "buyer", bursar.AccountUserCash, 1990)
		_, err = w.orders.PayWithWallet(ctx, w.buyer, twice.ID, pin)
		must(t, err)
		appPays(twice, 1990)
		got, err = w.orders.ConfirmChannelPayment(ctx, w.buyer, twice.ID, bursar.ChannelWeChat)
		must(t, err)
		if got.Channel != bursar.ChannelWallet {
			t.Errorf("the order paid twice is now by %s", got.Channel)
		}
		eventually(t, "the second payment to be returned", func() bool {
			w.clock.Advance(time.Minute) // WeChat's refund notification went to the app: Bursar asks again
			w.runJobs(t)
			ps, err := w.orders.Payments(ctx, w.platform, twice.ID)
			must(t, err)
			return len(ps) == 1 && ps[0].Status == bursar.PaymentReturned
		})
	})
}

func TestPayWithChannelChecksItsInputFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db store.DB) {
		w := withChannels(t, db)
		ctx := context.Background()
		o := w.buy(t, w.session)
		for _, tc := range []struct {
			m   channel.Method
			opt service.PayOptions
		}{
			{channel.WeChatJSAPI, service.PayOptions{}},
			{channel.WeChatH5, service.PayOptions{ClientIP: ""}},
			{channel.WeChatH5, service.PayOptions{ClientIP: "not-an-ip"}},
			{"paypal", service.PayOptions{}},
		} {
			if _, _, err := w.orders.PayWithChannel(ctx, w.buyer, o.ID, tc.m, tc.opt); bursar.ErrorCode(err) != bursar.Invalid {
				t.Errorf("%s with %+v: %v, want invalid", tc.m, tc.opt, err)
			}
		}
		if ps, err := w.orders.Payments(ctx, w.platform, o.ID); err != nil || len(ps) != 0 {
			t.Errorf("bad payment input left payments behind: %+v, %v", ps, err)
		}
		// And a good one still goes through.
		if _, pay, err := w.orders.PayWithChannel(ctx, w.buyer, o.ID, channel.WeChatH5, service.PayOptions{ClientIP: "203.0.113.9"}); err != nil || pay.URL == "" {
			t.Errorf("an H5 payment with an address: %+v, %v", pay, err)
		}
	})
}
