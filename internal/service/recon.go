package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/store"
	"bursar.dev/bursar/internal/wire"
)

// Recon reconciles the channels' daily bills against Bursar's records: it
// downloads a day's bill, matches it line by line with the payments,
// refunds and returned duplicates Bursar booked at that channel, stores the
// run and every disagreement, and raises a reconciliation.mismatch event for
// each. It only reads money: exceptions are resolved by people, with a
// recorded action.
type Recon struct {
	deps Deps
	jobs *Jobs
}

// NewRecon returns the reconciliation use cases.
func NewRecon(d Deps) *Recon { return &Recon{deps: d, jobs: NewJobs(d)} }

// edgeWindow is how near midnight a record of Bursar's must be for its
// absence from the bill to be checked with the channel first: Bursar may
// have learnt of a payment or refund a little after the channel's midnight
// (or the channel's clock may be a little off), so it is on the
// neighbouring day's bill.
const edgeWindow = time.Hour

// progressEvery is how many bill lines pass between progress reports.
const progressEvery = 500

// billPublishedBy is how long after a day ends (Beijing time) the channels
// have surely published its bill: both publish by 10:00.
const billPublishedBy = 12 * time.Hour

// Run reconciles a channel's bill for a day (Beijing time; any time of the
// day names it). It answers bursar.NotFound, storing nothing, when the
// channel has no bill for the day yet; a bill that cannot be downloaded or
// read ends in a run stored as failed, returned with the error. progress,
// when not nil, is told how many bill lines are matched of how many.
// Platform only.
func (s *Recon) Run(ctx context.Context, actor bursar.Actor, name bursar.Channel, day time.Time,
	progress func(done, total int)) (bursar.ReconRun, []bursar.ReconException, error) {
	if err := platformOnly(actor); err != nil {
		return bursar.ReconRun{}, nil, err
	}
	if err := s.checkDay(name, day); err != nil {
		return bursar.ReconRun{}, nil, err
	}
	return s.run(ctx, actorName(actor), name, beijingDay(day), progress)
}

func (s *Recon) checkDay(name bursar.Channel, day time.Time) error {
	if _, ok := s.deps.Channels[name]; !ok || name == bursar.ChannelWallet {
		var names []string
		for n := range s.deps.Channels {
			names = append(names, string(n))
		}
		slices.Sort(names)
		return bursar.InvalidParam("channel", "The channel %q has no bill on this server; reconcile one of: %s.",
			name, strings.Join(names, ", "))
	}
	if day.IsZero() || beijingDay(day).After(beijingDay(s.deps.now())) {
		return bursar.InvalidParam("date", "A reconciliation is of a day that has begun (Beijing time), as yyyy-MM-dd.")
	}
	return nil
}

func (s *Recon) run(ctx context.Context, by string, name bursar.Channel, day time.Time,
	progress func(done, total int)) (bursar.ReconRun, []bursar.ReconException, error) {
	ch, err := s.deps.channel(name)
	if err != nil {
		return bursar.ReconRun{}, nil, err
	}
	// The bill comes first: a day whose bill is not published yet leaves
	// no run behind, so the daily job asking every hour fills no list.
	data, downloadErr := ch.Bill(ctx, day)
	noTrades := false
	if bursar.ErrorCode(downloadErr) == bursar.NotFound {
		if s.deps.now().Before(day.AddDate(0, 0, 1).Add(billPublishedBy)) {
			return bursar.ReconRun{}, nil, fmt.Errorf("%w: %w", bursar.Errorf(bursar.NotFound,
				"%s has no bill for %s yet; channels publish a day's bill the next morning.", name, wire.Date(day)), downloadErr)
		}
		// Past the publishing time, no bill means no trades: the channels
		// answer a day without any the same way as one not yet published.
		// Whatever Bursar booked that day is then missing at the channel.
		noTrades, downloadErr = true, nil
	}
	run := bursar.ReconRun{ID: bursar.ReconRunID(newID("rcn_")), Channel: name, Day: day, Status: bursar.ReconRunning,
		StartedBy: by, StartedAt: s.deps.now()}
	if err := s.deps.DB.InTx(ctx, func(tx store.Tx) error { return tx.ReconRunInsert(ctx, run) }); err != nil {
		return bursar.ReconRun{}, nil, err
	}
	if downloadErr != nil {
		return s.fail(ctx, run, downloadErr)
	}
	bill := channel.Bill{Day: day}
	if !noTrades {
		bill, err = ch.ParseBill(day, data)
	}
	if err != nil {
		// The file is the channel's, not the caller's: a bill that does not
		// parse is the channel failing, whatever code the parser gave it.
		return s.fail(ctx, run, fmt.Errorf("%w: %w", bursar.Errorf(bursar.ChannelFailed, "%s's bill for %s does not parse: %s",
			name, wire.Date(day), bursar.ErrorMessage(err)), err))
	}
	m := &matching{recon: s, ch: ch, run: &run, start: day, end: day.AddDate(0, 0, 1)}
	if err := m.match(ctx, bill, progress); err != nil {
		return s.fail(ctx, run, err)
	}
	excs, err := s.finish(ctx, &run, m.exceptions)
	if err != nil {
		return s.fail(ctx, run, err)
	}
	return run, excs, nil
}

