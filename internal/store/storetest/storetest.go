// Package storetest is the conformance suite for store.DB implementations:
// every engine runs the same tests, so both behave as the service expects
// and return the same bursar.Code for the same failure. When the engines
// disagree, the fix starts with a test here.
//
// Import it only from tests.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Harness is what the suite needs from an engine's test.
type Harness struct {
	// Open returns a new, migrated, empty database, closed when t ends.
	Open func(t testing.TB) store.DB
	// Exec runs a raw SQL statement, for tests that corrupt the database on
	// purpose to see the verification catch it.
	Exec func(t testing.TB, db store.DB, query string)
	// Count runs a raw SQL query that returns one integer, such as
	// count(*), for tests that check how a value was stored.
	Count func(t testing.TB, db store.DB, query string) int64
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	t.Run("ledger", func(t *testing.T) { testLedger(t, h) })
	t.Run("verify", func(t *testing.T) { testVerify(t, h) })
	t.Run("concurrency", func(t *testing.T) { testConcurrency(t, h) })
	t.Run("error sites", func(t *testing.T) { testErrorSites(t, h) })
	t.Run("prefetch", func(t *testing.T) { testPrefetch(t, h) })
	t.Run("bank", func(t *testing.T) { testBank(t, h) })
	t.Run("statements", func(t *testing.T) { testStatements(t, h) })
	t.Run("users", func(t *testing.T) { testUsers(t, h) })
	t.Run("secrets", func(t *testing.T) { testSecrets(t, h) })
	t.Run("credentials", func(t *testing.T) { testCredentials(t, h) })
	t.Run("items", func(t *testing.T) { testItems(t, h) })
	t.Run("orders", func(t *testing.T) { testOrders(t, h) })
	t.Run("order lists", func(t *testing.T) { testOrderList(t, h) })
	t.Run("refunds", func(t *testing.T) { testRefunds(t, h) })
	t.Run("payments", func(t *testing.T) { testPayments(t, h) })
	t.Run("notices", func(t *testing.T) { testNotices(t, h) })
	t.Run("withdrawals", func(t *testing.T) { testWithdrawals(t, h) })
	t.Run("reviews", func(t *testing.T) { testReviews(t, h) })
	t.Run("jobs", func(t *testing.T) { testJobs(t, h) })
	t.Run("idempotency", func(t *testing.T) { testIdempotency(t, h) })
	t.Run("audit", func(t *testing.T) { testAudit(t, h) })
	t.Run("webhooks", func(t *testing.T) { testWebhooks(t, h) })
	t.Run("reconciliation", func(t *testing.T) { testRecon(t, h) })
	t.Run("admin", func(t *testing.T) { testAdmin(t, h) })
	t.Run("ops", func(t *testing.T) { testOps(t, h) })
}

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 123_000_000, time.UTC)

func cny(a bursar.Amount) bursar.Money { return bursar.Money{Amount: a, Currency: bursar.CNY} }

func transfer(key string, from, to bursar.AccountID, amount bursar.Amount) bursar.Entry {
	return bursar.Entry{Key: key, Kind: "test", Postings: bursar.Transfer(from, to, cny(amount)), PostedAt: t0}
}

func post(ctx context.Context, db store.DB, e bursar.Entry) (bursar.PostResult, error) {
	var res bursar.PostResult
	err := db.InTx(ctx, func(tx store.Tx) error {
		var err error
		res, err = tx.EntryPost(ctx, e)
		return err
	})
	return res, err
}

func mustPost(t testing.TB, db store.DB, e bursar.Entry) bursar.PostResult {
	t.Helper()
	res, err := post(context.Background(), db, e)
	if err != nil {
		t.Fatalf("post %s: %v", e.Key, err)
	}
	return res
}

func balance(t testing.TB, db store.DB, id bursar.AccountID) bursar.Amount {
	t.Helper()
	var a bursar.Account
	err := db.InReadTx(context.Background(), func(tx store.Tx) error {
		var err error
		a, err = tx.AccountGet(context.Background(), id)
		return err
	})
	if bursar.ErrorCode(err) == bursar.NotFound {
		return 0
	}
	if err != nil {
		t.Fatalf("AccountGet(%s): %v", id, err)
	}
	return a.Balance
}

