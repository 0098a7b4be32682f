package bursar

import (
	"time"
	"unicode/utf8"
)

// ItemID identifies an item.
type ItemID string

// ItemKind says what buying an item grants.
type ItemKind string

// The item kinds.
const (
	ItemCourse  ItemKind = "course"  // access for ever (seed 2's album)
	ItemSession ItemKind = "session" // a time-boxed window, e.g. a 24 h paid chat (seed 1's skill)
)

// DefaultHold is how long a purchase's money stays in escrow when its item
// does not say otherwise.
const DefaultHold = 24 * time.Hour

// Item is something a seller sells.
type Item struct {
	ID     ItemID
	Seller UserID
	Kind   ItemKind
	Title  string
	Price  Money // zero for a free item
	// Hold is how long the money of a purchase stays in escrow before it is
	// released to the seller without the buyer's confirmation.
	Hold time.Duration
	// Duration is a session's window from payment; zero for a course.
	Duration  time.Duration
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Validate checks an item before it is stored.
func (it Item) Validate() error {
	switch {
	case it.Kind != ItemCourse && it.Kind != ItemSession:
		return InvalidParam("kind", "An item's kind is \"course\" or \"session\".")
	case it.Title == "" || utf8.RuneCountInString(it.Title) > 128 || !utf8.ValidString(it.Title):
		return InvalidParam("title", "An item's title is 1 to 128 characters.")
	case it.Price.Amount < 0:
		return InvalidParam("price", "A price cannot be negative.")
	case it.Price.Amount > maxPrice:
		return InvalidParam("price", "A price is at most 10,000,000.00.")
	case it.Hold < 0 || it.Hold > 90*24*time.Hour:
		return InvalidParam("hold_seconds", "A hold period is between 0 and 90 days.")
	case it.Kind == ItemSession && (it.Duration <= 0 || it.Duration > 365*24*time.Hour):
		return InvalidParam("duration_seconds", "A session lasts between 1 second and 365 days.")
	case it.Kind == ItemCourse && it.Duration != 0:
		return InvalidParam("duration_seconds", "A course grants access for ever; it has no duration.")
	}
	if _, err := ParseCurrency(string(it.Price.Currency)); err != nil {
		return err
	}
	return nil
}

// maxPrice bounds prices (and explicit order amounts) far below overflow, at
// ten million yuan: more than any payment Alipay or WeChat Pay accepts.
const maxPrice = Amount(1_000_000_000)

// Commission returns the fee on amount at bps basis points (1/100 of a
// percent), rounded half up to the fen. Amounts are at most maxPrice, so the
// product cannot overflow.
func Commission(amount Amount, bps int) Amount {
	if amount <= 0 || bps <= 0 {
		return 0
	}
	return (amount*Amount(bps) + 5_000) / 10_000
}
