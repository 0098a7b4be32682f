package ratelimit

// SameShard reports whether two keys are kept in the same shard, for tests
// that must fill one shard whatever the random seed spreads.
func (l *Limiter) SameShard(a, b string) bool { return l.shard(a) == l.shard(b) }

// ShardLen is how many keys the shard of key remembers.
func (l *Limiter) ShardLen(key string) int {
	s := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.full)
}
