package loadgen

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power of two of microseconds
// is split into 2^subBits buckets, so a bucket is at most 1/128 (0.8%) of
// the values it holds wide, and a day of latencies fits in a few thousand
// counters whatever the run's length.
const subBits = 7

// histogram counts latencies in buckets of bounded relative width. Each
// worker keeps its own, without locks, and the report merges them.
type histogram struct {
	counts []uint64
	n      uint64
	max    time.Duration
}

// bucket returns the index of the bucket holding v microseconds. Values
// below 2^subBits have a bucket each; above, a bucket spans 2^shift values
// whose top subBits+1 bits are equal.
func bucket(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)<<subBits + int(v>>shift) - 1<<subBits
}

// bucketValue returns the middle of bucket i, in microseconds.
func bucketValue(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	shift := i>>subBits - 1
	low := uint64(i&(1<<subBits-1)+1<<subBits) << shift
	return low + (uint64(1)<<shift)/2
}

func (h *histogram) record(d time.Duration) {
	i := bucket(uint64(max(d, 0) / time.Microsecond))
	if i >= len(h.counts) {
		// Grown on demand: most runs never need the buckets of seconds.
		h.counts = append(h.counts, make([]uint64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	if len(o.counts) > len(h.counts) {
		h.counts = append(h.counts, make([]uint64, len(o.counts)-len(h.counts))...)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the latency below which a fraction q of the recorded
// ones lie (the nearest-rank method), never more than the largest seen.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return h.max // kept exactly
	}
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return min(time.Duration(bucketValue(i))*time.Microsecond, h.max)
		}
	}
	return h.max
}
