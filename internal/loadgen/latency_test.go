package loadgen

import (
	"math"
	"testing"
	"time"
)

func TestBucketsHoldTheirValues(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 12345, 999_999, 1 << 40} {
		i := bucket(v)
		mid := bucketValue(i)
		if bucket(mid) != i {
			t.Errorf("bucket(%d) = %d, but its middle %d falls in bucket %d", v, i, mid, bucket(mid))
		}
		if err := math.Abs(float64(mid)-float64(v)) / math.Max(float64(v), 1); err > 1.0/128 {
			t.Errorf("value %d is shown as %d, %.2f%% off", v, mid, 100*err)
		}
	}
	for v := uint64(1); v < 1<<20; v++ {
		if bucket(v) < bucket(v-1) {
			t.Fatalf("bucket(%d) = %d < bucket(%d) = %d: buckets are not in order", v, bucket(v), v-1, bucket(v-1))
		}
	}
}

func TestQuantiles(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		latencies func(record func(time.Duration))
		q         float64
		want      time.Duration
		within    float64 // relative error allowed
	}{
		{"the median of 1 ms to 100 ms is 50 ms", func(rec func(time.Duration)) {
			for i := 1; i <= 100; i++ {
				rec(time.Duration(i) * ms)
			}
		}, 0.50, 50 * ms, 0.01},
		{"the 99th percentile of 1 ms to 100 ms is 99 ms", func(rec func(time.Duration)) {
			for i := 1; i <= 100; i++ {
				rec(time.Duration(i) * ms)
			}
		}, 0.99, 99 * ms, 0.01},
		{"one slow request in a hundred sets the maximum only", func(rec func(time.Duration)) {
			for range 99 {
				rec(2 * ms)
			}
			rec(3 * time.Second)
		}, 0.95, 2 * ms, 0.01},
		{"the maximum is exact", func(rec func(time.Duration)) {
			rec(5 * ms)
			rec(1234567 * time.Microsecond)
		}, 1, 1234567 * time.Microsecond, 0},
		{"a single latency is every quantile", func(rec func(time.Duration)) {
			rec(7 * ms)
		}, 0.5, 7 * ms, 0.01},
		{"sub-millisecond latencies keep microseconds", func(rec func(time.Duration)) {
			for i := range 1000 {
				rec(time.Duration(100+i%10) * time.Microsecond)
			}
		}, 0.99, 109 * time.Microsecond, 0.01},
		{"nothing recorded is zero", func(func(time.Duration)) {}, 0.99, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Recorded by three clients and merged, as a run does.
			hs := make([]histogram, 3)
			n := 0
			tt.latencies(func(d time.Duration) { hs[n%3].record(d); n++ })
			var h histogram
			for i := range hs {
				h.merge(&hs[i])
			}
			got := h.quantile(tt.q)
			if diff := math.Abs(float64(got-tt.want)) / math.Max(float64(tt.want), 1); diff > tt.within {
				t.Errorf("quantile(%v) = %v, want %v (within %.0f%%)", tt.q, got, tt.want, 100*tt.within)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	var h histogram
	for range 90 {
		h.record(10 * time.Millisecond)
	}
	s := opSummary(OpPay, &h, map[string]int64{"insufficient_funds": 6, "internal": 4}, 3*time.Second)
	if s.Count != 100 || s.Failed() != 10 {
		t.Errorf("count %d, failed %d; want 100 and 10", s.Count, s.Failed())
	}
	if s.OpsPerSec != 30 {
		t.Errorf("ops/s = %v, want 30: successes per second", s.OpsPerSec)
	}
	if s.P50MS < 9.9 || s.P50MS > 10.1 || s.MaxMS != 10 {
		t.Errorf("p50 %v ms, max %v ms; want 10 and 10", s.P50MS, s.MaxMS)
	}
	r := Report{Ops: []OpStats{s}}
	if got := r.Failures(); got != 4 {
		t.Errorf("Failures() = %d, want 4: insufficient_funds is a refusal", got)
	}
}
