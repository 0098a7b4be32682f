package service

import (
	"cmp"
	"context"
	"sync"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// Confirm is the buyer's confirmation that a paid purchase is done: the
// escrow is released to the seller at once and a session's window ends.
// bursar.WrongState unless the order is paid (a refund request must be
// decided first).
func (s *Orders) Confirm(ctx context.Context, actor bursar.Actor, id bursar.OrderID) (bursar.Order, error) {
	var o bursar.Order
	err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		var err error
		if o, err = visibleOrder(ctx, tx, actor, id, true); err != nil {
			return err
		}
		if !actor.MaySee(o.Buyer) {
			return notFound("order", id) // only the buyer confirms
		}
		if o.Status != bursar.OrderPaid {
			return bursar.OrderWrongState(o, "confirmed")
		}
		now := s.deps.now()
		if o.Duration > 0 && o.AccessUntil.After(now) {
			o.AccessUntil = now // confirming ends the chat window
		}
		if err := s.release(ctx, tx, &o, now); err != nil {
			return err
		}
		return tx.JobCancel(ctx, bursar.JobRelease, string(o.ID))
	})
	return o, err
}

// release moves a paid order's escrow to the seller's earnings, less the
// platform's commission, and completes the order. The caller holds the
// order's row lock; the entry key makes a second release impossible even so.
func (s *Orders) release(ctx context.Context, tx store.Tx, o *bursar.Order, now time.Time) error {
	held := o.Escrowed()
	fee := bursar.Commission(held, s.deps.CommissionBPS)
	escrow := bursar.EscrowAccount(o.ID)
	var postings []bursar.Posting
	if held-fee > 0 {
		postings = append(postings, bursar.Transfer(escrow, bursar.UserEarningsAccount(o.Seller), money(held-fee, *o))...)
	}
	if fee > 0 {
		postings = append(postings, bursar.Transfer(escrow, bursar.PlatformFees, money(fee, *o))...)
	}
	if len(postings) > 0 {
		e := bursar.Entry{Key: "release:" + string(o.ID), Kind: "release", Ref: string(o.ID), Postings: postings, PostedAt: now}
		if _, err := tx.EntryPost(ctx, e); err != nil {
			return err
		}
	}
	from := o.Status
	o.Status, o.Fee = bursar.OrderCompleted, fee
	o.CompletedAt, o.UpdatedAt = now, now
	return saveOrder(ctx, tx, *o, from)
}

// Jobs runs the work that is due: escrow releases and the closing of unpaid
// orders. Several processes may run it against one database: each job is
// claimed under a row lock that others skip, and its work is idempotent.
type Jobs struct {
	deps   Deps
	orders *Orders
	// Jobs that call a channel run on their own goroutines, at most
	// cap(remote) at once, so a slow or hung channel delays no release.
	remote   chan struct{}
	inFlight sync.WaitGroup
}

// remoteWorkers bounds the channel calls jobs make at once.
const remoteWorkers = 8

// NewJobs returns the job runner.
func NewJobs(d Deps) *Jobs {
	return &Jobs{deps: d, orders: NewOrders(d), remote: make(chan struct{}, remoteWorkers)}
}

// RunDue runs the jobs that are due and waits for them: DispatchDue, then
// Wait.
func (j *Jobs) RunDue(ctx context.Context) (int, error) {
	n, err := j.DispatchDue(ctx)
	j.Wait()
	return n, err
}

// Wait waits for the channel jobs DispatchDue started.
func (j *Jobs) Wait() { j.inFlight.Wait() }

