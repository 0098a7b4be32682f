-- The marketplace around the ledger: users and their passwords, API
-- credentials, items, orders, durable jobs, idempotency keys and the audit log.
-- Amounts are INTEGER minor units, durations INTEGER whole seconds, times
-- INTEGER Unix milliseconds in UTC and NULL where the domain has a zero time.
-- Constraint names match the PostgreSQL schema, so both engines report a
-- violation the same way.

CREATE TABLE users (
	id TEXT NOT NULL,
	display_name TEXT NOT NULL DEFAULT '',
	avatar_url TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	CONSTRAINT users_pkey PRIMARY KEY (id)
) STRICT;

CREATE TABLE secrets (
	user_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	hash TEXT NOT NULL,
	wrong_tries INTEGER NOT NULL DEFAULT 0,
	locked_until INTEGER,
	updated_at INTEGER NOT NULL,
	CONSTRAINT secrets_pkey PRIMARY KEY (user_id, kind),
	CONSTRAINT secrets_user_fkey FOREIGN KEY (user_id) REFERENCES users (id),
	CONSTRAINT secrets_wrong_tries_check CHECK (wrong_tries >= 0)
) STRICT;

CREATE TABLE credentials (
	id TEXT NOT NULL,
	kind TEXT NOT NULL,
	user_id TEXT, -- NULL for platform keys, which act for no one user
	name TEXT NOT NULL DEFAULT '',
	hash TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER,
	revoked_at INTEGER,
	CONSTRAINT credentials_pkey PRIMARY KEY (id),
	CONSTRAINT credentials_hash_unique UNIQUE (hash),
	CONSTRAINT credentials_user_fkey FOREIGN KEY (user_id) REFERENCES users (id)
) STRICT;

CREATE INDEX credentials_user_idx ON credentials (user_id);

CREATE TABLE items (
	id TEXT NOT NULL,
	seller_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	title TEXT NOT NULL,
	price INTEGER NOT NULL,
	currency TEXT NOT NULL,
	hold_seconds INTEGER NOT NULL,
	duration_seconds INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	CONSTRAINT items_pkey PRIMARY KEY (id),
	CONSTRAINT items_seller_fkey FOREIGN KEY (seller_id) REFERENCES users (id),
	CONSTRAINT items_price_check CHECK (price >= 0),
	CONSTRAINT items_seconds_check CHECK (hold_seconds >= 0 AND duration_seconds >= 0)
) STRICT;

CREATE INDEX items_seller_idx ON items (seller_id);

-- Orders name users and items by ID only, with no foreign keys: a marketplace
-- may later own its users and items and tell Bursar only their IDs. An empty
-- seller_id or item_id means none.
CREATE TABLE orders (
	id TEXT NOT NULL,
	order_no TEXT NOT NULL,
	type TEXT NOT NULL,
	status TEXT NOT NULL,
	buyer_id TEXT NOT NULL,
	seller_id TEXT NOT NULL DEFAULT '',
	item_id TEXT NOT NULL DEFAULT '',
	subject TEXT NOT NULL,
	amount INTEGER NOT NULL,
	currency TEXT NOT NULL,
	channel TEXT NOT NULL DEFAULT '',
	paid_from_cash INTEGER NOT NULL DEFAULT 0,
	paid_from_earnings INTEGER NOT NULL DEFAULT 0,
	refunded INTEGER NOT NULL DEFAULT 0,
	fee INTEGER NOT NULL DEFAULT 0,
	hold_seconds INTEGER NOT NULL DEFAULT 0,
	duration_seconds INTEGER NOT NULL DEFAULT 0,
	metadata TEXT NOT NULL DEFAULT '{}',
	created_at INTEGER NOT NULL,
	expires_at INTEGER,
	paid_at INTEGER,
	release_at INTEGER,
	completed_at INTEGER,
	access_until INTEGER,
	updated_at INTEGER NOT NULL,
	CONSTRAINT orders_pkey PRIMARY KEY (id),
	CONSTRAINT orders_order_no_unique UNIQUE (order_no),
	CONSTRAINT orders_amount_check CHECK (amount >= 0),
	CONSTRAINT orders_paid_check CHECK (paid_from_cash >= 0 AND paid_from_earnings >= 0),
	CONSTRAINT orders_refunded_check CHECK (refunded >= 0),
	CONSTRAINT orders_fee_check CHECK (fee >= 0),
	CONSTRAINT orders_seconds_check CHECK (hold_seconds >= 0 AND duration_seconds >= 0),
	CONSTRAINT orders_metadata_check CHECK (json_type(metadata) = 'object')
) STRICT;

-- Lists run newest first by (created_at, id), for everyone, one buyer or one
-- seller; entitlement checks look up a buyer's purchases of one item.
CREATE INDEX orders_created_idx ON orders (created_at, id);
CREATE INDEX orders_buyer_idx ON orders (buyer_id, created_at, id);
CREATE INDEX orders_seller_idx ON orders (seller_id, created_at, id);
CREATE INDEX orders_buyer_item_idx ON orders (buyer_id, item_id, created_at);

-- AUTOINCREMENT keeps SQLite from reusing the ID of a deleted job, so a
-- worker's late JobDone can never remove a newer job.
CREATE TABLE jobs (
	id INTEGER NOT NULL,
	kind TEXT NOT NULL,
	ref TEXT NOT NULL,
	run_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	-- JobSchedule is not given the time, so the row's birth is the database's clock.
	created_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)),
	CONSTRAINT jobs_pkey PRIMARY KEY (id AUTOINCREMENT),
	CONSTRAINT jobs_kind_ref_unique UNIQUE (kind, ref)
) STRICT;

CREATE INDEX jobs_run_at_idx ON jobs (run_at, id);

-- One row per Idempotency-Key: status 0 and a NULL body while the first
-- request runs, then its response.
CREATE TABLE idempotency_keys (
	scope TEXT NOT NULL,
	key TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	status INTEGER NOT NULL DEFAULT 0,
	body BLOB,
	created_at INTEGER NOT NULL,
	CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, key)
) STRICT;

CREATE TABLE audit_log (
	id INTEGER NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	subject TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT '',
	at INTEGER NOT NULL,
	CONSTRAINT audit_log_pkey PRIMARY KEY (id AUTOINCREMENT)
) STRICT;
