package wire

import (
	"bursar.dev/bursar/internal/bursar"
)

// User is a buyer or seller as the platform sees them.
type User struct {
	ID          bursar.UserID `json:"id"`
	Object      string        `json:"object"`
	DisplayName string        `json:"display_name"`
	AvatarURL   string        `json:"avatar_url"`
	CreatedAt   *string       `json:"created_at"`
	UpdatedAt   *string       `json:"updated_at"`
}

// UserOf shows u.
func UserOf(u bursar.User) User {
	return User{ID: u.ID, Object: "user", DisplayName: u.DisplayName, AvatarURL: u.AvatarURL,
		CreatedAt: Time(u.CreatedAt), UpdatedAt: Time(u.UpdatedAt)}
}

// Payment is an order's payment at a channel.
type Payment struct {
	Object    string               `json:"object"`
	OrderID   bursar.OrderID       `json:"order_id"`
	Channel   bursar.Channel       `json:"channel"`
	Method    string               `json:"method"`
	Amount    bursar.Amount        `json:"amount"`
	Currency  bursar.Currency      `json:"currency"`
	Status    bursar.PaymentStatus `json:"status"`
	TradeNo   string               `json:"trade_no"`
	CreatedAt *string              `json:"created_at"`
	PaidAt    *string              `json:"paid_at"`
}

// PaymentOf shows p.
func PaymentOf(p bursar.Payment) Payment {
	return Payment{Object: "payment", OrderID: p.Order, Channel: p.Channel, Method: p.Method,
		Amount: p.Amount.Amount, Currency: p.Amount.Currency, Status: p.Status, TradeNo: p.TradeNo,
		CreatedAt: Time(p.CreatedAt), PaidAt: Time(p.PaidAt)}
}

// Entry is a posted ledger entry with its postings.
type Entry struct {
	ID       bursar.EntryID   `json:"id"`
	Object   string           `json:"object"`
	Key      string           `json:"key"`
	Kind     bursar.EntryKind `json:"kind"`
	Memo     string           `json:"memo"`
	Postings []bursar.Posting `json:"postings"`
	PostedAt *string          `json:"posted_at"`
}

// EntryOf shows e.
func EntryOf(e bursar.PostedEntry) Entry {
	return Entry{ID: e.ID, Object: "ledger_entry", Key: e.Key, Kind: e.Kind, Memo: e.Memo,
		Postings: e.Postings, PostedAt: Time(e.PostedAt)}
}

// Wallet is a user's money: cash (spendable, not withdrawable) and
// earnings (withdrawable).
type Wallet struct {
	Object   string          `json:"object"`
	UserID   bursar.UserID   `json:"user_id"`
	Cash     bursar.Amount   `json:"cash"`
	Earnings bursar.Amount   `json:"earnings"`
	Total    bursar.Amount   `json:"total"`
	Currency bursar.Currency `json:"currency"`
}

// WalletOf shows a user's wallet from its two balances. Wallets hold CNY
// only.
func WalletOf(user bursar.UserID, cash, earnings bursar.Money) Wallet {
	return Wallet{Object: "wallet", UserID: user, Cash: cash.Amount, Earnings: earnings.Amount,
		Total: cash.Amount + earnings.Amount, Currency: bursar.CNY}
}
