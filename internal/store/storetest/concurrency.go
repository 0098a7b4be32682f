package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// testConcurrency posts one entry from many goroutines at once, as happens
// when a channel delivers the same notification several times.
func testConcurrency(t *testing.T, h Harness) {
	db := h.Open(t)
	ctx := context.Background()
	const n = 16
	var fresh, replays atomic.Int32
	atOnce(n, func(int) {
		res, err := post(ctx, db, transfer("notify:1", alipay, escrow1, 1990))
		switch {
		case err != nil:
			t.Errorf("post: %v", err)
		case res.Replayed:
			replays.Add(1)
		default:
			fresh.Add(1)
		}
	})
	if fresh.Load() != 1 || replays.Load() != n-1 {
		t.Errorf("%d new and %d replayed posts, want 1 and %d", fresh.Load(), replays.Load(), n-1)
	}
	if b := balance(t, db, escrow1); b != 1990 {
		t.Errorf("escrow = %d, want 1990", b)
	}
	mustVerify(t, db)

	// Entries that name the same new accounts at once all post.
	var wg2 sync.WaitGroup
	for i := range n {
		wg2.Go(func() {
			e := transfer(fmt.Sprintf("first:%d", i), bursar.ChannelAccount(bursar.ChannelWeChat), bursar.UserCashAccount("newcomer"), 10)
			if _, err := post(ctx, db, e); err != nil {
				t.Errorf("post %s: %v", e.Key, err)
			}
		})
	}
	wg2.Wait()
	if b := balance(t, db, bursar.UserCashAccount("newcomer")); b != 10*n {
		t.Errorf("newcomer = %d, want %d", b, 10*n)
	}
	mustVerify(t, db)
}

// testBank is the classic bank test: many goroutines move money between
// accounts at random for a while. Afterwards every acknowledged transfer is
// in the ledger exactly once, every balance is what the acknowledged
// transfers say, no account that may not go negative is below zero, the
// total is unchanged and every invariant holds.
func testBank(t *testing.T, h Harness) {
	db := h.Open(t)
	ctx := context.Background()
	const (
		workers  = 16
		accounts = 50
		initial  = 10_000
	)
	duration := 3 * time.Second
	if testing.Short() {
		duration = time.Second
	}
	ids := []bursar.AccountID{
		bursar.ChannelAccount(bursar.ChannelAlipay), bursar.ChannelAccount(bursar.ChannelWeChat),
		bursar.PlatformAdjustments, bursar.PlatformFees, bursar.PayoutPending,
	}
	for i := len(ids); i < accounts; i++ {
		ids = append(ids, bursar.UserCashAccount(bursar.UserID(fmt.Sprintf("u%02d", i))))
	}
	want := map[bursar.AccountID]bursar.Amount{}
	for _, id := range ids[1:] {
		fund(t, db, id, initial)
		want[id] += initial
		want[bursar.PlatformAdjustments] -= initial
	}
	fundings := int64(len(ids) - 1)

	type ack struct {
		e  bursar.Entry
		id bursar.EntryID
	}
	var (
		mu                sync.Mutex
		acked             []ack
		refused, replayed atomic.Int64
	)
	// The test runs for duration, and on a loaded machine longer, up to a
	// cap, until it has seen enough of both outcomes to mean something.
	deadline, hardDeadline := time.Now().Add(duration), time.Now().Add(duration+30*time.Second)
	var ackedN atomic.Int64
	running := func() bool {
		now := time.Now()
		return now.Before(deadline) || (now.Before(hardDeadline) && (ackedN.Load() < 500 || refused.Load() == 0))
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			var mine []ack
			for n := 0; running(); n++ {
				if len(mine) > 0 && rng.IntN(10) == 0 {
					// A retry of an acknowledged transfer must change nothing.
					a := mine[rng.IntN(len(mine))]
					res, err := post(ctx, db, a.e)
					if err != nil || !res.Replayed || res.ID != a.id {
						t.Errorf("replay of %s = %+v, %v", a.e.Key, res, err)
						return
					}
					replayed.Add(1)
					continue
				}
				from := ids[rng.IntN(len(ids))]
				to := ids[rng.IntN(len(ids))]
				if from == to {
					continue
				}
				e := transfer(fmt.Sprintf("bank:%d:%d", w, n), from, to, bursar.Amount(1+rng.IntN(3000)))
				res, err := post(ctx, db, e)
				switch bursar.ErrorCode(err) {
				case "":
					mine = append(mine, ack{e, res.ID})
					ackedN.Add(1)
				case bursar.InsufficientFunds:
					refused.Add(1)
				default:
					t.Errorf("post %s: %v", e.Key, err)
					return
				}
			}
			mu.Lock()
			acked = append(acked, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d transfers acknowledged, %d refused for insufficient funds, %d replays, in %v or more",
		len(acked), refused.Load(), replayed.Load(), duration)
	if len(acked) < 100 || refused.Load() == 0 {
		t.Errorf("the test exercised too little: %d acknowledged, %d refused", len(acked), refused.Load())
	}

	seen := map[bursar.EntryID]bool{}
	for _, a := range acked {
		p := a.e.Postings
		want[p[0].Account] += p[0].Amount
		want[p[1].Account] += p[1].Amount
		if seen[a.id] {
			t.Errorf("two transfers acknowledged as entry %d", a.id)
		}
		seen[a.id] = true
	}
	var total bursar.Amount
	for _, id := range ids {
		got := balance(t, db, id)
		total += got
		if got != want[id] {
			t.Errorf("%s = %d, want %d from the acknowledged transfers", id, got, want[id])
		}
		if got < 0 && !id.MayGoNegative() {
			t.Errorf("%s = %d is below zero", id, got)
		}
	}
	if total != 0 {
		t.Errorf("balances sum to %d, want 0", total)
	}
	r := verify(t, db)
	if !r.OK() {
		t.Errorf("ledger invariants broken: %v", r.Problems)
	}
	if r.Entries != fundings+int64(len(acked)) {
		t.Errorf("the ledger holds %d entries, want %d fundings + %d acknowledged transfers", r.Entries, fundings, len(acked))
	}
	// Spot-check that each acknowledged entry is stored as it was sent.
	for i, a := range acked {
		if i%50 != 0 {
			continue
		}
		got := getEntry(t, db, a.e.Key)
		if got.ID != a.id || got.Fingerprint() != a.e.Fingerprint() {
			t.Errorf("entry %s stored as %+v, want %+v", a.e.Key, got, a.e)
		}
	}
}
