package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/store"
)

func claim(t testing.TB, db store.DB, now time.Time, limit int) []bursar.Job {
	t.Helper()
	jobs, err := writeTx(db, func(tx store.Tx) ([]bursar.Job, error) { return tx.JobClaimDue(context.Background(), now, limit) })
	if err != nil {
		t.Fatalf("JobClaimDue: %v", err)
	}
	return jobs
}

// refs returns each job's "kind:ref@minutes past t0".
func refs(jobs []bursar.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, string(j.Kind)+":"+j.Ref+"@"+j.RunAt.Sub(t0).String())
	}
	return out
}

func testJobs(t *testing.T, h Harness) {
	ctx := context.Background()
	schedule := func(t *testing.T, db store.DB, kind bursar.JobKind, ref string, runAt time.Time) {
		t.Helper()
		mustWrite(t, db, func(tx store.Tx) error { return tx.JobSchedule(ctx, kind, ref, runAt) })
	}

	t.Run("scheduling twice keeps one job and moves it", func(t *testing.T) {
		db := h.Open(t)
		schedule(t, db, bursar.JobRelease, "o1", t0.Add(time.Hour))
		schedule(t, db, bursar.JobRelease, "o1", t0.Add(time.Hour))
		if n := h.Count(t, db, `SELECT count(*) FROM jobs`); n != 1 {
			t.Errorf("%d jobs after scheduling one twice, want 1", n)
		}
		schedule(t, db, bursar.JobRelease, "o1", t0.Add(2*time.Hour).In(cst))
		if got := claim(t, db, t0.Add(time.Hour), 10); len(got) != 0 {
			t.Errorf("at the old time JobClaimDue = %v, want nothing: the job moved", refs(got))
		}
		got := claim(t, db, t0.Add(2*time.Hour), 10)
		if diff := cmp.Diff([]string{"release:o1@2h0m0s"}, refs(got)); diff != "" {
			t.Errorf("JobClaimDue at the new time (-want +got):\n%s", diff)
		}
		for _, j := range got {
			checkUTC(t, "Job.RunAt", j.RunAt)
		}
		schedule(t, db, bursar.JobExpire, "o1", t0)
		if n := h.Count(t, db, `SELECT count(*) FROM jobs`); n != 2 {
			t.Errorf("%d jobs after scheduling another kind for the same ref, want 2", n)
		}
	})

	t.Run("due jobs are claimed earliest first, up to the limit", func(t *testing.T) {
		db := h.Open(t)
		schedule(t, db, bursar.JobRelease, "late", t0.Add(3*time.Minute))
		schedule(t, db, bursar.JobRelease, "tie1", t0.Add(time.Minute))
		schedule(t, db, bursar.JobExpire, "tie2", t0.Add(time.Minute))
		schedule(t, db, bursar.JobExpire, "first", t0)
		schedule(t, db, bursar.JobRelease, "future", t0.Add(time.Hour))
		now := t0.Add(3 * time.Minute)
		want := []string{"expire:first@0s", "release:tie1@1m0s", "expire:tie2@1m0s", "release:late@3m0s"}
		if diff := cmp.Diff(want, refs(claim(t, db, now, 10))); diff != "" {
			t.Errorf("JobClaimDue (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want[:2], refs(claim(t, db, now, 2))); diff != "" {
			t.Errorf("JobClaimDue with limit 2 (-want +got):\n%s", diff)
		}
		_, err := writeTx(db, func(tx store.Tx) ([]bursar.Job, error) { return tx.JobClaimDue(ctx, now, 0) })
		wantCode(t, "JobClaimDue with limit 0", err, bursar.Invalid)
	})

	t.Run("retry counts the attempt and moves the job; done and cancel remove it", func(t *testing.T) {
		db := h.Open(t)
		schedule(t, db, bursar.JobRelease, "o1", t0)
		schedule(t, db, bursar.JobRelease, "o2", t0)
		schedule(t, db, bursar.JobExpire, "o3", t0)
		jobs := claim(t, db, t0, 10)
		if len(jobs) != 3 {
			t.Fatalf("claimed %v, want 3 jobs", refs(jobs))
		}
		mustWrite(t, db, func(tx store.Tx) error {
			if err := tx.JobRetry(ctx, jobs[0].ID, t0.Add(time.Minute), "channel down"); err != nil {
				return err
			}
			if err := tx.JobDone(ctx, jobs[1].ID); err != nil {
				return err
			}
			return tx.JobCancel(ctx, bursar.JobExpire, "o3")
		})
		if got := claim(t, db, t0, 10); len(got) != 0 {
			t.Errorf("JobClaimDue right after = %v, want nothing", refs(got))
		}
		got := claim(t, db, t0.Add(time.Minute), 10)
		want := []bursar.Job{{ID: jobs[0].ID, Kind: bursar.JobRelease, Ref: "o1", RunAt: t0.Add(time.Minute), Attempts: 1}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("JobClaimDue after the retry (-want +got):\n%s", diff)
		}
		if n := h.Count(t, db, `SELECT count(*) FROM jobs WHERE last_error = 'channel down'`); n != 1 {
			t.Errorf("the retried job's last error is not stored")
		}
		// Gone jobs stay gone: finishing, retrying or cancelling them again is no error.
		mustWrite(t, db, func(tx store.Tx) error {
			if err := tx.JobDone(ctx, jobs[1].ID); err != nil {
				return err
			}
			if err := tx.JobRetry(ctx, jobs[1].ID, t0, "again"); err != nil {
				return err
			}
			return tx.JobCancel(ctx, bursar.JobExpire, "o3")
		})
		if n := h.Count(t, db, `SELECT count(*) FROM jobs`); n != 1 {
			t.Errorf("%d jobs, want the retried one alone", n)
		}
	})

	t.Run("lag is how late the earliest due job is", func(t *testing.T) {
		db := h.Open(t)
		type lag struct {
			Lag time.Duration
			Due int
		}
		measure := func(now time.Time) lag {
			t.Helper()
			var l lag
			err := db.InReadTx(ctx, func(tx store.Tx) error {
				var err error
				l.Lag, l.Due, err = tx.JobLag(ctx, now)
				return err
			})
			if err != nil {
				t.Fatalf("JobLag: %v", err)
			}
			return l
		}
		if got := measure(t0); got != (lag{}) {
			t.Errorf("JobLag with no jobs = %+v, want zero", got)
		}
		schedule(t, db, bursar.JobRelease, "o1", t0.Add(time.Minute))
		schedule(t, db, bursar.JobRelease, "o2", t0.Add(3*time.Minute))
		schedule(t, db, bursar.JobRelease, "o3", t0.Add(time.Hour))
		tests := []struct {
			now  time.Time
			want lag
		}{
			{t0, lag{}},
			{t0.Add(time.Minute), lag{0, 1}},
			{t0.Add(5 * time.Minute).In(cst), lag{4 * time.Minute, 2}},
			{t0.Add(2 * time.Hour), lag{2*time.Hour - time.Minute, 3}},
		}
		for _, tt := range tests {
			if got := measure(tt.now); got != tt.want {
				t.Errorf("JobLag(t0+%v) = %+v, want %+v", tt.now.Sub(t0), got, tt.want)
			}
		}
	})

	if db := h.Open(t); db.Engine() == "postgres" {
		t.Run("a claim skips jobs another transaction holds", func(t *testing.T) { testJobSkipLocked(t, db) })
	}
}

// testJobSkipLocked holds a claim open in one transaction while another
// claims: the second gets only what the first did not take, and waits for
// nothing.
func testJobSkipLocked(t *testing.T, db store.DB) {
	ctx := context.Background()
	mustWrite(t, db, func(tx store.Tx) error {
		for _, ref := range []string{"o1", "o2", "o3"} {
			if err := tx.JobSchedule(ctx, bursar.JobRelease, ref, t0); err != nil {
				return err
			}
		}
		return nil
	})
	claimed, release, done := make(chan []bursar.Job), make(chan struct{}), make(chan error)
	go func() {
		done <- db.InTx(ctx, func(tx store.Tx) error {
			jobs, err := tx.JobClaimDue(ctx, t0, 2)
			claimed <- jobs
			if err != nil {
				return err
			}
			<-release
			for _, j := range jobs {
				if err := tx.JobDone(ctx, j.ID); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	first := <-claimed
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	second, err := writeTx(db, func(tx store.Tx) ([]bursar.Job, error) { return tx.JobClaimDue(waitCtx, t0, 10) })
	cancel()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first claim: %v", err)
	}
	if err != nil {
		t.Fatalf("second claim: %v", err)
	}
	if diff := cmp.Diff([]string{"release:o1@0s", "release:o2@0s"}, refs(first)); diff != "" {
		t.Errorf("first claim (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"release:o3@0s"}, refs(second)); diff != "" {
		t.Errorf("second claim while the first is open (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"release:o3@0s"}, refs(claim(t, db, t0, 10))); diff != "" {
		t.Errorf("after the first claim finished its jobs (-want +got):\n%s", diff)
	}
}
