-- Refund requests and buyers' reviews of completed purchases. Amounts are
-- bigint minor units, and a NULL time is the domain's zero time. Constraint
-- and index names match the SQLite schema, so both engines report a
-- violation the same way.

-- Refunds name their order by ID with no foreign key, as in the SQLite
-- schema: SQLite cannot say which foreign key failed, so both engines give
-- every violation the one "the user does not exist" error, and the service
-- reads (and locks) the order before it writes a refund anyway. The ID sorts
-- bytewise (COLLATE "C"), as SQLite sorts it, so lists agree on both engines.
CREATE TABLE refunds (
	id text COLLATE "C" NOT NULL,
	order_id text NOT NULL,
	amount bigint NOT NULL,
	currency text NOT NULL,
	reason text NOT NULL,
	status text NOT NULL,
	requested_by text NOT NULL,
	decided_by text NOT NULL DEFAULT '',
	decision_note text NOT NULL DEFAULT '',
	to_earnings bigint NOT NULL DEFAULT 0,
	to_cash bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL,
	decided_at timestamptz,
	CONSTRAINT refunds_pkey PRIMARY KEY (id),
	CONSTRAINT refunds_amount_check CHECK (amount > 0),
	CONSTRAINT refunds_split_check CHECK (to_earnings >= 0 AND to_cash >= 0)
);

-- An order has at most one refund waiting for a decision; decided ones
-- leave the index, so a buyer may ask again after a rejection.
CREATE UNIQUE INDEX refunds_one_open ON refunds (order_id) WHERE status = 'requested';
-- An order's refunds are listed oldest first.
CREATE INDEX refunds_order_idx ON refunds (order_id, created_at, id);

-- One review per order: the order ID is the key. It sorts bytewise, as the
-- list's tie-breaker and cursor.
CREATE TABLE reviews (
	order_id text COLLATE "C" NOT NULL,
	buyer_id text NOT NULL,
	seller_id text NOT NULL,
	item_id text NOT NULL DEFAULT '',
	score integer NOT NULL,
	comment text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	CONSTRAINT reviews_pkey PRIMARY KEY (order_id),
	CONSTRAINT reviews_score_check CHECK (score BETWEEN 1 AND 5)
);

-- A seller's reviews are listed newest first by (created_at, order_id) and
-- counted by score.
CREATE INDEX reviews_seller_idx ON reviews (seller_id, created_at, order_id);
