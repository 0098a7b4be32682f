package ratelimit_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"bursar.dev/bursar/internal/ratelimit"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) move(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestAllow(t *testing.T) {
	type step struct {
		move     time.Duration // before the call
		key      string
		want     bool
		wantWait time.Duration
	}
	tests := []struct {
		name  string
		n     int
		per   time.Duration
		steps []step
	}{
		{"a burst of n passes and the next waits for one token", 3, time.Minute, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0},
			{0, "a", false, 20 * time.Second},
			{5 * time.Second, "a", false, 15 * time.Second},
		}},
		{"a token comes back after per/n", 3, time.Minute, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0},
			{20 * time.Second, "a", true, 0},
			{0, "a", false, 20 * time.Second},
		}},
		{"keys have buckets of their own", 1, time.Hour, []step{
			{0, "a", true, 0}, {0, "a", false, time.Hour}, {0, "b", true, 0}, {0, "b", false, time.Hour},
		}},
		{"a refused try takes nothing", 1, time.Minute, []step{
			{0, "a", true, 0},
			{0, "a", false, time.Minute}, {0, "a", false, time.Minute}, {0, "a", false, time.Minute},
			{time.Minute, "a", true, 0},
		}},
		{"a long idle time refills only up to the burst", 2, time.Minute, []step{
			{24 * time.Hour, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, 30 * time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			l := ratelimit.New(tt.n, tt.per, 0, c.now)
			for i, s := range tt.steps {
				c.move(s.move)
				delay := l.Delay(s.key)
				got, wait := l.Allow(s.key)
				if got != s.want || wait != s.wantWait {
					t.Errorf("step %d: Allow(%q) = %v, %s; want %v, %s", i, s.key, got, wait, s.want, s.wantWait)
				}
				if delay != wait {
					t.Errorf("step %d: Delay(%q) = %s before Allow waited %s", i, s.key, delay, wait)
				}
			}
		})
	}
}

func TestBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	const maxKeys = 64 * 4
	l := ratelimit.New(1, time.Minute, maxKeys, c.now)

	// A flood of new keys, all busy, never grows the table past its bound.
	for i := range 10 * maxKeys {
		if ok, _ := l.Allow(fmt.Sprint("flood", i)); !ok {
			t.Fatalf("a new key was refused")
		}
		if n := l.Len(); n > maxKeys {
			t.Fatalf("%d keys remembered after %d new ones, bound %d", n, i+1, maxKeys)
		}
	}
	// Once their buckets have filled up again, idle keys make way first,
	// all at once: a key new now finds its shard emptied of them, and the
	// keys that come to its shard after it do not push it out until the
	// shard is full of keys in use. Which keys share a shard depends on a
	// random seed, so the new keys are picked from those that share busy's.
	c.move(time.Minute)
	if ok, _ := l.Allow("busy"); !ok {
		t.Fatal("busy refused at its first try")
	}
	if n := l.ShardLen("busy"); n != 1 {
		t.Fatalf("busy's shard holds %d keys after busy came, want 1: the idle ones should have made way", n)
	}
	perShard := maxKeys / 64
	for i, added := 0, 0; added < perShard-1; i++ {
		if key := fmt.Sprint("new", i); l.SameShard(key, "busy") {
			l.Allow(key)
			added++
		}
	}
	if n := l.ShardLen("busy"); n != perShard {
		t.Fatalf("busy's shard holds %d keys, want it full (%d)", n, perShard)
	}
	if ok, _ := l.Allow("busy"); ok {
		t.Error("busy got a second token within the minute: it was dropped while the shard had room")
	}
}

func TestNilAllowsEverything(t *testing.T) {
	var l *ratelimit.Limiter
	for range 100 {
		if ok, _ := l.Allow("a"); !ok || l.Delay("a") != 0 {
			t.Fatal("the nil Limiter refused")
		}
	}
}

func TestConcurrent(t *testing.T) {
	l := ratelimit.New(50, time.Hour, 0, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if ok, _ := l.Allow("same"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 50 {
		t.Errorf("%d of 800 parallel tries allowed, want exactly the burst of 50", allowed)
	}
}

func BenchmarkAllow(b *testing.B) {
	l := ratelimit.New(1_000_000, time.Second, 0, nil)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow(fmt.Sprint("user", i%1000))
			i++
		}
	})
}
