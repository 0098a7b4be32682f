package service_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
)

// BenchmarkPayWithWallet measures the hot path the load issue names: paying
// an existing order from the wallet with the payment password (order state,
// escrow entry, release job and outbox event, committed before it returns),
// from 32 goroutines, on each engine. The orders are made before the timer
// starts, so give -benchtime as a count (say 5000x) to bound the setup.
func BenchmarkPayWithWallet(b *testing.B) {
	for _, engine := range dbtest.Engines {
		for _, clients := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/clients-%d", engine, clients), func(b *testing.B) {
				m := newBenchMarket(b, dbtest.Open(b, engine), 200)
				orders := m.pendingOrders(b, b.N)
				var next atomic.Int64
				pay := func() error {
					o := orders[next.Add(1)-1]
					_, err := m.orders.PayWithWallet(context.Background(), buyerActor(o.Buyer), o.ID, pin)
					return err
				}
				b.ResetTimer()
				cpu := processCPU()
				if clients == 1 {
					for range b.N {
						must(b, pay())
					}
				} else {
					b.SetParallelism(clients / runtime.GOMAXPROCS(0))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := pay(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				b.StopTimer()
				// The machine's load moves ns/op; the CPU this process
				// spent per payment moves only with the code. On SQLite
				// that is all of it; on PostgreSQL the server's is not in it.
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
				dbtest.Verify(b, m.db)
			})
		}
	}
}

// benchMarket is many funded buyers and one seller's item, so that the
// payments contend for rows no more than real ones do.
type benchMarket struct {
	db     store.DB
	orders *service.Orders
	item   bursar.Item
	buyers []bursar.UserID
}

func newBenchMarket(b *testing.B, db store.DB, buyers int) *benchMarket {
	ctx := context.Background()
	d := service.Deps{DB: db, Now: time.Now, Pepper: []byte("a test pepper of at least 32 bytes!"), CommissionBPS: 1000}
	auth, users, wallets := service.NewAuth(d), service.NewUsers(d), service.NewWallets(d)
	_, key, err := auth.CreatePlatformKey(ctx, "bench")
	must(b, err)
	platform := bursar.Actor{Credential: key.ID, Kind: bursar.CredentialPlatform}
	m := &benchMarket{db: db, orders: service.NewOrders(d)}
	_, err = users.Create(ctx, platform, service.UserInput{ID: "seller"})
	must(b, err)
	m.item, err = service.NewItems(d).Create(ctx, platform, bursar.Item{Seller: "seller", Kind: bursar.ItemCourse,
		Title: "Go course", Price: bursar.Money{Amount: 100, Currency: bursar.CNY}})
	must(b, err)
	for i := range buyers {
		id := bursar.UserID(fmt.Sprintf("buyer%04d", i))
		_, err := users.Create(ctx, platform, service.UserInput{ID: id})
		must(b, err)
		must(b, users.SetPassword(ctx, platform, id, bursar.SecretPayment, "", pin))
		_, err = wallets.Adjust(ctx, platform, service.Adjustment{User: id, Account: bursar.AccountUserCash,
			Amount: 100_000_000, Reason: "bench funds"})
		must(b, err)
		m.buyers = append(m.buyers, id)
	}
	return m
}

// pendingOrders makes n orders of the item, spread over the buyers.
func (m *benchMarket) pendingOrders(b *testing.B, n int) []bursar.Order {
	out := make([]bursar.Order, n)
	for i := range out {
		buyer := m.buyers[i%len(m.buyers)]
		o, _, err := m.orders.CreatePurchase(context.Background(), buyerActor(buyer),
			service.PurchaseInput{Buyer: buyer, Item: m.item.ID})
		must(b, err)
		out[i] = o
	}
	return out
}

func buyerActor(u bursar.UserID) bursar.Actor {
	return bursar.Actor{Credential: bursar.CredentialID("tok_" + string(u)), Kind: bursar.CredentialUser, User: u}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
