package bursar

import "time"

// OrderFilter selects orders for a list. Zero fields do not filter.
type OrderFilter struct {
	Buyer  UserID // orders this user bought
	Seller UserID // orders this user sold
	// Party selects orders where this user is buyer or seller; used when
	// neither Buyer nor Seller is set and the caller is a user.
	Party  UserID
	Type   OrderType
	Status OrderStatus
	Item   ItemID
	From   time.Time // created at or after
	To     time.Time // created before
	// After is a cursor: only orders older than this one, in the
	// list's newest-first order. Before is the other direction.
	After  OrderID
	Before OrderID
	Limit  int // 1 to 100
}