// fail records why a run failed and returns it with the error, even when
// ctx has ended (a shutdown), so no run is left running for ever.
func (s *Recon) fail(ctx context.Context, run bursar.ReconRun, cause error) (bursar.ReconRun, []bursar.ReconException, error) {
	ctx = context.WithoutCancel(ctx)
	run.Status, run.FinishedAt, run.Error = bursar.ReconFailed, s.deps.now(), cause.Error()
	if err := s.deps.DB.InTx(ctx, func(tx store.Tx) error { return tx.ReconRunUpdate(ctx, run) }); err != nil {
		return run, nil, fmt.Errorf("%w (and the run was not marked failed: %w)", cause, err)
	}
	return run, nil, cause
}

// finish stores the run's outcome in one transaction: its exceptions, with
// the resolutions of the same disagreements in earlier runs of the channel
// and day carried over; the earlier runs' open exceptions superseded; the
// run's counts; an event for each exception that still needs someone.
func (s *Recon) finish(ctx context.Context, run *bursar.ReconRun, found []bursar.ReconException) ([]bursar.ReconException, error) {
	var excs []bursar.ReconException
	var done bursar.ReconRun
	err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		now := s.deps.now()
		done = *run
		done.Status, done.FinishedAt = bursar.ReconDone, now
		resolved, err := s.resolvedBefore(ctx, tx, run.Channel, run.Day)
		if err != nil {
			return err
		}
		excs = slices.Clone(found)
		for i := range excs {
			e := &excs[i]
			e.ID, e.Run, e.Channel, e.Day, e.Status, e.CreatedAt = bursar.ReconExceptionID(newID("rex_")), run.ID, run.Channel, run.Day, bursar.ReconOpen, now
			if p, ok := resolved[e.Key()]; ok {
				e.Status, e.Action, e.Note, e.ResolvedBy, e.ResolvedAt, e.CarriedFrom = bursar.ReconResolved, p.Action, p.Note, p.ResolvedBy, p.ResolvedAt, p.ID
			}
			if err := tx.ReconExceptionInsert(ctx, *e); err != nil {
				return err
			}
			if e.Status == bursar.ReconOpen {
				data, err := json.Marshal(wire.ReconExceptionOf(*e))
				if err != nil {
					return err
				}
				if err := emit(ctx, tx, bursar.Event{Type: bursar.EventReconciliationMismatch, Subject: string(run.ID), Data: data, At: now}); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ReconExceptionSupersede(ctx, run.Channel, run.Day, run.ID); err != nil {
			return err
		}
		return tx.ReconRunUpdate(ctx, done)
	})
	if err != nil {
		return nil, err
	}
	*run = done
	return excs, nil
}

// resolvedBefore returns the newest resolution of each disagreement in
// earlier runs of a channel and day, by key.
func (s *Recon) resolvedBefore(ctx context.Context, tx store.Tx, name bursar.Channel, day time.Time) (map[string]bursar.ReconException, error) {
	out := map[string]bursar.ReconException{}
	f := bursar.ReconExceptionFilter{Channel: name, Day: day, Status: bursar.ReconResolved, Limit: 1000}
	for {
		list, more, err := tx.ReconExceptionList(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if _, seen := out[e.Key()]; !seen { // newest first: the first is the latest word
				out[e.Key()] = e
			}
		}
		if !more {
			return out, nil
		}
		f.Before = list[len(list)-1].ID
	}
}

// Get returns a run with its exceptions in bill order. Platform only.
func (s *Recon) Get(ctx context.Context, actor bursar.Actor, id bursar.ReconRunID) (bursar.ReconRun, []bursar.ReconException, error) {
	if !actor.IsPlatform() {
		return bursar.ReconRun{}, nil, notFound("reconciliation", id)
	}
	var run bursar.ReconRun
	var excs []bursar.ReconException
	err := s.deps.read(ctx, func(tx store.Tx) error {
		var err error
		if run, err = tx.ReconRunGet(ctx, id); err != nil {
			return err
		}
		excs = nil
		f := bursar.ReconExceptionFilter{Run: id, Limit: 1000}
		for {
			list, more, err := tx.ReconExceptionList(ctx, f)
			if err != nil {
				return err
			}
			excs = append(excs, list...)
			if !more {
				return nil
			}
			f.Before = list[len(list)-1].ID
		}
	})
	if bursar.ErrorCode(err) == bursar.NotFound {
		return bursar.ReconRun{}, nil, notFound("reconciliation", id)
	}
	return run, excs, err
}

