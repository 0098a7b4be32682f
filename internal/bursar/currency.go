package bursar

import "fmt"

// Currency is an ISO 4217 alphabetic code. Bursar's channels speak CNY only;
// the ledger keeps a currency on every account and posting so that a second
// currency never mixes with the first.
type Currency string

// CNY is the Chinese yuan, the currency of every channel Bursar supports.
const CNY Currency = "CNY"

// exponents lists the currencies Bursar accepts and their minor-unit exponent
// (ISO 4217). Extend it only together with a channel that settles the currency.
var exponents = map[Currency]int{
	"CNY": 2,
	"HKD": 2,
	"USD": 2,
}

// ParseCurrency returns the currency for an upper-case ISO 4217 code Bursar supports.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(s)
	if _, ok := exponents[c]; !ok {
		return "", &Error{Code: Invalid, Param: "currency",
			Message: fmt.Sprintf("The currency %q is not supported; use an ISO 4217 code such as \"CNY\".", s)}
	}
	return c, nil
}

// Exponent is the number of decimals of the currency's major unit: 2 for CNY
// (1 yuan = 100 fen). It is 2 for an unknown currency, which ParseCurrency
// never returns.
func (c Currency) Exponent() int {
	if e, ok := exponents[c]; ok {
		return e
	}
	return 2
}

// Money is an amount together with its currency.
type Money struct {
	Amount   Amount   `json:"amount"`
	Currency Currency `json:"currency"`
}

// ParseMoney parses a non-negative decimal in the currency's major unit
// ("19.90" CNY) exactly; see ParseYuan for what it rejects.
func ParseMoney(major string, c Currency) (Money, error) {
	a, err := parseDecimal(major, c.Exponent(), false)
	if err != nil {
		return Money{}, err
	}
	return Money{Amount: a, Currency: c}, nil
}

// Major formats the amount in major units with the currency's decimals ("19.90").
func (m Money) Major() string { return formatDecimal(m.Amount, m.Currency.Exponent()) }

// String formats m for logs and messages: "19.90 CNY".
func (m Money) String() string { return m.Major() + " " + string(m.Currency) }
