-- The marketplace around the ledger: users and their passwords, API
-- credentials, items, orders, durable jobs, idempotency keys and the audit log.
-- Amounts are bigint minor units, durations bigint whole seconds, and a NULL
-- time is the domain's zero time. Constraint names match the SQLite schema,
-- so both engines report a violation the same way.

CREATE TABLE users (
	id text NOT NULL,
	display_name text NOT NULL DEFAULT '',
	avatar_url text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	CONSTRAINT users_pkey PRIMARY KEY (id)
);

CREATE TABLE secrets (
	user_id text NOT NULL,
	kind text NOT NULL,
	hash text NOT NULL,
	wrong_tries integer NOT NULL DEFAULT 0,
	locked_until timestamptz,
	updated_at timestamptz NOT NULL,
	CONSTRAINT secrets_pkey PRIMARY KEY (user_id, kind),
	CONSTRAINT secrets_user_fkey FOREIGN KEY (user_id) REFERENCES users (id),
	CONSTRAINT secrets_wrong_tries_check CHECK (wrong_tries >= 0)
);

CREATE TABLE credentials (
	id text NOT NULL,
	kind text NOT NULL,
	user_id text, -- NULL for platform keys, which act for no one user
	name text NOT NULL DEFAULT '',
	hash text NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz,
	revoked_at timestamptz,
	CONSTRAINT credentials_pkey PRIMARY KEY (id),
	CONSTRAINT credentials_hash_unique UNIQUE (hash),
	CONSTRAINT credentials_user_fkey FOREIGN KEY (user_id) REFERENCES users (id)
);

CREATE INDEX credentials_user_idx ON credentials (user_id);

CREATE TABLE items (
	id text NOT NULL,
	seller_id text NOT NULL,
	kind text NOT NULL,
	title text NOT NULL,
	price bigint NOT NULL,
	currency text NOT NULL,
	hold_seconds bigint NOT NULL,
	duration_seconds bigint NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	CONSTRAINT items_pkey PRIMARY KEY (id),
	CONSTRAINT items_seller_fkey FOREIGN KEY (seller_id) REFERENCES users (id),
	CONSTRAINT items_price_check CHECK (price >= 0),
	CONSTRAINT items_seconds_check CHECK (hold_seconds >= 0 AND duration_seconds >= 0)
);

CREATE INDEX items_seller_idx ON items (seller_id);

-- Orders name users and items by ID only, with no foreign keys: a marketplace
-- may later own its users and items and tell Bursar only their IDs. An empty
-- seller_id or item_id means none. The ID sorts bytewise (COLLATE "C"), as
-- SQLite sorts it, so lists and their cursors agree on both engines whatever
-- the database's locale.
CREATE TABLE orders (
	id text COLLATE "C" NOT NULL,
	order_no text NOT NULL,
	type text NOT NULL,
	status text NOT NULL,
	buyer_id text NOT NULL,
	seller_id text NOT NULL DEFAULT '',
	item_id text NOT NULL DEFAULT '',
	subject text NOT NULL,
	amount bigint NOT NULL,
	currency text NOT NULL,
	channel text NOT NULL DEFAULT '',
	paid_from_cash bigint NOT NULL DEFAULT 0,
	paid_from_earnings bigint NOT NULL DEFAULT 0,
	refunded bigint NOT NULL DEFAULT 0,
	fee bigint NOT NULL DEFAULT 0,
	hold_seconds bigint NOT NULL DEFAULT 0,
	duration_seconds bigint NOT NULL DEFAULT 0,
	metadata jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL,
	expires_at timestamptz,
	paid_at timestamptz,
	release_at timestamptz,
	completed_at timestamptz,
	access_until timestamptz,
	updated_at timestamptz NOT NULL,
	CONSTRAINT orders_pkey PRIMARY KEY (id),
	CONSTRAINT orders_order_no_unique UNIQUE (order_no),
	CONSTRAINT orders_amount_check CHECK (amount >= 0),
	CONSTRAINT orders_paid_check CHECK (paid_from_cash >= 0 AND paid_from_earnings >= 0),
	CONSTRAINT orders_refunded_check CHECK (refunded >= 0),
	CONSTRAINT orders_fee_check CHECK (fee >= 0),
	CONSTRAINT orders_seconds_check CHECK (hold_seconds >= 0 AND duration_seconds >= 0),
	CONSTRAINT orders_metadata_check CHECK (jsonb_typeof(metadata) = 'object')
);

-- Lists run newest first by (created_at, id), for everyone, one buyer or one
-- seller; entitlement checks look up a buyer's purchases of one item.
CREATE INDEX orders_created_idx ON orders (created_at, id);
CREATE INDEX orders_buyer_idx ON orders (buyer_id, created_at, id);
CREATE INDEX orders_seller_idx ON orders (seller_id, created_at, id);
CREATE INDEX orders_buyer_item_idx ON orders (buyer_id, item_id, created_at);

CREATE TABLE jobs (
	id bigint GENERATED ALWAYS AS IDENTITY,
	kind text NOT NULL,
	ref text NOT NULL,
	run_at timestamptz NOT NULL,
	attempts integer NOT NULL DEFAULT 0,
	last_error text NOT NULL DEFAULT '',
	-- JobSchedule is not given the time, so the row's birth is the database's clock.
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT jobs_pkey PRIMARY KEY (id),
	CONSTRAINT jobs_kind_ref_unique UNIQUE (kind, ref)
);

CREATE INDEX jobs_run_at_idx ON jobs (run_at, id);

-- One row per Idempotency-Key: status 0 and a NULL body while the first
-- request runs, then its response.
CREATE TABLE idempotency_keys (
	scope text NOT NULL,
	key text NOT NULL,
	request_hash text NOT NULL,
	status integer NOT NULL DEFAULT 0,
	body bytea,
	created_at timestamptz NOT NULL,
	CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, key)
);

CREATE TABLE audit_log (
	id bigint GENERATED ALWAYS AS IDENTITY,
	actor text NOT NULL,
	action text NOT NULL,
	subject text NOT NULL DEFAULT '',
	detail text NOT NULL DEFAULT '',
	at timestamptz NOT NULL,
	CONSTRAINT audit_log_pkey PRIMARY KEY (id)
);