// List returns runs, newest first, and whether there are more. Platform
// only.
func (s *Recon) List(ctx context.Context, actor bursar.Actor, f bursar.ReconRunFilter) ([]bursar.ReconRun, bool, error) {
	if err := platformOnly(actor); err != nil {
		return nil, false, err
	}
	if f.Limit == 0 {
		f.Limit = 20
	}
	var runs []bursar.ReconRun
	var more bool
	err := s.deps.read(ctx, func(tx store.Tx) error {
		var err error
		runs, more, err = tx.ReconRunList(ctx, f)
		return err
	})
	return runs, more, err
}

// Exceptions returns exceptions, newest first (a run's in bill order), and
// whether there are more. Platform only.
func (s *Recon) Exceptions(ctx context.Context, actor bursar.Actor, f bursar.ReconExceptionFilter) ([]bursar.ReconException, bool, error) {
	if err := platformOnly(actor); err != nil {
		return nil, false, err
	}
	if f.Status != "" && !slices.Contains([]bursar.ReconExceptionStatus{bursar.ReconOpen, bursar.ReconResolved, bursar.ReconSuperseded}, f.Status) {
		return nil, false, bursar.InvalidParam("status", "An exception's status is open, resolved or superseded.")
	}
	if f.Kind != "" && !slices.Contains(bursar.ReconKinds, f.Kind) {
		return nil, false, bursar.InvalidParam("kind", "An exception's kind is missing_ours, missing_theirs, amount_mismatch or status_mismatch.")
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	var excs []bursar.ReconException
	var more bool
	err := s.deps.read(ctx, func(tx store.Tx) error {
		var err error
		excs, more, err = tx.ReconExceptionList(ctx, f)
		return err
	})
	return excs, more, err
}

// Resolve records what was done about an open exception: accept (explained,
// nothing to change), sync (the channel is asked about the payment or
// refund again and its answer applied through the path its notifications
// take; what that did is added to the note) or adjusted (money was put
// right by a wallet adjustment the note names). The note is required. It
// writes the audit log. bursar.WrongState unless the exception is open.
// Platform only.
func (s *Recon) Resolve(ctx context.Context, actor bursar.Actor, id bursar.ReconExceptionID, action bursar.ReconAction,
	note string) (bursar.ReconException, error) {
	if !actor.IsPlatform() {
		return bursar.ReconException{}, notFound("reconciliation exception", id)
	}
	if !slices.Contains(bursar.ReconActions, action) {
		return bursar.ReconException{}, bursar.InvalidParam("action", "An action is accept, sync or adjusted.")
	}
	if err := bursar.ValidateReconNote(note); err != nil {
		return bursar.ReconException{}, err
	}
	var e bursar.ReconException
	err := s.deps.read(ctx, func(tx store.Tx) error {
		var err error
		e, err = tx.ReconExceptionGet(ctx, id)
		return err
	})
	if bursar.ErrorCode(err) == bursar.NotFound {
		return e, notFound("reconciliation exception", id)
	}
	if err != nil {
		return e, err
	}
	if e.Status != bursar.ReconOpen {
		return e, bursar.Errorf(bursar.WrongState, "The reconciliation exception %s is already %s.", id, e.Status)
	}
	if action == bursar.ReconSync {
		outcome, err := s.sync(ctx, e)
		if err != nil {
			return e, err
		}
		note += " [sync: " + outcome + "]"
	}
	err = s.deps.DB.InTx(ctx, func(tx store.Tx) error {
		now := s.deps.now()
		e.Status, e.Action, e.Note, e.ResolvedBy, e.ResolvedAt = bursar.ReconResolved, action, note, actorName(actor), now
		if err := tx.ReconExceptionResolve(ctx, e); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "reconciliation."+string(action), string(id),
			fmt.Sprintf("%s %s %s of %s: %s", e.Channel, e.Kind, e.OrderNo+e.RefundNo, wire.Date(e.Day), note), now)
	})
	return e, err
}