// DispatchDue runs jobs that are due, one transaction each, until none is
// left or ctx ends, and returns how many it started. Jobs that call a
// channel are leased and handed to a worker, so DispatchDue may return
// before they finish (see Wait). A job that fails is retried later with
// backoff; its error is logged, not returned.
func (j *Jobs) DispatchDue(ctx context.Context) (int, error) {
	ran := 0
	for ctx.Err() == nil {
		var job bursar.Job
		var found, remote bool
		var jobErr error
		err := j.deps.DB.InTx(ctx, func(tx store.Tx) error {
			now := j.deps.now()
			jobs, err := tx.JobClaimDue(ctx, now, 1)
			if err != nil || len(jobs) == 0 {
				found = false
				return err
			}
			job, found = jobs[0], true
			if remote = isRemote(job.Kind); remote {
				select {
				case j.remote <- struct{}{}:
				default:
					// Every worker is busy (a slow channel): put the job
					// off a little rather than wait, so releases and
					// expiries go on.
					remote = false
					return tx.JobSchedule(ctx, job.Kind, job.Ref, now.Add(busyDelay))
				}
				// A channel call must not hold a transaction open (on
				// SQLite it would stop every write), so the job is leased:
				// moved past the call's time, and run after commit by the
				// worker reserved above. If this process dies, another runs
				// it when the lease ends.
				return tx.JobSchedule(ctx, job.Kind, job.Ref, now.Add(jobLease))
			}
			var moved bool
			if moved, jobErr = j.run(ctx, tx, job, now); jobErr != nil || moved {
				return jobErr
			}
			return tx.JobDone(ctx, job.ID)
		})
		if found && remote {
			if err != nil {
				<-j.remote // the lease was not taken: free the worker
				return ran, err
			}
			// Once started, the channel call runs to its end (the
			// channel client's timeout bounds it) even when ctx ends:
			// shutdown stops new jobs and waits for this one.
			work := context.WithoutCancel(ctx)
			j.inFlight.Go(func() {
				defer func() { <-j.remote }()
				if err := j.runRemoteSafely(work, job); err != nil {
					j.retry(work, job, err)
				}
			})
			ran++
			continue
		}
		switch {
		case !found:
			return ran, err
		case jobErr != nil:
			j.retry(ctx, job, jobErr)
		case err != nil:
			return ran, err
		}
		ran++
	}
	return ran, ctx.Err()
}

func (j *Jobs) retry(ctx context.Context, job bursar.Job, jobErr error) {
	backoff := min(time.Minute<<min(job.Attempts, 10), 6*time.Hour)
	runAt := j.deps.now().Add(backoff)
	j.deps.log().ErrorContext(ctx, "job failed", "kind", job.Kind, "ref", job.Ref, "attempt", job.Attempts+1,
		"retry_at", runAt, "err", jobErr)
	err := j.deps.DB.InTx(ctx, func(tx store.Tx) error {
		return tx.JobRetry(ctx, job.ID, runAt, jobErr.Error())
	})
	if err != nil {
		j.deps.log().ErrorContext(ctx, "job retry not recorded", "kind", job.Kind, "ref", job.Ref, "err", err)
	}
}

// run does one job's work inside the claiming transaction. It reports moved
// when it rescheduled the job instead of finishing it.
func (j *Jobs) run(ctx context.Context, tx store.Tx, job bursar.Job, now time.Time) (moved bool, err error) {
	o, err := tx.OrderGetForUpdate(ctx, bursar.OrderID(job.Ref))
	if bursar.ErrorCode(err) == bursar.NotFound {
		return false, nil // nothing left to do
	}
	if err != nil {
		return false, err
	}
	switch job.Kind {
	case bursar.JobRelease:
		switch {
		case o.Status != bursar.OrderPaid:
			return false, nil // confirmed, refunded or paused by a refund request, whose outcome reschedules
		case now.Before(o.ReleaseAt):
			return true, tx.JobSchedule(ctx, bursar.JobRelease, job.Ref, o.ReleaseAt)
		}
		return false, j.orders.release(ctx, tx, &o, now)
	case bursar.JobExpire:
		if o.Status != bursar.OrderPending || now.Before(o.ExpiresAt) {
			return false, nil
		}
		if pending, err := pendingPayments(ctx, tx, o.ID); err != nil || len(pending) > 0 {
			// Close it at the channels first, or the buyer could still pay.
			return false, cmp.Or(err, tx.JobSchedule(ctx, bursar.JobChannelClose, job.Ref, now))
		}
		o.Status, o.UpdatedAt = bursar.OrderClosed, now
		return false, saveOrder(ctx, tx, o, bursar.OrderPending)
	}
	// A kind this version does not know, from a newer process on the same
	// database: leave it for that one.
	return true, tx.JobSchedule(ctx, job.Kind, job.Ref, now.Add(time.Hour))
}
