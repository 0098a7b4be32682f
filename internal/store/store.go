// Package store is the storage contract of Bursar: the DB and Tx interfaces
// that the service layer programs against. Its implementations live beneath
// it, one per engine (postgres, sqlite), and storetest holds the conformance
// suite both must pass.
//
// Only domain-shaped methods belong here; no driver or SQL type appears in a
// signature. Business rules belong in service, not in the engines: with two
// engines each rule would otherwise be written twice. The engines own what a
// database does best: atomicity, uniqueness and the never-negative balance check.
package store

import (
	"context"
	"time"

	"bursar.dev/bursar/internal/bursar"
)

// DB runs work in transactions; there is no way to write outside one.
type DB interface {
	// InTx runs fn in a read-write transaction and commits it if fn returns
	// nil. Engines may run fn more than once when the database asks for a
	// retry (a serialization failure or deadlock), so fn must have no effect
	// outside the transaction. A database that cannot be reached gives
	// bursar.Unavailable.
	InTx(ctx context.Context, fn func(Tx) error) error
	// InReadTx runs fn in a read-only transaction that sees one consistent
	// snapshot of the database.
	InReadTx(ctx context.Context, fn func(Tx) error) error
	// Migrate applies every migration that has not been applied yet. It is
	// safe to call from several processes at once.
	Migrate(ctx context.Context) error
	// MigrationsPending counts the migrations this binary knows that the
	// database has not applied; all of them on a database never migrated.
	MigrationsPending(ctx context.Context) (int, error)
	// MigrationsKnown counts the migrations this binary knows.
	MigrationsKnown() (int, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Engine names the implementation: "postgres" or "sqlite".
	Engine() string
	Close() error
}

// Prefetch names rows for Tx.Prefetch, in the order they will be read:
// the order, then the secrets, then the accounts.
type Prefetch struct {
	Order    bursar.OrderID
	Secrets  []SecretRef
	Accounts []bursar.AccountID
}

// SecretRef names a user's password of a kind.
type SecretRef struct {
	User bursar.UserID
	Kind bursar.SecretKind
}

// Tx is every query the service needs. Methods are noun-first, so they group
// by table.
type Tx interface {
	ReconTx // reconciliation against the channels' bills, in recon.go

	// EntryPost posts a validated entry atomically: it creates accounts it
	// names for the first time, applies each account's net change and records
	// the entry and its postings. An entry whose key was posted before with the
	// same fingerprint changes nothing and reports Replayed; with another
	// fingerprint it fails with bursar.Conflict. An account that may not go
	// negative and would fails with bursar.InsufficientFunds; an account that
	// exists in another currency fails with bursar.Invalid. On error nothing
	// of the entry has been written, but the transaction must be abandoned.
	EntryPost(ctx context.Context, e bursar.Entry) (bursar.PostResult, error)
	// EntryGet returns the entry posted under key, or bursar.NotFound.
	EntryGet(ctx context.Context, key string) (bursar.PostedEntry, error)
	// AccountGet returns an account with its balance, or bursar.NotFound.
	AccountGet(ctx context.Context, id bursar.AccountID) (bursar.Account, error)
	// LedgerVerify checks every ledger invariant (see bursar.LedgerCheck) over
	// the whole database and reports what it found; it returns an error only
	// when it could not look.
	LedgerVerify(ctx context.Context) (bursar.LedgerReport, error)

	// Prefetch names rows the transaction is about to read for update, so
	// that an engine can read and lock them in one round trip: each
	// *GetForUpdate call for one of them that follows, before any write, is
	// answered from what was read. It changes no outcome and no lock order
	// (the rows are locked in the order the calls would lock them), and
	// SQLite, which has no round trips, ignores it.
	Prefetch(ctx context.Context, p Prefetch) error
	// AccountGetForUpdate is AccountGet that also locks the account's balance
	// rows until the transaction ends (PostgreSQL; SQLite's single writer
	// makes every write transaction exclusive anyway).
	AccountGetForUpdate(ctx context.Context, id bursar.AccountID) (bursar.Account, error)
	// EntryList returns the entries whose Ref is ref, oldest first.
	EntryList(ctx context.Context, ref string) ([]bursar.PostedEntry, error)
	// PostingList returns an account's postings, newest first, with the
	// entry each belongs to, for wallet statements: at most limit, older
	// than the entry beforeEntry when it is not zero.
	PostingList(ctx context.Context, account bursar.AccountID, beforeEntry bursar.EntryID, limit int) ([]StatementLine, error)

	// UserInsert stores a new user; bursar.Conflict if the ID is taken.
	UserInsert(ctx context.Context, u bursar.User) error
	// UserGet returns a user, or bursar.NotFound.
	UserGet(ctx context.Context, id bursar.UserID) (bursar.User, error)
	// UserUpdate stores a user's display name, avatar and UpdatedAt;
	// bursar.NotFound if there is no such user.
	UserUpdate(ctx context.Context, u bursar.User) error
	// UserList returns users newest first (by creation time, then ID), at
	// most limit (1 to 100), older than the user after when it is not
	// empty, and whether there are more. An unknown after is bursar.Invalid.
	UserList(ctx context.Context, after bursar.UserID, limit int) ([]bursar.User, bool, error)

	// SecretGet returns a user's password of a kind, or bursar.NotFound
	// when none was set.
	SecretGet(ctx context.Context, user bursar.UserID, kind bursar.SecretKind) (bursar.Secret, error)
	// SecretGetForUpdate is SecretGet that locks the row until the
	// transaction ends, so parallel tries are counted one after another.
	SecretGetForUpdate(ctx context.Context, user bursar.UserID, kind bursar.SecretKind) (bursar.Secret, error)
	// SecretPut inserts or replaces a user's password of a kind, with its
	// counter and lock.
	SecretPut(ctx context.Context, s bursar.Secret) error

	// CredentialInsert stores a new credential; bursar.Conflict if its ID
	// or hash exists.
	CredentialInsert(ctx context.Context, c bursar.Credential) error
	// CredentialGetByHash returns the credential with the secret hash, or
	// bursar.NotFound. It does not check expiry or revocation.
	CredentialGetByHash(ctx context.Context, hash string) (bursar.Credential, error)
	// CredentialRevoke marks a credential revoked at the given time;
	// bursar.NotFound if there is none with the ID.
	CredentialRevoke(ctx context.Context, id bursar.CredentialID, at time.Time) error

	// ItemInsert stores a new item; bursar.Conflict if the ID is taken.
	ItemInsert(ctx context.Context, it bursar.Item) error
	// ItemGet returns an item, or bursar.NotFound.
	ItemGet(ctx context.Context, id bursar.ItemID) (bursar.Item, error)

	// OrderInsert stores a new order; bursar.Conflict if its ID or No is taken.
	OrderInsert(ctx context.Context, o bursar.Order) error
	// OrderGet returns an order, or bursar.NotFound.
	OrderGet(ctx context.Context, id bursar.OrderID) (bursar.Order, error)
	// OrderGetForUpdate is OrderGet that locks the row until the
	// transaction ends.
	OrderGetForUpdate(ctx context.Context, id bursar.OrderID) (bursar.Order, error)
	// OrderGetByNo returns the order with a merchant order number, or
	// bursar.NotFound.
	OrderGetByNo(ctx context.Context, no string) (bursar.Order, error)
	// OrderUpdate stores every mutable field of o (status, channel, paid
	// amounts, refunded, fee, times, metadata, the withdrawal fields) if the
	// stored order is still in status from: a compare-and-set that makes
	// racing updates harmless.
	// bursar.WrongState when the status has moved on, bursar.NotFound when
	// there is no such order.
	OrderUpdate(ctx context.Context, o bursar.Order, from bursar.OrderStatus) error
	// OrderList returns orders matching f, newest first (by creation time,
	// then ID), at most f.Limit of them, and whether there are more.
	OrderList(ctx context.Context, f bursar.OrderFilter) ([]bursar.Order, bool, error)
	// OrderFindEntitling returns the newest purchase by buyer of item whose
	// status is paid, refund_requested or completed and whose access lasts
	// past now (AccessUntil zero or after now), or bursar.NotFound.
	OrderFindEntitling(ctx context.Context, buyer bursar.UserID, item bursar.ItemID, now time.Time) (bursar.Order, error)

	// JobSchedule makes sure a job of kind for ref runs at runAt: it
	// creates the job or moves an existing one of the same kind and ref.
	JobSchedule(ctx context.Context, kind bursar.JobKind, ref string, runAt time.Time) error
	// JobCancel removes the job of kind for ref if there is one.
	JobCancel(ctx context.Context, kind bursar.JobKind, ref string) error
	// JobClaimDue returns up to limit jobs due at now, earliest first, and
	// on PostgreSQL locks them (FOR UPDATE SKIP LOCKED) so another
	// process's claim skips them until this transaction ends.
	JobClaimDue(ctx context.Context, now time.Time, limit int) ([]bursar.Job, error)
	// JobDone removes a finished job.
	JobDone(ctx context.Context, id int64) error
	// JobRetry counts a failed attempt and moves the job to runAt.
	JobRetry(ctx context.Context, id int64, runAt time.Time, lastError string) error
	// JobLag returns how late the earliest due job is at now (zero when
	// none is due) and how many jobs are due.
	JobLag(ctx context.Context, now time.Time) (time.Duration, int, error)
	// OpsStats counts what operators watch (see bursar.OpsStats), with
	// job lag measured at now, in one cheap query per figure.
	OpsStats(ctx context.Context, now time.Time) (bursar.OpsStats, error)

	// IdempotencyBegin records that a request with key (scoped to a
	// credential) and body hash started at now. When the key is new it
	// returns a zero record and true. Otherwise it returns the stored
	// record and false; its Status is 0 while the first request is still
	// running.
	IdempotencyBegin(ctx context.Context, scope, key, hash string, now time.Time) (IdempotencyRecord, bool, error)
	// IdempotencyFinish stores the response of the request with key.
	IdempotencyFinish(ctx context.Context, scope, key string, status int, body []byte) error
	// IdempotencyForget removes a key, so a request that failed before it
	// did anything can be sent again with it.
	IdempotencyForget(ctx context.Context, scope, key string) error
	// IdempotencyPurge removes up to limit keys begun before before, oldest
	// first, and returns how many it removed.
	IdempotencyPurge(ctx context.Context, before time.Time, limit int) (int, error)

	// AuditInsert appends to the audit log.
	AuditInsert(ctx context.Context, a bursar.AuditEntry) error

	// RefundInsert stores a new refund; bursar.Conflict if its ID is taken
	// or the order already has a refund in status requested or processing.
	RefundInsert(ctx context.Context, r bursar.Refund) error
	// RefundGet returns a refund, or bursar.NotFound.
	RefundGet(ctx context.Context, id bursar.RefundID) (bursar.Refund, error)
	// RefundGetForUpdate is RefundGet that locks the row until the
	// transaction ends.
	RefundGetForUpdate(ctx context.Context, id bursar.RefundID) (bursar.Refund, error)
	// RefundUpdate stores a refund's status, decision, split, channel
	// refund number and reference and DecidedAt if it is still in status from; bursar.WrongState when it moved on,
	// bursar.NotFound when there is no such refund.
	RefundUpdate(ctx context.Context, r bursar.Refund, from bursar.RefundStatus) error
	// RefundList returns an order's refunds, oldest first.
	RefundList(ctx context.Context, order bursar.OrderID) ([]bursar.Refund, error)

	// PaymentPut inserts an order's payment at a channel or replaces the
	// stored one (the key is the order and channel).
	PaymentPut(ctx context.Context, p bursar.Payment) error
	// PaymentGet returns an order's payment at a channel, or
	// bursar.NotFound.
	PaymentGet(ctx context.Context, order bursar.OrderID, ch bursar.Channel) (bursar.Payment, error)
	// PaymentList returns an order's payments, oldest first.
	PaymentList(ctx context.Context, order bursar.OrderID) ([]bursar.Payment, error)

	// NoticeInsert stores a channel notification and returns its ID.
	NoticeInsert(ctx context.Context, n bursar.Notice) (int64, error)
	// NoticeList returns the notifications naming an order number, oldest
	// first.
	NoticeList(ctx context.Context, orderNo string) ([]bursar.Notice, error)

	// WithdrawalTotals counts a user's withdrawals created at or after
	// since that did not fail, and sums their amounts.
	WithdrawalTotals(ctx context.Context, user bursar.UserID, since time.Time) (int, bursar.Amount, error)

	// EventInsert appends an event to the outbox with the next sequence
	// number of its subject (1 for the first) and returns that number.
	EventInsert(ctx context.Context, e bursar.Event) (int64, error)
	// EventGet returns an event, or bursar.NotFound.
	EventGet(ctx context.Context, id bursar.EventID) (bursar.Event, error)
	// EventList returns events matching f, newest first, at most f.Limit,
	// and whether there are more.
	EventList(ctx context.Context, f bursar.EventFilter) ([]bursar.Event, bool, error)

	// EndpointInsert stores a new webhook endpoint.
	EndpointInsert(ctx context.Context, e bursar.WebhookEndpoint) error
	// EndpointGet returns a webhook endpoint, or bursar.NotFound.
	EndpointGet(ctx context.Context, id bursar.EndpointID) (bursar.WebhookEndpoint, error)
	// EndpointUpdate stores an endpoint's URL, description, events, secret,
	// disabled flag and UpdatedAt; bursar.NotFound if there is none.
	EndpointUpdate(ctx context.Context, e bursar.WebhookEndpoint) error
	// EndpointList returns every endpoint, disabled ones too, oldest first.
	EndpointList(ctx context.Context) ([]bursar.WebhookEndpoint, error)

	// DeliveryInsert stores a new pending delivery and returns its ID.
	DeliveryInsert(ctx context.Context, d bursar.Delivery) (bursar.DeliveryID, error)
	// DeliveryGet returns a delivery, or bursar.NotFound.
	DeliveryGet(ctx context.Context, id bursar.DeliveryID) (bursar.Delivery, error)
	// DeliveryList returns deliveries matching f, newest first, at most
	// f.Limit, and whether there are more.
	DeliveryList(ctx context.Context, f bursar.DeliveryFilter) ([]bursar.Delivery, bool, error)
	// DeliveryDueEndpoints returns the endpoints with a pending delivery
	// due at now.
	DeliveryDueEndpoints(ctx context.Context, now time.Time) ([]bursar.EndpointID, error)
	// DeliveryClaim leases up to limit of an endpoint's pending deliveries
	// due at now, earliest first, by moving their NextAt to until. Only the
	// first pending delivery of each subject is eligible (by sequence, then
	// ID), so one subject's events go out one at a time, in order; a leased
	// one still blocks the next until it is updated.
	DeliveryClaim(ctx context.Context, endpoint bursar.EndpointID, now, until time.Time, limit int) ([]bursar.Delivery, error)
	// DeliveryUpdate stores a delivery's status, attempts, NextAt,
	// DeliveredAt and last answer; bursar.NotFound if there is none.
	DeliveryUpdate(ctx context.Context, d bursar.Delivery) error
	// DeliveryAttemptInsert records one try of a delivery.
	DeliveryAttemptInsert(ctx context.Context, a bursar.DeliveryAttempt) error
	// DeliveryAttemptList returns a delivery's tries, oldest first.
	DeliveryAttemptList(ctx context.Context, id bursar.DeliveryID) ([]bursar.DeliveryAttempt, error)

	// AdminInsert stores a new admin; bursar.Conflict if the name is taken.
	AdminInsert(ctx context.Context, a bursar.Admin) error
	// AdminGet returns an admin, or bursar.NotFound.
	AdminGet(ctx context.Context, name string) (bursar.Admin, error)
	// AdminGetForUpdate is AdminGet that locks the row until the
	// transaction ends, so parallel sign-ins are counted one after another.
	AdminGetForUpdate(ctx context.Context, name string) (bursar.Admin, error)
	// AdminUpdate stores an admin's role, password hash, failed sign-ins,
	// lock and DisabledAt; bursar.NotFound if there is none.
	AdminUpdate(ctx context.Context, a bursar.Admin) error
	// AdminList returns every admin by name.
	AdminList(ctx context.Context) ([]bursar.Admin, error)
	// AdminSessionInsert stores a session and removes those expired at its
	// creation.
	AdminSessionInsert(ctx context.Context, s bursar.AdminSession) error
	// AdminSessionGet returns the session with a cookie hash, or
	// bursar.NotFound. It does not check expiry.
	AdminSessionGet(ctx context.Context, hash string) (bursar.AdminSession, error)
	// AdminSessionDelete removes a session, if there is one.
	AdminSessionDelete(ctx context.Context, hash string) error
	// AdminSessionsEnd removes every session of an admin.
	AdminSessionsEnd(ctx context.Context, admin string) error

	// AuditList returns audit entries matching f, newest first, at most
	// f.Limit, and whether there are more.
	AuditList(ctx context.Context, f bursar.AuditFilter) ([]bursar.AuditEntry, bool, error)
	// RefundQueue returns up to limit refunds waiting for a decision or for
	// their channel, oldest first.
	RefundQueue(ctx context.Context, limit int) ([]bursar.Refund, error)
	// Dashboard sums up the money: what was paid since since, purchases by
	// status, escrow, the refund and withdrawal queues, and payments per
	// hour from hourlyFrom on.
	Dashboard(ctx context.Context, since, hourlyFrom time.Time) (bursar.Dashboard, error)

	// ReviewInsert stores a review; bursar.Conflict if the order has one.
	ReviewInsert(ctx context.Context, r bursar.Review) error
	// ReviewGet returns an order's review, or bursar.NotFound.
	ReviewGet(ctx context.Context, order bursar.OrderID) (bursar.Review, error)
	// ReviewList returns a seller's reviews, newest first (by creation
	// time, then order ID), at most limit, older than the review of order
	// after when it is not empty, and whether there are more.
	ReviewList(ctx context.Context, seller bursar.UserID, after bursar.OrderID, limit int) ([]bursar.Review, bool, error)
	// ReviewSummary counts a seller's reviews by score.
	ReviewSummary(ctx context.Context, seller bursar.UserID) (bursar.RatingSummary, error)
}

// StatementLine is one posting to an account, with its entry.
type StatementLine struct {
	Entry    bursar.EntryID
	Key      string
	Kind     bursar.EntryKind
	Ref      string
	Memo     string
	Amount   bursar.Amount
	Currency bursar.Currency
	PostedAt time.Time
}

// IdempotencyRecord is what is stored for an Idempotency-Key.
type IdempotencyRecord struct {
	Hash      string // of the first request's method, path and body
	Status    int    // the first response's HTTP status; 0 while in flight
	Body      []byte
	CreatedAt time.Time
}
