-- Reconciliation against the channels' daily bills: each run and the
-- exceptions it found. Runs only read the money tables; nothing here is
-- money. Amounts are INTEGER minor units, times INTEGER Unix milliseconds in
-- UTC and NULL where the domain has a zero time; a run's day is its Beijing
-- date as yyyy-MM-dd text. Names match the PostgreSQL schema.

CREATE TABLE recon_runs (
	id TEXT NOT NULL,
	channel TEXT NOT NULL,
	day TEXT NOT NULL,
	status TEXT NOT NULL,
	started_by TEXT NOT NULL DEFAULT '',
	started_at INTEGER NOT NULL,
	finished_at INTEGER,
	error TEXT NOT NULL DEFAULT '',
	lines INTEGER NOT NULL DEFAULT 0,
	matched INTEGER NOT NULL DEFAULT 0,
	missing_ours INTEGER NOT NULL DEFAULT 0,
	missing_theirs INTEGER NOT NULL DEFAULT 0,
	amount_mismatches INTEGER NOT NULL DEFAULT 0,
	status_mismatches INTEGER NOT NULL DEFAULT 0,
	bill_payments INTEGER NOT NULL DEFAULT 0,
	bill_payment_total INTEGER NOT NULL DEFAULT 0,
	bill_refunds INTEGER NOT NULL DEFAULT 0,
	bill_refund_total INTEGER NOT NULL DEFAULT 0,
	bill_fee_total INTEGER NOT NULL DEFAULT 0,
	our_payments INTEGER NOT NULL DEFAULT 0,
	our_payment_total INTEGER NOT NULL DEFAULT 0,
	our_refunds INTEGER NOT NULL DEFAULT 0,
	our_refund_total INTEGER NOT NULL DEFAULT 0,
	our_payouts INTEGER NOT NULL DEFAULT 0,
	our_payout_total INTEGER NOT NULL DEFAULT 0,
	CONSTRAINT recon_runs_pkey PRIMARY KEY (id),
	CONSTRAINT recon_runs_status_check CHECK (status IN ('running', 'done', 'failed'))
) STRICT;

-- Runs are listed newest first, for a channel and day or all of them.
CREATE INDEX recon_runs_started_idx ON recon_runs (started_at, id);
CREATE INDEX recon_runs_channel_day_idx ON recon_runs (channel, day);

-- The match key (kind and numbers) finds the same disagreement in another
-- run of the channel and day, to carry a resolution over.
CREATE TABLE recon_exceptions (
	id TEXT NOT NULL,
	run_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	day TEXT NOT NULL,
	kind TEXT NOT NULL,
	match_key TEXT NOT NULL,
	line INTEGER NOT NULL DEFAULT 0,
	order_no TEXT NOT NULL DEFAULT '',
	trade_no TEXT NOT NULL DEFAULT '',
	refund_no TEXT NOT NULL DEFAULT '',
	bill_amount INTEGER NOT NULL DEFAULT 0,
	bill_fee INTEGER NOT NULL DEFAULT 0,
	bill_at INTEGER,
	order_id TEXT NOT NULL DEFAULT '',
	refund_id TEXT NOT NULL DEFAULT '',
	our_amount INTEGER NOT NULL DEFAULT 0,
	our_status TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	action TEXT NOT NULL DEFAULT '',
	note TEXT NOT NULL DEFAULT '',
	resolved_by TEXT NOT NULL DEFAULT '',
	resolved_at INTEGER,
	carried_from TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	CONSTRAINT recon_exceptions_pkey PRIMARY KEY (id),
	CONSTRAINT recon_exceptions_run_fkey FOREIGN KEY (run_id) REFERENCES recon_runs (id),
	CONSTRAINT recon_exceptions_kind_check CHECK (kind IN ('missing_ours', 'missing_theirs', 'amount_mismatch', 'status_mismatch')),
	CONSTRAINT recon_exceptions_status_check CHECK (status IN ('open', 'resolved', 'superseded'))
) STRICT;

CREATE INDEX recon_exceptions_run_idx ON recon_exceptions (run_id, line);
CREATE INDEX recon_exceptions_status_idx ON recon_exceptions (status, created_at, id);
CREATE INDEX recon_exceptions_channel_day_idx ON recon_exceptions (channel, day, status);

-- Bursar's side of a channel's day: payments by the channel's payment time,
-- refunds and returns by their ledger entry's time, payouts by completion.
-- Without these a run would read every payment, entry or withdrawal ever.
CREATE INDEX payments_channel_paid_idx ON payments (channel, paid_at);
CREATE INDEX entries_kind_posted_idx ON entries (kind, posted_at);
CREATE INDEX orders_payout_idx ON orders (channel, completed_at) WHERE type = 'withdrawal';
