package postgres

import (
	"github.com/jackc/pgx/v5/pgconn"

	"bursar.dev/bursar/internal/bursar"
)

// conflicts gives each unique constraint a client could break the message to
// show, by constraint name; the sqlite package keys the same messages by the
// table and columns SQLite reports.
var conflicts = map[string]string{ //nolint:gosec // G101: the word "credential" in a message is not a credential
	"users_pkey":              "A user with this ID already exists.",
	"credentials_pkey":        "A credential with this ID already exists.",
	"credentials_hash_unique": "A credential with this secret already exists.",
	"items_pkey":              "An item with this ID already exists.",
	"orders_pkey":             "An order with this ID already exists.",
	"orders_order_no_unique":  "An order with this order number already exists.",
	"refunds_pkey":            "A refund with this ID already exists.",
	"refunds_one_open":        "The order already has a refund request waiting for a decision or being paid back.",
	"reviews_pkey":            "The order already has a review.",
	"admins_pkey":             "An admin with this name already exists.",
}

// errNoUser is a foreign-key violation. The only foreign keys a client's
// input can break point at users, and SQLite cannot say which key failed, so
// both engines give this one error for all.
var errNoUser = &bursar.Error{Code: bursar.NotFound, Message: "The user it refers to does not exist."}

// constraintError returns the coded error for a violated constraint a client
// could have caused, or nil.
func constraintError(pe *pgconn.PgError) *bursar.Error {
	switch pe.Code {
	case "23505": // unique_violation
		if m, ok := conflicts[pe.ConstraintName]; ok {
			return &bursar.Error{Code: bursar.Conflict, Message: m}
		}
		return &bursar.Error{Code: bursar.Conflict, Message: "This already exists."}
	case "23503": // foreign_key_violation
		return errNoUser
	}
	return nil
}
