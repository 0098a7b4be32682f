package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/store/dbtest"
	"bursar.dev/bursar/internal/store/sqlite"
)

// Each member of a batch must come out as if it had run alone: the ones
// that succeed are committed, the ones that fail or panic leave nothing
// behind, and a member whose caller gave up before it ran does not run.
func TestGroupCommitMembersAreIsolated(t *testing.T) {
	db := open(t).(*sqlite.DB)
	ctx := context.Background()

	var wg sync.WaitGroup
	release := hold(db, &wg)

	const members = 40
	type outcome struct {
		err error
		pnc any
	}
	outcomes := make([]outcome, members)
	cancelled, cancel := context.WithCancel(ctx)
	for i := range members {
		wg.Go(func() {
			defer func() { outcomes[i].pnc = recover() }()
			c := ctx
			if i%10 == 9 {
				c = cancelled
			}
			outcomes[i].err = db.InTx(c, func(tx store.Tx) error {
				if _, err := tx.EntryPost(c, member(i)); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return errors.New("refused after writing")
				case 7:
					panic(fmt.Sprintf("member %d panics after writing", i))
				}
				return nil
			})
		})
	}
	waitFor(t, func() bool { return db.Queued() == members })
	cancel() // the members with the cancelled context are queued, not yet run
	close(release)
	wg.Wait()

	if db.Batches() != 1 {
		t.Errorf("the %d queued transactions took %d batched commits, want 1", members, db.Batches())
	}
	for i, o := range outcomes {
		var wantErr, wantPanic, wantStored bool
		switch i % 10 {
		case 3:
			wantErr = true
		case 7:
			wantPanic = true
		case 9:
			wantErr = true
			if !errors.Is(o.err, context.Canceled) {
				t.Errorf("member %d: got %v, want context.Canceled", i, o.err)
			}
		default:
			wantStored = true
		}
		if (o.err != nil) != wantErr || (o.pnc != nil) != wantPanic {
			t.Errorf("member %d: err %v, panic %v; want error %v, panic %v", i, o.err, o.pnc, wantErr, wantPanic)
		}
		if got := stored(t, db, i); got != wantStored {
			t.Errorf("member %d: entry stored = %v, want %v", i, got, wantStored)
		}
	}
	dbtest.Verify(t, db)
}

// When a batch fails as a whole, none of it was committed, and each member
// is run again in a transaction of its own.
func TestGroupCommitFailedBatchRunsEachAlone(t *testing.T) {
	db := open(t).(*sqlite.DB)
	ctx := context.Background()
	var wg sync.WaitGroup
	release := hold(db, &wg)

	const members = 10
	var mu sync.Mutex
	runs := map[int]int{}
	errs := make([]error, members)
	for i := range members {
		wg.Go(func() {
			errs[i] = db.InTx(ctx, func(tx store.Tx) error {
				mu.Lock()
				runs[i]++
				mu.Unlock()
				if i == 4 {
					return errors.New("refused")
				}
				_, err := tx.EntryPost(ctx, member(i))
				return err
			})
		})
	}
	waitFor(t, func() bool { return db.Queued() == members })
	db.FailNextBatch()
	close(release)
	wg.Wait()

	for i := range members {
		if want := i != 4; (errs[i] == nil) != want {
			t.Errorf("member %d: err %v, want success %v", i, errs[i], want)
		}
		if runs[i] != 2 {
			t.Errorf("member %d ran %d times, want 2 (in the failed batch, then alone)", i, runs[i])
		}
		if got, want := stored(t, db, i), i != 4; got != want {
			t.Errorf("member %d: entry stored = %v, want %v", i, got, want)
		}
	}
	if db.Batches() != 0 {
		t.Errorf("%d batches committed, want 0", db.Batches())
	}
	dbtest.Verify(t, db)
}

// Close answers what is queued and refuses what comes after.
func TestGroupCommitAfterClose(t *testing.T) {
	db := open(t).(*sqlite.DB)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err := db.InTx(context.Background(), func(store.Tx) error { return nil })
	if bursar.ErrorCode(err) != bursar.Unavailable {
		t.Errorf("InTx after Close: %v, want code %s", err, bursar.Unavailable)
	}
}

// hold starts a transaction that keeps the committer busy until release is
// closed, so that the transactions queued meanwhile land in one batch.
func hold(db store.DB, wg *sync.WaitGroup) (release chan struct{}) {
	release = make(chan struct{})
	holding := make(chan struct{})
	wg.Go(func() {
		_ = db.InTx(context.Background(), func(store.Tx) error {
			close(holding)
			<-release
			return nil
		})
	})
	<-holding
	return release
}

func member(i int) bursar.Entry {
	return bursar.Entry{Key: fmt.Sprintf("member:%d", i), Kind: "test", PostedAt: time.Now(),
		Postings: bursar.Transfer(bursar.PlatformAdjustments, bursar.UserCashAccount(bursar.UserID(fmt.Sprintf("u%d", i))),
			bursar.Money{Amount: 100, Currency: bursar.CNY})}
}

func stored(t *testing.T, db store.DB, i int) bool {
	t.Helper()
	err := db.InReadTx(context.Background(), func(tx store.Tx) error {
		_, err := tx.EntryGet(context.Background(), member(i).Key)
		return err
	})
	if bursar.ErrorCode(err) == bursar.NotFound {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}
