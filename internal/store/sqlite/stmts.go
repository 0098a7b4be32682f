package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// Prepared statements. database/sql prepares, runs and throws away a
// statement for every query with arguments, and with modernc.org/sqlite
// parsing the SQL took about a third of a wallet payment's time. So each
// pool keeps the statements its transactions run, prepared once.
//
// A statement cannot be prepared on the pool from inside a transaction: the
// writer pool has one connection, which that transaction holds. So the
// first time a query is seen it runs unprepared, as before, and is prepared
// on the pool in the background; database/sql then prepares it again on
// each connection the first time a transaction there uses it, and reuses
// it after.

// maxStmts bounds the cache: the queries are Bursar's own, a few hundred in
// all, but a few are built from filters and could in principle vary more.
const maxStmts = 1000

type stmtCache struct {
	pool   *sql.DB
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	busy   map[string]bool // being prepared
	closed bool
	wg     sync.WaitGroup // the preparations under way
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}, busy: map[string]bool{}}
}

// lookup returns the prepared statement for query, or nil, having started
// to prepare it, when there is none yet.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[query]; ok {
		return s
	}
	if !c.closed && !c.busy[query] && len(c.m)+len(c.busy) < maxStmts {
		c.busy[query] = true
		c.wg.Go(func() { c.prepare(query) })
	}
	return nil
}

// close starts no more preparations and waits for those under way, which
// would otherwise open connections, and the database's files, after the
// pool is closed.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *stmtCache) prepare(query string) {
	s, err := c.pool.PrepareContext(context.Background(), query) //nolint:sqlclosecheck // kept for the pool's life; closing the pool closes it
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.busy, query)
	if err == nil {
		// A statement that fails to prepare is tried again the next time
		// it is seen; running it unprepared reports the error where it
		// belongs.
		c.m[query] = s
	}
}

// prepared runs a transaction's statements through the cache. With
// uncancelled set it also runs them without their context's cancellation
// (see committer.runBatch).
type prepared struct {
	tx          *sql.Tx
	stmts       *stmtCache
	uncancelled bool
}

func (p prepared) ctx(ctx context.Context) context.Context {
	if p.uncancelled {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// on binds a cached statement to the transaction. database/sql closes it
// when the transaction ends, after any rows it returned.
func (p prepared) on(ctx context.Context, s *sql.Stmt) *sql.Stmt {
	return p.tx.StmtContext(ctx, s) //nolint:sqlclosecheck // see above
}

func (p prepared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = p.ctx(ctx)
	if s := p.stmts.lookup(query); s != nil {
		return p.on(ctx, s).ExecContext(ctx, args...) //nolint:sqlclosecheck // closed with the transaction (see on)
	}
	return p.tx.ExecContext(ctx, query, args...)
}

func (p prepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = p.ctx(ctx)
	if s := p.stmts.lookup(query); s != nil {
		return p.on(ctx, s).QueryContext(ctx, args...) //nolint:sqlclosecheck // closed with the transaction (see on)
	}
	return p.tx.QueryContext(ctx, query, args...)
}

func (p prepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = p.ctx(ctx)
	if s := p.stmts.lookup(query); s != nil {
		return p.on(ctx, s).QueryRowContext(ctx, args...) //nolint:sqlclosecheck // closed with the transaction (see on)
	}
	return p.tx.QueryRowContext(ctx, query, args...)
}
