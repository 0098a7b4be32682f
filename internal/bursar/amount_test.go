package bursar_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"bursar.dev/bursar/internal/bursar"
)

func TestParseYuan(t *testing.T) {
	tests := []struct {
		in   string
		want bursar.Amount
	}{
		{"0", 0},
		{"0.00", 0},
		{"0.01", 1},
		{"0.1", 10},
		{"5", 500},
		{"19.9", 1990},
		{"19.90", 1990},
		{"88.88", 8888},
		{"9.8", 980},
		{"100000000", 10000000000},
		{"92233720368547758.07", math.MaxInt64},
	}
	for _, tt := range tests {
		got, err := bursar.ParseYuan(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseYuanRejects(t *testing.T) {
	for _, in := range []string{
		"", " ", "1 ", " 1", ".5", "5.", ".", "1.001", "19.999", "0.000",
		"-1", "-0.01", "+1", "1e3", "1E2", "0x10", "1,000", "1_000", "01", "00.10",
		"NaN", "Inf", "１", "92233720368547758.08", "99999999999999999999", "1.2.3", "1..2",
	} {
		got, err := bursar.ParseYuan(in)
		if err == nil {
			t.Errorf("ParseYuan(%q) = %d, want an error", in, got)
			continue
		}
		if code := bursar.ErrorCode(err); code != bursar.Invalid {
			t.Errorf("ParseYuan(%q) code = %q, want %q", in, code, bursar.Invalid)
		}
	}
}

func TestParseSignedYuan(t *testing.T) {
	tests := []struct {
		in      string
		want    bursar.Amount
		wantErr bool
	}{
		{in: "-1.50", want: -150},
		{in: "-0.01", want: -1},
		{in: "2", want: 200},
		{in: "-0", wantErr: true},
		{in: "-0.00", wantErr: true},
		{in: "--1", wantErr: true},
		{in: "-", wantErr: true},
		{in: "-92233720368547758.07", want: -math.MaxInt64},
		{in: "-92233720368547758.08", wantErr: true},
	}
	for _, tt := range tests {
		got, err := bursar.ParseSignedYuan(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSignedYuan(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestYuan(t *testing.T) {
	tests := []struct {
		in   bursar.Amount
		want string
	}{
		{0, "0.00"},
		{1, "0.01"},
		{10, "0.10"},
		{1990, "19.90"},
		{8888, "88.88"},
		{-150, "-1.50"},
		{math.MaxInt64, "92233720368547758.07"},
		{math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := tt.in.Yuan(); got != tt.want {
			t.Errorf("Amount(%d).Yuan() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAmountArithmetic(t *testing.T) {
	tests := []struct {
		name    string
		op      func() (bursar.Amount, error)
		want    bursar.Amount
		wantErr bool
	}{
		{"small sum", func() (bursar.Amount, error) { return bursar.Amount(1).Add(2) }, 3, false},
		{"sum at the top", func() (bursar.Amount, error) { return bursar.Amount(math.MaxInt64 - 1).Add(1) }, math.MaxInt64, false},
		{"sum past the top", func() (bursar.Amount, error) { return bursar.Amount(math.MaxInt64).Add(1) }, 0, true},
		{"sum past the bottom", func() (bursar.Amount, error) { return bursar.Amount(math.MinInt64).Add(-1) }, 0, true},
		{"difference", func() (bursar.Amount, error) { return bursar.Amount(5).Sub(7) }, -2, false},
		{"difference past the top", func() (bursar.Amount, error) { return bursar.Amount(math.MaxInt64).Sub(-1) }, 0, true},
		{"difference past the bottom", func() (bursar.Amount, error) { return bursar.Amount(math.MinInt64 + 1).Sub(2) }, 0, true},
		{"negation", func() (bursar.Amount, error) { return bursar.Amount(7).Neg() }, -7, false},
		{"negation of the minimum", func() (bursar.Amount, error) { return bursar.Amount(math.MinInt64).Neg() }, 0, true},
		{"sum of many", func() (bursar.Amount, error) { return bursar.Sum(1, 2, 3, -4) }, 2, false},
		{"sum of many overflowing", func() (bursar.Amount, error) { return bursar.Sum(math.MaxInt64, 1, -5) }, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.op()
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("got %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && bursar.ErrorCode(err) != bursar.Invalid {
				t.Errorf("code = %q, want %q", bursar.ErrorCode(err), bursar.Invalid)
			}
		})
	}
}

func TestAmountJSON(t *testing.T) {
	var v struct{ Amount bursar.Amount }
	if err := json.Unmarshal([]byte(`{"Amount": 1990}`), &v); err != nil || v.Amount != 1990 {
		t.Fatalf("integer: got %d, %v", v.Amount, err)
	}
	for _, body := range []string{`19.9`, `1990.0`, `1e3`, `"1990"`, `true`, `-9223372036854775808`, `99999999999999999999`} {
		err := json.Unmarshal([]byte(`{"Amount": `+body+`}`), &v)
		if bursar.ErrorCode(err) != bursar.Invalid {
			t.Errorf("Unmarshal(%s) error = %v, want an Invalid error", body, err)
		}
	}
	out, err := json.Marshal(struct{ Amount bursar.Amount }{1990})
	if err != nil || string(out) != `{"Amount":1990}` {
		t.Errorf("Marshal = %s, %v", out, err)
	}
}

func TestMoney(t *testing.T) {
	m, err := bursar.ParseMoney("19.9", bursar.CNY)
	if err != nil || m != (bursar.Money{Amount: 1990, Currency: bursar.CNY}) {
		t.Fatalf("ParseMoney = %v, %v", m, err)
	}
	if got := m.String(); got != "19.90 CNY" {
		t.Errorf("String() = %q", got)
	}
	if _, err := bursar.ParseCurrency("XXX"); bursar.ErrorCode(err) != bursar.Invalid {
		t.Errorf("ParseCurrency(XXX) error = %v, want Invalid", err)
	}
	if c, err := bursar.ParseCurrency("CNY"); c != bursar.CNY || err != nil {
		t.Errorf("ParseCurrency(CNY) = %q, %v", c, err)
	}
}

// FuzzParseYuan checks the round trip both ways: every accepted string formats
// back to its canonical form and parses to the same amount, and every amount
// formats to a string that parses back to it.
func FuzzParseYuan(f *testing.F) {
	for _, s := range []string{"0", "0.00", "19.9", "88.88", "5", "-1.5", "1e3", "01", "92233720368547758.07"} {
		f.Add(s, int64(0))
	}
	f.Add("", int64(math.MaxInt64))
	f.Add("", int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		if a, err := bursar.ParseSignedYuan(s); err == nil {
			if got := a.Yuan(); got != canonicalYuan(s) {
				t.Errorf("ParseSignedYuan(%q).Yuan() = %q, want %q", s, got, canonicalYuan(s))
			}
			if b, err := bursar.ParseSignedYuan(a.Yuan()); err != nil || b != a {
				t.Errorf("round trip of %q: %d, %v; want %d", s, b, err, a)
			}
			if u, err := bursar.ParseYuan(s); (a >= 0) != (err == nil) || (err == nil && u != a) {
				t.Errorf("ParseYuan(%q) = %d, %v; signed parse gave %d", s, u, err, a)
			}
		}
		a := bursar.Amount(n)
		b, err := bursar.ParseSignedYuan(a.Yuan())
		if n == math.MinInt64 {
			if err == nil {
				t.Errorf("ParseSignedYuan(%q) accepted the unnegatable minimum", a.Yuan())
			}
			return
		}
		if err != nil || b != a {
			t.Errorf("ParseSignedYuan(Amount(%d).Yuan() = %q) = %d, %v", n, a.Yuan(), b, err)
		}
	})
}

// canonicalYuan rewrites an accepted yuan string with exactly two decimals.
func canonicalYuan(s string) string {
	whole, frac, _ := strings.Cut(s, ".")
	return whole + "." + frac + strings.Repeat("0", 2-len(frac))
}
