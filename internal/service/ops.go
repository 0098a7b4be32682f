package service

import (
	"context"
	"fmt"
	"slices"
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

// DefaultMaxJobLag is how late the earliest due job may be before a
// process stops calling itself ready.
const DefaultMaxJobLag = 5 * time.Minute

// readyTimeout bounds all the readiness checks together, so a load
// balancer's probe gets an answer even from a database that hangs.
const readyTimeout = 3 * time.Second

// Ops answers operators' questions about the running service: may it take
// traffic, and what do the figures say. It reads the database, not this
// process's memory, so every process of a deployment gives the same answer.
type Ops struct {
	deps      Deps
	maxJobLag time.Duration
}

// NewOps returns the operators' use cases. Readiness fails when the
// earliest due job is more than maxJobLag late; zero turns that check off.
func NewOps(d Deps, maxJobLag time.Duration) *Ops {
	return &Ops{deps: d, maxJobLag: maxJobLag}
}

// The readiness checks, by name.
const (
	CheckDatabase   = "database"   // the database answers
	CheckMigrations = "migrations" // every migration this binary knows is applied
	CheckJobs       = "jobs"       // the earliest due job is not too late
)

// Readiness is the outcome of the readiness checks: each check's name and
// "ok", or what is wrong in words an operator reads.
type Readiness struct {
	Ready  bool
	Checks map[string]string
}

// Ready runs the readiness checks. It fails no check for a reason a client
// caused, so it returns no error: what a check found is in its words, and
// the cause of a failed check is logged.
func (o *Ops) Ready(ctx context.Context) Readiness {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	r := Readiness{Ready: true, Checks: map[string]string{}}
	fail := func(check, why string) {
		r.Ready = false
		r.Checks[check] = why
	}
	if err := o.deps.DB.Ping(ctx); err != nil {
		o.deps.log().WarnContext(ctx, "not ready: the database does not answer", "err", err)
		fail(CheckDatabase, "unreachable")
		fail(CheckMigrations, "not checked")
		fail(CheckJobs, "not checked")
		return r
	}
	r.Checks[CheckDatabase] = "ok"

	switch n, err := o.deps.DB.MigrationsPending(ctx); {
	case err != nil:
		o.deps.log().WarnContext(ctx, "not ready: migrations not checked", "err", err)
		fail(CheckMigrations, "not checked: the database did not answer")
	case n > 0:
		fail(CheckMigrations, fmt.Sprintf("%d pending", n))
	default:
		r.Checks[CheckMigrations] = "ok"
	}

	if o.maxJobLag <= 0 {
		r.Checks[CheckJobs] = "ok (not checked)"
		return r
	}
	var lag time.Duration
	var due int
	err := o.deps.read(ctx, func(tx store.Tx) (err error) {
		lag, due, err = tx.JobLag(ctx, o.deps.now())
		return err
	})
	switch {
	case err != nil:
		o.deps.log().WarnContext(ctx, "not ready: job lag not measured", "err", err)
		fail(CheckJobs, "not checked: the database did not answer")
	case lag > o.maxJobLag:
		fail(CheckJobs, fmt.Sprintf("lag %s, %d due", lag.Round(time.Second), due))
	default:
		r.Checks[CheckJobs] = "ok"
	}
	return r
}

// Stats reads the figures operators watch, at this moment, from the
// database. Channel names are the known ones or "other", so what reaches
// a metric label is a short fixed list.
func (o *Ops) Stats(ctx context.Context) (bursar.OpsStats, error) {
	var s bursar.OpsStats
	err := o.deps.read(ctx, func(tx store.Tx) (err error) {
		s, err = tx.OpsStats(ctx, o.deps.now())
		return err
	})
	if err != nil {
		return bursar.OpsStats{}, err
	}
	s.Payments, s.Refunds, s.Notices = knownChannels(s.Payments), knownChannels(s.Refunds), knownChannels(s.Notices)
	return s, nil
}

// knownChannels renames channels Bursar does not have to "other" and adds
// up the counts that then share a channel and status.
func knownChannels(cs []bursar.StatusCount) []bursar.StatusCount {
	var out []bursar.StatusCount
	for _, c := range cs {
		switch c.Channel {
		case bursar.ChannelWallet, bursar.ChannelAlipay, bursar.ChannelWeChat:
		default:
			c.Channel = "other"
		}
		i := slices.IndexFunc(out, func(o bursar.StatusCount) bool { return o.Channel == c.Channel && o.Status == c.Status })
		if i < 0 {
			out = append(out, c)
			continue
		}
		out[i].Count += c.Count
		out[i].Amount += c.Amount
	}
	return out
}
