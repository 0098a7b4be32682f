package service

import (
	"strings"
	"testing"
	"time"
)

func TestTimeOrderedIDs(t *testing.T) {
	base := time.UnixMilli(56_000_000_000 * 32) // in 2026; its last character is the alphabet's first
	cases := []struct {
		name          string
		before, after time.Time
	}{
		{"a millisecond apart", base, base.Add(time.Millisecond)},
		{"across the last character's carry", base.Add(31 * time.Millisecond), base.Add(32 * time.Millisecond)},
		// In rand.Text's own order, 25 is z and 26 is 2, which sorts first.
		{"where rand.Text's letters end", base.Add(25 * time.Millisecond), base.Add(26 * time.Millisecond)},
		{"a second apart", base, base.Add(time.Second)},
		{"years apart", base, base.AddDate(30, 0, 0)},
		{"the epoch and now", time.UnixMilli(0), base},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := timeOrdered(c.before), timeOrdered(c.after)
			if a >= b {
				t.Errorf("the ID made at %s, %q, does not sort before the one made at %s, %q", c.before, a, c.after, b)
			}
			for _, id := range []string{a, b} {
				if len(id) != 26 || strings.Trim(id, idAlphabet) != "" {
					t.Errorf("%q: want 26 characters of %q, as rand.Text gives", id, idAlphabet)
				}
			}
		})
	}

	// The random part keeps IDs made in the same millisecond apart.
	seen := map[string]bool{}
	for range 1000 {
		id := timeOrdered(base)
		if seen[id] {
			t.Fatalf("%q made twice", id)
		}
		seen[id] = true
	}
}
