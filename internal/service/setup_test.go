package service_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// clock is a movable clock for Deps.Now: tests cross the 24 h escrow
// boundary by moving it, never by sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const pin = "246810"

// bundle is a ready marketplace: a platform actor, a buyer with a payment
// password and a seller with a session and a course for sale.
type bundle struct {
	db       store.DB
	clock    *clock
	deps     service.Deps
	auth     *service.Auth
	users    *service.Users
	items    *service.Items
	orders   *service.Orders
	wallets  *service.Wallets
	jobs     *service.Jobs
	platform bursar.Actor
	buyer    bursar.Actor
	seller   bursar.Actor
	session  bursar.Item // 19.90, 24 h window, default hold
	course   bursar.Item // 88.88, 2 h hold
}

func setup(t *testing.T, db store.DB) *bundle {
	t.Helper()
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	d := service.Deps{DB: db, Now: c.Now, Pepper: []byte("a test pepper of at least 32 bytes!"), CommissionBPS: 1000}
	b := &bundle{db: db, clock: c, deps: d, auth: service.NewAuth(d), users: service.NewUsers(d),
		items: service.NewItems(d), orders: service.NewOrders(d), wallets: service.NewWallets(d), jobs: service.NewJobs(d)}
	_, key, err := b.auth.CreatePlatformKey(ctx, "test")
	must(t, err)
	b.platform = bursar.Actor{Credential: key.ID, Kind: bursar.CredentialPlatform}
	for _, u := range []bursar.UserID{"buyer", "seller", "other"} {
		_, err := b.users.Create(ctx, b.platform, service.UserInput{ID: u})
		must(t, err)
		must(t, b.users.SetPassword(ctx, b.platform, u, bursar.SecretPayment, "", pin))
	}
	b.buyer = bursar.Actor{Credential: "tok_b", Kind: bursar.CredentialUser, User: "buyer"}
	b.seller = bursar.Actor{Credential: "tok_s", Kind: bursar.CredentialUser, User: "seller"}
	b.session, err = b.items.Create(ctx, b.platform, bursar.Item{Seller: "seller", Kind: bursar.ItemSession, Title: "24 h chat",
		Price: bursar.Money{Amount: 1990, Currency: bursar.CNY}, Duration: 24 * time.Hour})
	must(t, err)
	b.course, err = b.items.Create(ctx, b.platform, bursar.Item{Seller: "seller", Kind: bursar.ItemCourse, Title: "Go course",
		Price: bursar.Money{Amount: 8888, Currency: bursar.CNY}, Hold: 2 * time.Hour})
	must(t, err)
	t.Cleanup(func() { dbtest.Verify(t, db) })
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fund credits a user's wallet account by an adjustment.
func (b *bundle) fund(t *testing.T, user bursar.UserID, account bursar.AccountKind, amount bursar.Amount) {
	t.Helper()
	_, err := b.wallets.Adjust(context.Background(), b.platform, service.Adjustment{User: user, Account: account, Amount: amount, Reason: "test funds"})
	must(t, err)
}

func (b *bundle) wallet(t *testing.T, user bursar.UserID) service.Wallet {
	t.Helper()
	w, err := b.wallets.Get(context.Background(), b.platform, user)
	must(t, err)
	return w
}

func (b *bundle) buy(t *testing.T, item bursar.Item) bursar.Order {
	t.Helper()
	o, _, err := b.orders.CreatePurchase(context.Background(), b.buyer, service.PurchaseInput{Buyer: "buyer", Item: item.ID})
	must(t, err)
	return o
}

func (b *bundle) runJobs(t *testing.T) int {
	t.Helper()
	n, err := b.jobs.RunDue(context.Background())
	must(t, err)
	return n
}

func (b *bundle) balance(t *testing.T, id bursar.AccountID) bursar.Amount {
	t.Helper()
	var a bursar.Account
	err := b.db.InReadTx(context.Background(), func(tx store.Tx) error {
		var err error
		a, err = tx.AccountGet(context.Background(), id)
		return err
	})
	if bursar.ErrorCode(err) == bursar.NotFound {
		return 0
	}
	must(t, err)
	return a.Balance
}

func (b *bundle) refunds() *service.Refunds { return service.NewRefunds(b.deps) }

// paid buys item as the buyer and pays it from the wallet.
func (b *bundle) paid(t *testing.T, item bursar.Item) bursar.Order {
	t.Helper()
	o, err := b.orders.PayWithWallet(context.Background(), b.buyer, b.buy(t, item).ID, pin)
	must(t, err)
	return o
}
