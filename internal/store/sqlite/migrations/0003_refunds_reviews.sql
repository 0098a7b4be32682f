-- Refund requests and buyers' reviews of completed purchases. Amounts are
-- INTEGER minor units, times INTEGER Unix milliseconds in UTC and NULL where
-- the domain has a zero time. Constraint and index names match the
-- PostgreSQL schema, so both engines report a violation the same way.

-- Refunds name their order by ID with no foreign key: constraints.go turns
-- every foreign-key violation into "the user does not exist", because SQLite
-- cannot say which key failed, and the service reads (and locks) the order
-- before it writes a refund anyway.
CREATE TABLE refunds (
	id TEXT NOT NULL,
	order_id TEXT NOT NULL,
	amount INTEGER NOT NULL,
	currency TEXT NOT NULL,
	reason TEXT NOT NULL,
	status TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	decided_by TEXT NOT NULL DEFAULT '',
	decision_note TEXT NOT NULL DEFAULT '',
	to_earnings INTEGER NOT NULL DEFAULT 0,
	to_cash INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	decided_at INTEGER,
	CONSTRAINT refunds_pkey PRIMARY KEY (id),
	CONSTRAINT refunds_amount_check CHECK (amount > 0),
	CONSTRAINT refunds_split_check CHECK (to_earnings >= 0 AND to_cash >= 0)
) STRICT;

-- An order has at most one refund waiting for a decision; decided ones
-- leave the index, so a buyer may ask again after a rejection.
CREATE UNIQUE INDEX refunds_one_open ON refunds (order_id) WHERE status = 'requested';
-- An order's refunds are listed oldest first.
CREATE INDEX refunds_order_idx ON refunds (order_id, created_at, id);

-- One review per order: the order ID is the key.
CREATE TABLE reviews (
	order_id TEXT NOT NULL,
	buyer_id TEXT NOT NULL,
	seller_id TEXT NOT NULL,
	item_id TEXT NOT NULL DEFAULT '',
	score INTEGER NOT NULL,
	comment TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	CONSTRAINT reviews_pkey PRIMARY KEY (order_id),
	CONSTRAINT reviews_score_check CHECK (score BETWEEN 1 AND 5)
) STRICT;

-- A seller's reviews are listed newest first by (created_at, order_id) and
-- counted by score.
CREATE INDEX reviews_seller_idx ON reviews (seller_id, created_at, order_id);
