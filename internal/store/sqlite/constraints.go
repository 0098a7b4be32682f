package sqlite

import (
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"bursar.dev/bursar/internal/bursar"
)

// conflicts gives each unique constraint a client could break the message to
// show. SQLite names the table and columns of a violated constraint, not the
// constraint, so the keys are those; the postgres package keys the same
// messages by constraint name.
var conflicts = map[string]string{ //nolint:gosec // G101: the word "credential" in a message is not a credential
	"users.id":         "A user with this ID already exists.",
	"credentials.id":   "A credential with this ID already exists.",
	"credentials.hash": "A credential with this secret already exists.",
	"items.id":         "An item with this ID already exists.",
	"orders.id":        "An order with this ID already exists.",
	"orders.order_no":  "An order with this order number already exists.",
	"refunds.id":       "A refund with this ID already exists.",
	// Only the partial index refunds_one_open is unique on order_id.
	"refunds.order_id": "The order already has a refund request waiting for a decision or being paid back.",
	"reviews.order_id": "The order already has a review.",
	"admins.name":      "An admin with this name already exists.",
}

// errNoUser is a foreign-key violation. SQLite does not say which key failed,
// but the only ones a client's input can break point at users: the ledger's
// own are kept by this package.
var errNoUser = &bursar.Error{Code: bursar.NotFound, Message: "The user it refers to does not exist."}

// constraintError returns the coded error for a violated constraint a client
// could have caused, or nil.
func constraintError(se *sqlite.Error) *bursar.Error {
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		// The message ends "UNIQUE constraint failed: orders.order_no",
		// possibly followed by " (2067)".
		msg := se.Error()
		const marker = "constraint failed: "
		i := strings.LastIndex(msg, marker)
		if i < 0 {
			return nil
		}
		columns, _, _ := strings.Cut(msg[i+len(marker):], " (")
		if m, ok := conflicts[columns]; ok {
			return &bursar.Error{Code: bursar.Conflict, Message: m}
		}
		return &bursar.Error{Code: bursar.Conflict, Message: "This already exists."}
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return errNoUser
	}
	return nil
}
