package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Pipelining. A wallet payment is a score of statements, and each one sent
// alone costs a network round trip: a write and a wake-up on both sides,
// which on a small machine cost more CPU than PostgreSQL spends running the
// statement. So a transaction's statements travel together where they can:
//
//   - BEGIN goes with the first statement, and COMMIT with the writes still
//     queued at the end;
//   - in a write transaction, writes that return nothing the caller needs
//     (a job scheduled, an order's new state, a balance credited) are
//     queued and sent in one pipeline with the next statement that reads,
//     or with the COMMIT.
//
// A queued write's error would reach its caller late, at a different call,
// where code that handles that error (an order that changed under it, an
// account that does not exist yet) could not see it. So each queued write
// says what it must do, usually change exactly one row, and when any of
// them fails or does something else the transaction is abandoned and run
// again from the start with every write sent on its own: the caller then
// meets each error where it belongs. The contract already allows a
// transaction to run more than once (store.DB.InTx).

// errEager abandons a pipelined transaction so that it runs again with its
// writes sent one by one.
var errEager = errors.New("a pipelined write did not do what it expected; running the transaction again unpipelined")

// conn runs one transaction's statements on a pooled connection.
type conn struct {
	c         *pgxpool.Conn
	pipelined bool
	begun     bool // BEGIN has been sent
	queue     pgx.Batch
	checks    []func(pgconn.CommandTag) bool // of the queued statements, in order
	failed    error                          // a queued write went wrong; every later statement fails with it
	// read ahead by prefetch, by query and arguments, until the next write
	ahead map[string]aheadRow
}

func newConn(c *pgxpool.Conn, begin string, pipelined bool) *conn {
	cn := &conn{c: c, pipelined: pipelined}
	cn.queue.Queue(begin)
	cn.checks = append(cn.checks, nil)
	return cn
}

// later queues a write when the transaction is pipelined, reporting queued,
// and runs it at once otherwise. ok says whether the write did what it
// should (nil: any outcome without an error will do); when it did not, the
// transaction runs again unpipelined. Run at once, the write's outcome goes
// to the caller, whose code judges it as it always did.
func (c *conn) later(ctx context.Context, ok func(pgconn.CommandTag) bool, sql string, args ...any) (tag pgconn.CommandTag, queued bool, err error) {
	if !c.pipelined {
		tag, err = c.Exec(ctx, sql, args...)
		return tag, false, err
	}
	clear(c.ahead)
	if c.failed != nil {
		return tag, false, c.failed
	}
	c.queue.Queue(sql, args...)
	c.checks = append(c.checks, ok)
	return tag, true, nil
}

// send sends the queued statements, with one more queued after them when
// the caller has added it, and checks the queued ones' results. The
// returned results are positioned at the caller's statement; the caller
// closes them.
func (c *conn) send(ctx context.Context, extra bool) (pgx.BatchResults, error) {
	if c.failed != nil {
		return nil, c.failed
	}
	// The results read the batch as they go, so it must outlive them.
	batch, checks := c.queue, c.checks
	c.queue, c.checks, c.begun = pgx.Batch{}, nil, true
	results := c.c.SendBatch(ctx, &batch)
	for _, ok := range checks {
		tag, err := results.Exec()
		if err == nil && ok != nil && !ok(tag) {
			err = fmt.Errorf("%q changed %d rows", tag.String(), tag.RowsAffected())
		}
		if err != nil {
			_ = results.Close() // PostgreSQL skipped the rest after the error
			if c.pipelined {
				c.failed = fmt.Errorf("%w: %w", errEager, err)
				return nil, c.failed
			}
			return nil, err // only BEGIN is ever queued unpipelined
		}
	}
	if !extra {
		return nil, results.Close()
	}
	return results, nil
}

