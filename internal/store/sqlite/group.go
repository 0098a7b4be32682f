package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Group commit. With synchronous=FULL every commit waits for the disk, so
// one write transaction per commit caps a process at a couple of thousand
// writes a second however fast each one is. SQLite has one writer anyway,
// so InTx hands its work to a single committer goroutine instead: it takes
// every transaction that is waiting, runs each inside its own SAVEPOINT of
// one database transaction, and commits them together.
//
// Nothing is weakened. Each InTx still returns only after its work is on
// disk; the transactions still run one after another, each seeing the
// writes of those before it, exactly as they would one commit at a time;
// one that fails is rolled back to its savepoint and leaves no trace. If
// the batch as a whole fails (its commit, or a statement that makes SQLite
// abandon the transaction), the work of its members was never committed, so
// each is run again in a transaction of its own, which the contract allows
// (store.DB.InTx: fn may run more than once) and which pins the failure on
// the one that caused it.

// maxBatch bounds a batch, and so how long its first member waits for the
// commit behind the last.
const maxBatch = 64

// errClosed answers work handed to a closed database.
var errClosed = &bursar.Error{Code: bursar.Unavailable, Message: "The database is closed."}

type work struct {
	ctx  context.Context
	fn   func(store.Tx) error
	err  error
	pnc  any // a panic of fn, raised again in the caller's goroutine
	done chan struct{}
}

// committer runs write transactions for one DB, batched.
type committer struct {
	db    *sql.DB
	stmts *stmtCache
	queue chan *work
	stop  chan struct{}
	wg    sync.WaitGroup

	// mu orders queueing before closing: do queues under a read lock, and
	// close sets closed under the write lock, so nothing is queued after
	// the loop's last drain.
	mu     sync.RWMutex
	closed bool

	batches  atomic.Int64 // transactions committed with more than one member
	failNext atomic.Bool  // tests: the next batch fails as a whole before its commit
}

func newCommitter(db *sql.DB) *committer {
	c := &committer{db: db, stmts: newStmtCache(db), queue: make(chan *work, 4*maxBatch), stop: make(chan struct{})}
	c.wg.Go(c.loop)
	return c
}

// do runs fn in a write transaction and returns once it is committed or
// rolled back.
func (c *committer) do(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &work{ctx: ctx, fn: fn, done: make(chan struct{})}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errClosed
	}
	select {
	case c.queue <- w:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued the work may run at any moment, so the caller waits for
	// its outcome even if ctx ends: returning early would leave it unknown
	// whether the work committed.
	<-w.done
	if w.pnc != nil {
		panic(w.pnc)
	}
	return w.err
}

// close stops the committer after the work already queued.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.stop)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *committer) loop() {
	batch := make([]*work, 0, maxBatch)
	for {
		select {
		case w := <-c.queue:
			batch = append(batch[:0], w)
		case <-c.stop:
			c.drain()
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case w := <-c.queue:
				batch = append(batch, w)
			default:
				break fill
			}
		}
		c.run(batch)
	}
}

// drain answers what was queued before close.
func (c *committer) drain() {
	for {
		select {
		case w := <-c.queue:
			c.run([]*work{w})
		default:
			return
		}
	}
}

// run commits a batch, or, when the batch as a whole fails, each of its
// members alone.
func (c *committer) run(batch []*work) {
	if len(batch) == 1 || c.runBatch(batch) != nil {
		for _, w := range batch {
			w.err, w.pnc = nil, nil
			c.runAlone(w)
		}
	}
	for _, w := range batch {
		close(w.done)
	}
}

// runAlone runs w in a transaction of its own, as InTx did before batching.
func (c *committer) runAlone(w *work) {
	if err := w.ctx.Err(); err != nil {
		w.err = err
		return
	}
	sqlTx, err := c.db.BeginTx(w.ctx, nil)
	if err != nil {
		w.err = translate(fmt.Errorf("begin: %w", err))
		return
	}
	if w.call(&tx{tx: prepared{tx: sqlTx, stmts: c.stmts}}); w.err != nil || w.pnc != nil {
		_ = sqlTx.Rollback() // the error that matters is fn's
		return
	}
	if err := sqlTx.Commit(); err != nil {
		w.err = translate(fmt.Errorf("commit: %w", err))
	}
}

// runBatch runs every member in a savepoint of one transaction and commits
// it. It returns an error, having rolled everything back, when the batch
// itself failed rather than one of its members.
func (c *committer) runBatch(batch []*work) error {
	// The batch outlives any one request, so it runs on a context of its
	// own, and its members' statements may not be cut short by theirs: an
	// interrupted write makes SQLite roll back the whole transaction.
	ctx := context.Background()
	sqlTx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.err = err
			continue
		}
		if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT work"); err != nil {
			_ = sqlTx.Rollback()
			return err
		}
		w.call(&tx{tx: prepared{tx: sqlTx, stmts: c.stmts, uncancelled: true}})
		if w.err != nil || w.pnc != nil {
			if _, err := sqlTx.ExecContext(ctx, "ROLLBACK TO work"); err != nil {
				_ = sqlTx.Rollback()
				return err
			}
		}
		if _, err := sqlTx.ExecContext(ctx, "RELEASE work"); err != nil {
			_ = sqlTx.Rollback()
			return err
		}
	}
	if c.failNext.CompareAndSwap(true, false) {
		_ = sqlTx.Rollback()
		return errors.New("batch failed on purpose")
	}
	if err := sqlTx.Commit(); err != nil {
		return err
	}
	c.batches.Add(1)
	return nil
}

// call runs w's fn, catching a panic so that the batch can go on and the
// caller can raise it again.
func (w *work) call(t store.Tx) {
	defer func() {
		if p := recover(); p != nil {
			w.pnc = p
		}
	}()
	w.err = w.fn(t)
}

// querier is what tx needs of a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
