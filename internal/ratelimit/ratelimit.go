// Package ratelimit bounds how often one key (a client address, a user)
// may do something, with a token bucket per key. It belongs to no layer:
// the edge limits addresses, the use cases limit users.
//
// The count is per process: N processes allow N times the rate. That is
// enough to turn a flood into a trickle; what must hold exactly, such as
// the lockout after too many wrong passwords, is kept in the database.
package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

// shards spreads keys over locks, so that callers with different keys
// (buyers paying at once) seldom wait for each other.
const shards = 64

// DefaultMaxKeys bounds the keys a Limiter remembers. A bucket costs about
// a hundred bytes, so the table stays under ten megabytes whatever a flood
// of new addresses does.
const DefaultMaxKeys = 1 << 16

// Limiter allows each key n events per period, in bursts of up to n. The
// nil *Limiter allows everything, so a surface built without one has no
// limit. It is safe for concurrent use.
type Limiter struct {
	every    time.Duration // one token comes back every this long
	burst    time.Duration // n tokens' worth of time: a full bucket
	now      func() time.Time
	seed     maphash.Seed
	maxShard int
	shards   [shards]shard
}

// A bucket is kept as the time it is full again (GCRA's theoretical
// arrival time): one number, and a bucket full by now is the same as none,
// which is what lets idle keys be dropped.
type shard struct {
	mu   sync.Mutex
	full map[string]time.Time
}

// New returns a Limiter that allows n events per period for each key, and
// remembers at most maxKeys keys (DefaultMaxKeys when 0). now is the
// clock; time.Now when nil.
func New(n int, per time.Duration, maxKeys int, now func() time.Time) *Limiter {
	if n < 1 || per <= 0 {
		panic("ratelimit: n and per must be positive")
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	l := &Limiter{every: per / time.Duration(n), now: now, seed: maphash.MakeSeed(),
		maxShard: max(1, maxKeys/shards)}
	l.burst = l.every * time.Duration(n)
	for i := range l.shards {
		l.shards[i].full = make(map[string]time.Time)
	}
	return l
}

func (l *Limiter) shard(key string) *shard {
	return &l.shards[maphash.String(l.seed, key)%shards]
}

// Allow takes a token from key's bucket. When the bucket is empty it takes
// nothing and reports false, with how long until a token comes back.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	s := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	full, ok := s.full[key]
	if !ok {
		s.makeRoom(l.maxShard, now)
	}
	full = later(full, now).Add(l.every)
	if wait := full.Sub(now) - l.burst; wait > 0 {
		return false, wait
	}
	s.full[key] = full
	return true, 0
}

// Delay reports how long until key's bucket holds a token, 0 when it does
// now. It takes nothing: a caller that only charges failures asks Delay
// first and calls Allow after a failure.
func (l *Limiter) Delay(key string) time.Duration {
	if l == nil {
		return 0
	}
	now := l.now()
	s := l.shard(key)
	s.mu.Lock()
	full, ok := s.full[key]
	s.mu.Unlock()
	if !ok {
		return 0
	}
	return max(0, later(full, now).Add(l.every).Sub(now)-l.burst)
}

// Len reports how many keys the Limiter remembers.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.full)
		s.mu.Unlock()
	}
	return n
}

// makeRoom keeps the shard under its bound before a new key goes in. Keys
// whose buckets have filled up again go first, losing nothing. If every
// key is busy, one goes anyway, starting afresh: a flood that outnumbers
// the table can reset buckets, which the database's lockout outlasts, but
// it cannot grow memory.
func (s *shard) makeRoom(limit int, now time.Time) {
	if len(s.full) < limit {
		return
	}
	for k, full := range s.full {
		if !full.After(now) {
			delete(s.full, k)
		}
	}
	for k := range s.full {
		if len(s.full) < limit {
			break
		}
		delete(s.full, k)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
