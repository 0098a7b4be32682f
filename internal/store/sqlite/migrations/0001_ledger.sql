-- The double-entry ledger: accounts, their balance rows, entries and postings.
-- Amounts are INTEGER minor units (fen); times are INTEGER Unix milliseconds,
-- UTC. Constraint names match the PostgreSQL schema.

CREATE TABLE accounts (
	id TEXT NOT NULL,
	currency TEXT NOT NULL,
	may_go_negative INTEGER NOT NULL CHECK (may_go_negative IN (0, 1)),
	shards INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	CONSTRAINT accounts_pkey PRIMARY KEY (id),
	CONSTRAINT accounts_shards_check CHECK (shards >= 1)
) STRICT;

-- An account's balance is the sum of its rows here; see the PostgreSQL
-- migration for why hot accounts have several.
CREATE TABLE account_balances (
	account_id TEXT NOT NULL,
	shard INTEGER NOT NULL,
	currency TEXT NOT NULL,
	may_go_negative INTEGER NOT NULL CHECK (may_go_negative IN (0, 1)),
	balance INTEGER NOT NULL DEFAULT 0,
	version INTEGER NOT NULL DEFAULT 0,
	CONSTRAINT account_balances_pkey PRIMARY KEY (account_id, shard),
	CONSTRAINT account_balances_account_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
	CONSTRAINT account_balances_non_negative CHECK (may_go_negative OR balance >= 0)
) STRICT;

CREATE TABLE entries (
	id INTEGER NOT NULL,
	key TEXT NOT NULL,
	kind TEXT NOT NULL,
	ref TEXT NOT NULL DEFAULT '',
	memo TEXT NOT NULL DEFAULT '',
	fingerprint TEXT NOT NULL,
	posted_at INTEGER NOT NULL,
	CONSTRAINT entries_pkey PRIMARY KEY (id AUTOINCREMENT),
	CONSTRAINT entries_key_unique UNIQUE (key)
) STRICT;

CREATE INDEX entries_ref_idx ON entries (ref) WHERE ref <> '';

CREATE TABLE postings (
	entry_id INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	account_id TEXT NOT NULL,
	currency TEXT NOT NULL,
	amount INTEGER NOT NULL,
	CONSTRAINT postings_pkey PRIMARY KEY (entry_id, seq),
	CONSTRAINT postings_entry_fkey FOREIGN KEY (entry_id) REFERENCES entries (id),
	CONSTRAINT postings_account_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
	CONSTRAINT postings_amount_check CHECK (amount <> 0)
) STRICT;

CREATE INDEX postings_account_idx ON postings (account_id, entry_id);
