-- The double-entry ledger: accounts, their balance rows, entries and postings.
-- Amounts are bigint minor units (fen). Constraint names match the SQLite schema.

CREATE TABLE accounts (
	id text NOT NULL,
	currency text NOT NULL,
	may_go_negative boolean NOT NULL,
	shards integer NOT NULL,
	created_at timestamptz NOT NULL,
	CONSTRAINT accounts_pkey PRIMARY KEY (id),
	CONSTRAINT accounts_shards_check CHECK (shards >= 1)
);

-- An account's balance is the sum of its rows here. Most accounts have one
-- row; hot accounts (channel:*, platform:fees) have several so that concurrent
-- payments update different rows instead of queueing on one lock. Currency and
-- may_go_negative are copied from accounts so the never-negative rule is a
-- CHECK on the row that changes.
CREATE TABLE account_balances (
	account_id text NOT NULL,
	shard integer NOT NULL,
	currency text NOT NULL,
	may_go_negative boolean NOT NULL,
	balance bigint NOT NULL DEFAULT 0,
	version bigint NOT NULL DEFAULT 0,
	CONSTRAINT account_balances_pkey PRIMARY KEY (account_id, shard),
	CONSTRAINT account_balances_account_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
	CONSTRAINT account_balances_non_negative CHECK (may_go_negative OR balance >= 0)
);

CREATE TABLE entries (
	id bigint GENERATED ALWAYS AS IDENTITY,
	key text NOT NULL,
	kind text NOT NULL,
	ref text NOT NULL DEFAULT '',
	memo text NOT NULL DEFAULT '',
	fingerprint text NOT NULL,
	posted_at timestamptz NOT NULL,
	CONSTRAINT entries_pkey PRIMARY KEY (id),
	CONSTRAINT entries_key_unique UNIQUE (key)
);

CREATE INDEX entries_ref_idx ON entries (ref) WHERE ref <> '';

CREATE TABLE postings (
	entry_id bigint NOT NULL,
	seq integer NOT NULL,
	account_id text NOT NULL,
	currency text NOT NULL,
	amount bigint NOT NULL,
	CONSTRAINT postings_pkey PRIMARY KEY (entry_id, seq),
	CONSTRAINT postings_entry_fkey FOREIGN KEY (entry_id) REFERENCES entries (id),
	CONSTRAINT postings_account_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
	CONSTRAINT postings_amount_check CHECK (amount <> 0)
);

CREATE INDEX postings_account_idx ON postings (account_id, entry_id);