// Exec runs a statement whose outcome the caller needs now.
func (c *conn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	clear(c.ahead)
	c.queue.Queue(sql, args...)
	results, err := c.send(ctx, true)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := results.Exec()
	if cerr := results.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query runs a query, sending the queued statements with it.
func (c *conn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.queue.Queue(sql, args...)
	results, err := c.send(ctx, true)
	if err != nil {
		return nil, err
	}
	rows, err := results.Query()
	if err != nil {
		_ = results.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, results: results}, nil
}

// QueryRow runs a query for one row, sending the queued statements with it,
// or answers it from what prefetch read.
func (c *conn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if len(c.ahead) > 0 {
		k := aheadKey(sql, args)
		if r, ok := c.ahead[k]; ok {
			delete(c.ahead, k)
			return r
		}
	}
	c.queue.Queue(sql, args...)
	results, err := c.send(ctx, true)
	if err != nil {
		return errRow{err}
	}
	return batchRow{results}
}

type query struct {
	sql  string
	args []any
}

// prefetch runs queries for one row each, with the queued statements, and
// keeps their rows for the QueryRow calls that ask the same (see
// store.Tx.Prefetch). Any write forgets them: it may change what they read.
func (c *conn) prefetch(ctx context.Context, qs []query) error {
	if len(qs) == 0 {
		return nil
	}
	for _, q := range qs {
		c.queue.Queue(q.sql, q.args...)
	}
	results, err := c.send(ctx, true)
	if err != nil {
		return err
	}
	if c.ahead == nil {
		c.ahead = map[string]aheadRow{}
	}
	for _, q := range qs {
		rows, err := results.Query()
		if err != nil {
			_ = results.Close()
			return err
		}
		r := aheadRow{types: c.c.Conn().TypeMap(), err: pgx.ErrNoRows}
		if rows.Next() {
			r.fields, r.err = slices.Clone(rows.FieldDescriptions()), nil
			for _, v := range rows.RawValues() {
				r.values = append(r.values, slices.Clone(v)) // the buffers are reused; NULL stays nil
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			_ = results.Close()
			return err
		}
		c.ahead[aheadKey(q.sql, q.args)] = r
	}
	return results.Close()
}

func aheadKey(sql string, args []any) string {
	return fmt.Sprintf("%s\x00%v", sql, args)
}

// aheadRow is a row read by prefetch, scanned when it is asked for.
type aheadRow struct {
	types  *pgtype.Map
	fields []pgconn.FieldDescription
	values [][]byte
	err    error
}

func (r aheadRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return pgx.ScanRow(r.types, r.fields, r.values, dest...)
}

// commit sends COMMIT with the queued writes.
func (c *conn) commit(ctx context.Context) error {
	if !c.begun && c.queue.Len() == 1 {
		return nil // nothing was ever sent, not even BEGIN
	}
	for _, ok := range c.checks {
		if ok != nil {
			// A write whose outcome is checked must be seen before COMMIT
			// is sent: PostgreSQL would commit after a write that changed
			// no row, which is no error to it.
			if _, err := c.send(ctx, false); err != nil {
				return err
			}
			break
		}
	}
	c.queue.Queue("COMMIT")
	results, err := c.send(ctx, true)
	if err != nil {
		return err
	}
	tag, err := results.Exec()
	if cerr := results.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() != "COMMIT" {
		// PostgreSQL answers ROLLBACK to the COMMIT of a failed transaction.
		err = pgx.ErrTxCommitRollback
	}
	return err
}

// rollback ends a transaction that was begun. A connection left inside
// one, because even this failed, is closed when it goes back to the pool.
func (c *conn) rollback(ctx context.Context) {
	if c.begun {
		_, _ = c.c.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
}

// batchRows closes the pipeline's results with the rows, and as soon as
// the rows run out, so that a caller that reads to the end frees the
// connection even before it closes them.
type batchRows struct {
	pgx.Rows
	results pgx.BatchResults
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	_ = r.results.Close()
	return false
}

func (r *batchRows) Close() {
	r.Rows.Close()
	_ = r.results.Close()
}

// batchRow reads one row of the pipeline's last statement and closes its
// results.
type batchRow struct{ results pgx.BatchResults }

func (r batchRow) Scan(dest ...any) error {
	err := r.results.QueryRow().Scan(dest...)
	if cerr := r.results.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// oneRow is the check of a write that must change exactly one row.
func oneRow(tag pgconn.CommandTag) bool { return tag.RowsAffected() == 1 }