// sync asks the channel about an exception's payment or refund and applies
// the answer as a notification would, and says what that did.
func (s *Recon) sync(ctx context.Context, e bursar.ReconException) (string, error) {
	ch, err := s.deps.channel(e.Channel)
	if err != nil {
		return "", err
	}
	var res settled
	if e.RefundNo != "" {
		cr, err := ch.QueryRefund(ctx, e.OrderNo, e.RefundNo)
		if bursar.ErrorCode(err) == bursar.NotFound {
			return "", bursar.Errorf(bursar.WrongState, "%s has no refund %s, so syncing changes nothing; "+
				"resolve with accept or adjusted once the difference is explained.", e.Channel, e.RefundNo)
		}
		if err != nil {
			return "", err
		}
		cr.OrderNo, cr.RefundNo = e.OrderNo, e.RefundNo
		err = s.deps.DB.InTx(ctx, func(tx store.Tx) error {
			res, err = settleRefund(ctx, tx, e.Channel, cr, s.deps.now())
			return err
		})
		if err != nil {
			return "", err
		}
	} else {
		t, err := ch.Query(ctx, e.OrderNo)
		if bursar.ErrorCode(err) == bursar.NotFound {
			return "", bursar.Errorf(bursar.WrongState, "%s has no payment for %s, so syncing changes nothing; "+
				"resolve with accept or adjusted once the difference is explained.", e.Channel, e.OrderNo)
		}
		if err != nil {
			return "", err
		}
		err = s.deps.DB.InTx(ctx, func(tx store.Tx) error {
			res, err = s.jobs.orders.settlePayment(ctx, tx, e.Channel, t, s.deps.now())
			return err
		})
		if err != nil {
			return "", err
		}
	}
	return string(res.outcome) + ", " + res.detail, nil
}

// reconHour is when the daily reconciliation runs, Beijing time: the
// channels publish the previous day's bills from about 9:00 (WeChat Pay
// says 10:00 for the complete file).
const reconHour = 10

// nextReconAt is the next daily reconciliation time after now.
func nextReconAt(now time.Time) time.Time {
	at := beijingDay(now).Add(reconHour * time.Hour)
	if !now.Before(at) {
		at = at.AddDate(0, 0, 1)
	}
	return at.UTC()
}

// Schedule makes sure each configured channel has its daily reconciliation
// job: at the next reconHour, or now if yesterday's bill has not been
// reconciled and today's time has passed. Safe to call at every start, from
// every process: a channel has one job, which this moves.
func (s *Recon) Schedule(ctx context.Context) error {
	for name := range s.deps.Channels {
		now := s.deps.now()
		at := nextReconAt(now)
		if beijingDay(now).Add(reconHour * time.Hour).Before(now) {
			done, err := s.doneRun(ctx, name, beijingDay(now).AddDate(0, 0, -1))
			if err != nil {
				return err
			}
			if !done {
				at = now
			}
		}
		if err := s.deps.DB.InTx(ctx, func(tx store.Tx) error {
			return tx.JobSchedule(ctx, bursar.JobRecon, string(name), at)
		}); err != nil {
			return err
		}
	}
	return nil
}

// doneRun reports whether a channel's day has a finished run.
func (s *Recon) doneRun(ctx context.Context, name bursar.Channel, day time.Time) (bool, error) {
	var runs []bursar.ReconRun
	err := s.deps.read(ctx, func(tx store.Tx) error {
		var err error
		runs, _, err = tx.ReconRunList(ctx, bursar.ReconRunFilter{Channel: name, Day: day, Status: bursar.ReconDone, Limit: 1})
		return err
	})
	return len(runs) > 0, err
}

// reconcile is the daily job of a channel: it reconciles yesterday's bill
// (Beijing time) unless that was done, then waits for the next day. A bill
// not published yet is asked for again in an hour; a failure is retried
// with the jobs' backoff. A process without the channel leaves the job for
// one that has it: several processes share the job, and their
// configurations may differ while one is being rolled out.
func (j *Jobs) reconcile(ctx context.Context, name bursar.Channel) (time.Time, error) {
	if _, ok := j.deps.Channels[name]; !ok {
		return j.deps.now().Add(time.Hour), nil
	}
	r := &Recon{deps: j.deps, jobs: j}
	now := j.deps.now()
	day := beijingDay(now).AddDate(0, 0, -1)
	done, err := r.doneRun(ctx, name, day)
	if err != nil {
		return time.Time{}, err
	}
	if !done {
		_, _, err := r.run(ctx, "system", name, day, nil)
		if bursar.ErrorCode(err) == bursar.NotFound {
			return j.deps.now().Add(time.Hour), nil
		}
		if err != nil {
			return time.Time{}, err
		}
	}
	return nextReconAt(j.deps.now()), nil
}
