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
	// Statuses selects orders in any of these states (with Status, both
	// apply).
	Statuses []OrderStatus
	Item     ItemID
	// ChatID selects orders whose metadata chat_id is this (seed 1's chats).
	ChatID string
	From   time.Time // created at or after
	To     time.Time // created before
	// After is a cursor: only orders older than this one, in the
	// list's newest-first order. Before is the other direction.
	After  OrderID
	Before OrderID
	Limit  int // 1 to 100
	// Offset skips this many orders first, for clients that page by
	// number (the seed APIs); cursors are cheaper and stable under inserts.
	Offset int
}

// EventFilter selects events. Zero fields select everything.
type EventFilter struct {
	Order  OrderID
	Type   EventType
	Before EventID // a cursor: only events older than this one
	Limit  int
}

// DeliveryFilter selects deliveries. Zero fields select everything.
type DeliveryFilter struct {
	Endpoint EndpointID
	Event    EventID
	Status   DeliveryStatus
	Before   DeliveryID // a cursor: only deliveries older than this one
	Limit    int
}
