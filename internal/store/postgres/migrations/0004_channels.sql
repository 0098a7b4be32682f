-- Payment channels (Alipay, WeChat Pay): the withdrawal fields of orders, the
-- channel's references on refunds, an order's payments at the channels, and
-- the channels' notifications kept raw. Amounts are bigint minor units, and a
-- NULL time is the domain's zero time. Constraint and index names match the
-- SQLite schema, so both engines report a violation the same way.

-- A withdrawal's payee at the channel, the channel's reference for the
-- payout, why it failed and whether it waits for the platform's approval.
-- Other orders keep the defaults. No CHECK lists the order statuses, so the
-- withdrawal's (requested, processing, succeeded, failed) need no change.
ALTER TABLE orders ADD COLUMN payout_account text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN payout_name text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN channel_ref text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN failure_reason text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN needs_approval boolean NOT NULL DEFAULT false;

-- The daily withdrawal limits sum a user's withdrawals since a time. Only
-- withdrawals enter the index, so it stays small and the check reads a
-- user's few rows of the day; the query repeats the literal condition so the
-- planner can use it whatever the bound values.
CREATE INDEX orders_withdrawal_idx ON orders (buyer_id, created_at) WHERE type = 'withdrawal';

-- The refund number sent to the channel for the current attempt and the
-- channel's own refund id; empty for wallet refunds and until sent.
ALTER TABLE refunds ADD COLUMN channel_refund_no text NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN channel_ref text NOT NULL DEFAULT '';

-- A refund the channel is paying back (processing) is as open as one waiting
-- for a decision: the order may not ask again until it ends. The index keeps
-- its name, so a violation reads the same on both engines.
DROP INDEX refunds_one_open;
CREATE UNIQUE INDEX refunds_one_open ON refunds (order_id) WHERE status IN ('requested', 'processing');

-- An order's payment at a channel: one per order and channel, since the order
-- number is the channel's out_trade_no. The order is named by ID with no
-- foreign key, as refunds name theirs (see 0003). The channel sorts
-- bytewise (COLLATE "C"), as SQLite sorts it, so lists agree on both engines.
CREATE TABLE payments (
	order_id text NOT NULL,
	channel text COLLATE "C" NOT NULL,
	method text NOT NULL DEFAULT '',
	amount bigint NOT NULL,
	currency text NOT NULL,
	status text NOT NULL,
	trade_no text NOT NULL DEFAULT '',
	payer text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	paid_at timestamptz,
	updated_at timestamptz NOT NULL,
	CONSTRAINT payments_pkey PRIMARY KEY (order_id, channel),
	CONSTRAINT payments_amount_check CHECK (amount > 0)
);

-- Every notification a channel sends, kept for audit whatever it turned out
-- to be. The body is bytea: it is stored exactly as received, which need not
-- be UTF-8. The headers are json, not jsonb, which keeps the text as written
-- and takes any string (jsonb refuses \u0000), so no notice is lost to its
-- headers.
CREATE TABLE notices (
	id bigint GENERATED ALWAYS AS IDENTITY,
	channel text NOT NULL,
	received_at timestamptz NOT NULL,
	header json NOT NULL DEFAULT '{}',
	body bytea NOT NULL,
	kind text NOT NULL DEFAULT '',
	event text NOT NULL DEFAULT '',
	order_no text NOT NULL DEFAULT '',
	outcome text NOT NULL,
	detail text NOT NULL DEFAULT '',
	CONSTRAINT notices_pkey PRIMARY KEY (id),
	CONSTRAINT notices_header_check CHECK (json_typeof(header) = 'object')
);

-- An order's notifications are listed oldest first. Unreadable ones name no
-- order and stay out of the index.
CREATE INDEX notices_order_no_idx ON notices (order_no, id) WHERE order_no <> '';
