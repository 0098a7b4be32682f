package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Bench measures posting a two-leg entry, one per transaction, serially and
// from 32 goroutines, between many wallets and with every entry touching one
// shared account: channel:alipay, which is sharded, and platform:adjustments,
// which is not, to show what the sharding buys.
func Bench(b *testing.B, h Harness) {
	const wallets = 1000
	ids := make([]bursar.AccountID, wallets)
	for i := range ids {
		ids[i] = bursar.UserCashAccount(bursar.UserID(fmt.Sprintf("w%04d", i)))
	}
	cases := []struct {
		name string
		pick func(n int64) (from, to bursar.AccountID)
	}{
		{"wallets", func(n int64) (bursar.AccountID, bursar.AccountID) {
			return ids[n%wallets], ids[(n*7+1)%wallets]
		}},
		{"hot-sharded", func(n int64) (bursar.AccountID, bursar.AccountID) {
			return bursar.ChannelAccount(bursar.ChannelAlipay), ids[n%wallets]
		}},
		{"hot-single-row", func(n int64) (bursar.AccountID, bursar.AccountID) {
			return bursar.PlatformAdjustments, ids[n%wallets]
		}},
	}
	for _, c := range cases {
		for _, parallel := range []bool{false, true} {
			name := c.name + "/serial"
			if parallel {
				name = c.name + "/parallel-32"
			}
			b.Run(name, func(b *testing.B) {
				db := h.Open(b)
				ctx := context.Background()
				for _, id := range ids {
					fund(b, db, id, 1_000_000_000)
				}
				var seq atomic.Int64
				postOne := func() {
					n := seq.Add(1)
					from, to := c.pick(n)
					e := transfer(fmt.Sprintf("bench:%d", n), from, to, 1)
					if err := db.InTx(ctx, func(tx store.Tx) error {
						_, err := tx.EntryPost(ctx, e)
						return err
					}); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				if !parallel {
					for b.Loop() {
						postOne()
					}
				} else {
					b.SetParallelism(16) // 16 × GOMAXPROCS (2 here) = 32 goroutines
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							postOne()
						}
					})
				}
				b.StopTimer()
				mustVerify(b, db)
			})
		}
	}
}