func verify(t testing.TB, db store.DB) bursar.LedgerReport {
	t.Helper()
	var r bursar.LedgerReport
	err := db.InReadTx(context.Background(), func(tx store.Tx) error {
		var err error
		r, err = tx.LedgerVerify(context.Background())
		return err
	})
	if err != nil {
		t.Fatalf("LedgerVerify: %v", err)
	}
	return r
}

// mustVerify fails t unless every ledger invariant holds. Every test that
// moves money ends with it.
func mustVerify(t testing.TB, db store.DB) {
	t.Helper()
	if r := verify(t, db); !r.OK() {
		t.Fatalf("ledger invariants broken: %v", r.Problems)
	}
}

// fund gives an account money from the platform's adjustments.
func fund(t testing.TB, db store.DB, id bursar.AccountID, amount bursar.Amount) {
	t.Helper()
	mustPost(t, db, transfer(fmt.Sprintf("fund:%s:%d", id, amount), bursar.PlatformAdjustments, id, amount))
}

func getEntry(t testing.TB, db store.DB, key string) bursar.PostedEntry {
	t.Helper()
	var pe bursar.PostedEntry
	err := db.InReadTx(context.Background(), func(tx store.Tx) error {
		var err error
		pe, err = tx.EntryGet(context.Background(), key)
		return err
	})
	if err != nil {
		t.Fatalf("EntryGet(%s): %v", key, err)
	}
	return pe
}

// cst is China Standard Time: the suite writes times in it to check that
// every engine reads them back as the same instant, in UTC.
var cst = time.FixedZone("CST", 8*60*60)

// readTx returns what fn reads in a read transaction.
func readTx[T any](db store.DB, fn func(tx store.Tx) (T, error)) (T, error) {
	var v T
	err := db.InReadTx(context.Background(), func(tx store.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

// writeTx returns what fn returns in a write transaction.
func writeTx[T any](db store.DB, fn func(tx store.Tx) (T, error)) (T, error) {
	var v T
	err := db.InTx(context.Background(), func(tx store.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

// mustWrite runs fn in a write transaction and stops the test if it fails.
func mustWrite(t testing.TB, db store.DB, fn func(tx store.Tx) error) {
	t.Helper()
	if err := db.InTx(context.Background(), fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// checkUTC reports every time that is not in UTC. The zero time counts as
// UTC, as time.Time{}.Location() says.
func checkUTC(t testing.TB, what string, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if tm.Location() != time.UTC {
			t.Errorf("%s: time %d (%v) is in %v, want UTC", what, i, tm, tm.Location())
		}
	}
}

// wantCode reports err unless its code is want.
func wantCode(t testing.TB, what string, err error, want bursar.Code) {
	t.Helper()
	if got := bursar.ErrorCode(err); got != want {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, want)
	}
}

// newUser is a user created at t0.
func newUser(id bursar.UserID) bursar.User {
	return bursar.User{ID: id, DisplayName: "User " + string(id), CreatedAt: t0, UpdatedAt: t0}
}

// mustUsers stores users with the given IDs.
func mustUsers(t testing.TB, db store.DB, ids ...bursar.UserID) {
	t.Helper()
	mustWrite(t, db, func(tx store.Tx) error {
		for _, id := range ids {
			if err := tx.UserInsert(context.Background(), newUser(id)); err != nil {
				return err
			}
		}
		return nil
	})
}

// atOnce runs fn(0) … fn(n-1) in goroutines released together, so that they
// contend, and waits for all of them.
func atOnce(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// oneWins runs fn from n goroutines released together, as atOnce does, and
// fails t unless exactly one call succeeds and every other is refused with
// bursar.WrongState. what names the call in failures.
func oneWins(t *testing.T, n int, what string, fn func(i int) error) {
	t.Helper()
	var wins, losses atomic.Int32
	atOnce(n, func(i int) {
		switch err := fn(i); bursar.ErrorCode(err) {
		case "":
			wins.Add(1)
		case bursar.WrongState:
			losses.Add(1)
		default:
			t.Errorf("%s: %v", what, err)
		}
	})
	if wins.Load() != 1 || losses.Load() != int32(n-1) {
		t.Errorf("%d calls of %s won and %d lost, want 1 and %d", wins.Load(), what, losses.Load(), n-1)
	}
}
