package bursar

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// Amount is a sum of money in the minor unit of its currency: fen for CNY. It is
// the only money type in the codebase; floats never hold money. In JSON it is a
// plain integer, as in seed 1's API and WeChat Pay.
type Amount int64

// MaxAmount is the largest amount Bursar accepts anywhere. Parsers never return
// math.MinInt64, so every accepted amount can be negated.
const MaxAmount = Amount(math.MaxInt64)

// Add returns a+b, or an Invalid error if the sum does not fit in an Amount.
func (a Amount) Add(b Amount) (Amount, error) {
	if (b > 0 && a > MaxAmount-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, errOverflow
	}
	return a + b, nil
}

// Sub returns a-b, or an Invalid error if the difference does not fit.
func (a Amount) Sub(b Amount) (Amount, error) {
	if (b < 0 && a > MaxAmount+b) || (b > 0 && a < math.MinInt64+b) {
		return 0, errOverflow
	}
	return a - b, nil
}

// Neg returns -a, or an Invalid error for the one value that has no negation.
func (a Amount) Neg() (Amount, error) {
	if a == math.MinInt64 {
		return 0, errOverflow
	}
	return -a, nil
}

// Sum adds amounts with overflow checks.
func Sum(amounts ...Amount) (Amount, error) {
	var total Amount
	for _, a := range amounts {
		var err error
		if total, err = total.Add(a); err != nil {
			return 0, err
		}
	}
	return total, nil
}

var errOverflow = &Error{Code: Invalid, Message: "The amount is too large."}

// ParseYuan parses a non-negative decimal yuan string as the seeds and Alipay
// send it ("0.00", "19.9", "88.88", "5") into fen. It rejects signs, exponents,
// spaces, separators, leading zeros, a bare or trailing point, more than two
// decimals and values that overflow: an amount is exact or an error, never
// rounded.
func ParseYuan(s string) (Amount, error) {
	return parseDecimal(s, CNY.Exponent(), false)
}

// ParseSignedYuan is ParseYuan that also accepts a leading minus sign, for the
// few inputs that may be negative (balance adjustments).
func ParseSignedYuan(s string) (Amount, error) {
	return parseDecimal(s, CNY.Exponent(), true)
}

// Yuan formats a as fen in yuan with exactly two decimals and no separators
// ("88.88", "0.00", "-1.50"), the form Alipay and seed 2 expect.
func (a Amount) Yuan() string {
	return formatDecimal(a, CNY.Exponent())
}

// UnmarshalJSON accepts only a JSON integer, so 19.9, 1e3 and "1990" are
// rejected with a message that says what to send instead of being truncated.
func (a *Amount) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) == 0 || bytes.ContainsAny(b, ".eE\"") {
		return errNotMinorUnits
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || v == math.MinInt64 {
		return errNotMinorUnits
	}
	*a = Amount(v)
	return nil
}

var errNotMinorUnits = &Error{Code: Invalid,
	Message: "Amounts are whole numbers of the currency's minor unit (fen): send 1990 for ¥19.90."}

// parseDecimal parses s as a decimal in major units with at most exp decimals.
func parseDecimal(s string, exp int, signed bool) (Amount, error) {
	neg := false
	digits := s
	if signed && strings.HasPrefix(digits, "-") {
		neg, digits = true, digits[1:]
	}
	whole, frac, hasPoint := strings.Cut(digits, ".")
	switch {
	case !isDigits(whole) || (hasPoint && !isDigits(frac)):
		if strings.HasPrefix(s, "-") && !signed {
			return 0, Errorf(Invalid, "The amount %q must not be negative.", s)
		}
		return 0, Errorf(Invalid, "The amount %q is not a decimal number such as \"19.90\".", s)
	case len(whole) > 1 && whole[0] == '0':
		return 0, Errorf(Invalid, "The amount %q has a leading zero.", s)
	case len(frac) > exp:
		return 0, Errorf(Invalid, "The amount %q has more than %d decimal places.", s, exp)
	}
	var v Amount
	for _, c := range whole + frac + strings.Repeat("0", exp-len(frac)) {
		d := Amount(c - '0')
		if v > (MaxAmount-d)/10 {
			return 0, Errorf(Invalid, "The amount %q is too large.", s)
		}
		v = v*10 + d
	}
	if neg {
		if v == 0 {
			return 0, Errorf(Invalid, "The amount %q is a negative zero.", s)
		}
		v = -v
	}
	return v, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func formatDecimal(a Amount, exp int) string {
	u := uint64(a)
	sign := ""
	if a < 0 {
		sign, u = "-", -u // two's complement: correct for math.MinInt64 too
	}
	s := strconv.FormatUint(u, 10)
	if exp == 0 {
		return sign + s
	}
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	return sign + s[:len(s)-exp] + "." + s[len(s)-exp:]
}
