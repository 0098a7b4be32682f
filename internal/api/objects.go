package api

import (
	"time"

	"bursar.dev/bursar/internal/bursar"
	"bursar.dev/bursar/internal/channel"
	"bursar.dev/bursar/internal/service"
	"bursar.dev/bursar/internal/wire"
)

// The JSON objects of the v1 API. Amounts are integer fen with a currency;
// times are RFC 3339 in UTC, or null when they have not happened.

// timestamp formats t, or nil for the zero time.
func timestamp(t time.Time) *string { return wire.Time(t) }

type userObject = wire.User

func userJSON(u bursar.User) userObject { return wire.UserOf(u) }

type itemObject struct {
	ID              bursar.ItemID   `json:"id"`
	Object          string          `json:"object"`
	SellerID        bursar.UserID   `json:"seller_id"`
	Kind            bursar.ItemKind `json:"kind"`
	Title           string          `json:"title"`
	Price           bursar.Amount   `json:"price"`
	Currency        bursar.Currency `json:"currency"`
	HoldSeconds     int64           `json:"hold_seconds"`
	DurationSeconds int64           `json:"duration_seconds"`
	CreatedAt       *string         `json:"created_at"`
}

func itemJSON(it bursar.Item) itemObject {
	return itemObject{ID: it.ID, Object: "item", SellerID: it.Seller, Kind: it.Kind, Title: it.Title,
		Price: it.Price.Amount, Currency: it.Price.Currency, HoldSeconds: int64(it.Hold / time.Second),
		DurationSeconds: int64(it.Duration / time.Second), CreatedAt: timestamp(it.CreatedAt)}
}

// orderObject is an order as wire shows it, with what only some answers
// carry.
type orderObject struct {
	wire.Order
	Entries []entryObject `json:"entries,omitempty"`
	// What the buyer's client needs to pay through a channel; only in the
	// answer to paying.
	NextAction *payActionObject `json:"next_action,omitempty"`
	// Why a channel could not start the payment of a top-up just created;
	// only in the answer to creating it.
	LastPaymentError *errorObject `json:"last_payment_error,omitempty"`
}

func orderJSON(o bursar.Order) orderObject { return orderObject{Order: wire.OrderOf(o)} }

// payActionObject is how the buyer pays at the channel: open or show the
// URL (a page, or a QR code's content), or hand the order string or params
// to the channel's app SDK.
type payActionObject struct {
	Method      channel.Method    `json:"method"`
	URL         string            `json:"url,omitempty"`
	OrderString string            `json:"order_string,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
}

func payAction(p channel.Payment) *payActionObject {
	return &payActionObject{Method: p.Method, URL: p.URL, OrderString: p.OrderString, Params: p.Params}
}

type paymentObject = wire.Payment

func paymentJSON(p bursar.Payment) paymentObject { return wire.PaymentOf(p) }

type entryObject = wire.Entry

func entryJSON(e bursar.PostedEntry) entryObject { return wire.EntryOf(e) }

func walletJSON(w service.Wallet) wire.Wallet { return wire.WalletOf(w.User, w.Cash, w.Earnings) }

type statementLineObject struct {
	Object   string           `json:"object"`
	EntryID  bursar.EntryID   `json:"entry_id"`
	Account  string           `json:"account"`
	Kind     bursar.EntryKind `json:"kind"`
	Ref      string           `json:"ref"`
	Memo     string           `json:"memo"`
	Amount   bursar.Amount    `json:"amount"`
	Currency bursar.Currency  `json:"currency"`
	PostedAt *string          `json:"posted_at"`
}

func statementJSON(l service.StatementLine) statementLineObject {
	return statementLineObject{Object: "statement_line", EntryID: l.Entry, Account: string(l.Account), Kind: l.Kind, Ref: l.Ref,
		Memo: l.Memo, Amount: l.Amount, Currency: l.Currency, PostedAt: timestamp(l.PostedAt)}
}

type tokenObject struct {
	ID        bursar.CredentialID `json:"id"`
	Object    string              `json:"object"`
	Token     string              `json:"token"`
	UserID    bursar.UserID       `json:"user_id"`
	ExpiresAt *string             `json:"expires_at"`
}

func tokenJSON(token string, c bursar.Credential) tokenObject {
	return tokenObject{ID: c.ID, Object: "token", Token: token, UserID: c.User, ExpiresAt: timestamp(c.ExpiresAt)}
}

type listObject[T any] struct {
	Object  string `json:"object"`
	URL     string `json:"url"`
	HasMore bool   `json:"has_more"`
	Data    []T    `json:"data"`
}
