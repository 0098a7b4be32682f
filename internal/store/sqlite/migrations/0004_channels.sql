-- Payment channels (Alipay, WeChat Pay): the withdrawal fields of orders, the
-- channel's references on refunds, an order's payments at the channels, and
-- the channels' notifications kept raw. Amounts are INTEGER minor units,
-- times INTEGER Unix milliseconds in UTC and NULL where the domain has a zero
-- time. Constraint and index names match the PostgreSQL schema, so both
-- engines report a violation the same way.

-- A withdrawal's payee at the channel, the channel's reference for the
-- payout, why it failed and whether it waits for the platform's approval.
-- Other orders keep the defaults. No CHECK lists the order statuses, so the
-- withdrawal's (requested, processing, succeeded, failed) need no change.
ALTER TABLE orders ADD COLUMN payout_account TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN payout_name TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN channel_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN failure_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN needs_approval INTEGER NOT NULL DEFAULT 0 CHECK (needs_approval IN (0, 1));

-- The daily withdrawal limits sum a user's withdrawals since a time. Only
-- withdrawals enter the index, so it stays small and the check reads a
-- user's few rows of the day; SQLite uses a partial index only when the
-- query repeats its condition literally, and the query does.
CREATE INDEX orders_withdrawal_idx ON orders (buyer_id, created_at) WHERE type = 'withdrawal';

-- The refund number sent to the channel for the current attempt and the
-- channel's own refund id; empty for wallet refunds and until sent.
ALTER TABLE refunds ADD COLUMN channel_refund_no TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN channel_ref TEXT NOT NULL DEFAULT '';

-- A refund the channel is paying back (processing) is as open as one waiting
-- for a decision: the order may not ask again until it ends. The index keeps
-- its name and its column, so a violation still reads as refunds.order_id
-- (see constraints.go).
DROP INDEX refunds_one_open;
CREATE UNIQUE INDEX refunds_one_open ON refunds (order_id) WHERE status IN ('requested', 'processing');

-- An order's payment at a channel: one per order and channel, since the order
-- number is the channel's out_trade_no. The order is named by ID with no
-- foreign key, as refunds name theirs (see 0003).
CREATE TABLE payments (
	order_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	method TEXT NOT NULL DEFAULT '',
	amount INTEGER NOT NULL,
	currency TEXT NOT NULL,
	status TEXT NOT NULL,
	trade_no TEXT NOT NULL DEFAULT '',
	payer TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	paid_at INTEGER,
	updated_at INTEGER NOT NULL,
	CONSTRAINT payments_pkey PRIMARY KEY (order_id, channel),
	CONSTRAINT payments_amount_check CHECK (amount > 0)
) STRICT;

-- Every notification a channel sends, kept for audit whatever it turned out
-- to be. The body is a BLOB: it is stored exactly as received, which need
-- not be UTF-8 (a STRICT table refuses TEXT there, so it cannot be stored
-- as text by mistake). The headers are JSON text. AUTOINCREMENT, as in
-- jobs, never hands out an ID twice, so an ID once logged names one notice.
CREATE TABLE notices (
	id INTEGER NOT NULL,
	channel TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	header TEXT NOT NULL DEFAULT '{}',
	body BLOB NOT NULL,
	kind TEXT NOT NULL DEFAULT '',
	event TEXT NOT NULL DEFAULT '',
	order_no TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL,
	detail TEXT NOT NULL DEFAULT '',
	CONSTRAINT notices_pkey PRIMARY KEY (id AUTOINCREMENT),
	CONSTRAINT notices_header_check CHECK (json_type(header) = 'object')
) STRICT;

-- An order's notifications are listed oldest first. Unreadable ones name no
-- order and stay out of the index.
CREATE INDEX notices_order_no_idx ON notices (order_no, id) WHERE order_no <> '';
