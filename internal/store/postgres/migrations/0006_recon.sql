-- Reconciliation against the channels' daily bills: each run and the
-- exceptions it found. Runs only read the money tables; nothing here is
-- money. Amounts and counts are bigint, a NULL time is the domain's zero
-- time, and a run's day is its Beijing date as yyyy-MM-dd text, as in
-- SQLite, so both engines compare and show it alike. Names match the SQLite
-- schema.

CREATE TABLE recon_runs (
	id text NOT NULL,
	channel text NOT NULL,
	day text NOT NULL,
	status text NOT NULL,
	started_by text NOT NULL DEFAULT '',
	started_at timestamptz NOT NULL,
	finished_at timestamptz,
	error text NOT NULL DEFAULT '',
	lines bigint NOT NULL DEFAULT 0,
	matched bigint NOT NULL DEFAULT 0,
	missing_ours bigint NOT NULL DEFAULT 0,
	missing_theirs bigint NOT NULL DEFAULT 0,
	amount_mismatches bigint NOT NULL DEFAULT 0,
	status_mismatches bigint NOT NULL DEFAULT 0,
	bill_payments bigint NOT NULL DEFAULT 0,
	bill_payment_total bigint NOT NULL DEFAULT 0,
	bill_refunds bigint NOT NULL DEFAULT 0,
	bill_refund_total bigint NOT NULL DEFAULT 0,
	bill_fee_total bigint NOT NULL DEFAULT 0,
	our_payments bigint NOT NULL DEFAULT 0,
	our_payment_total bigint NOT NULL DEFAULT 0,
	our_refunds bigint NOT NULL DEFAULT 0,
	our_refund_total bigint NOT NULL DEFAULT 0,
	our_payouts bigint NOT NULL DEFAULT 0,
	our_payout_total bigint NOT NULL DEFAULT 0,
	CONSTRAINT recon_runs_pkey PRIMARY KEY (id),
	CONSTRAINT recon_runs_status_check CHECK (status IN ('running', 'done', 'failed'))
);

-- Runs are listed newest first, for a channel and day or all of them.
CREATE INDEX recon_runs_started_idx ON recon_runs (started_at, id);
CREATE INDEX recon_runs_channel_day_idx ON recon_runs (channel, day);

-- The match key (kind and numbers) finds the same disagreement in another
-- run of the channel and day, to carry a resolution over.
CREATE TABLE recon_exceptions (
	id text NOT NULL,
	run_id text NOT NULL,
	channel text NOT NULL,
	day text NOT NULL,
	kind text NOT NULL,
	match_key text NOT NULL,
	line bigint NOT NULL DEFAULT 0,
	order_no text NOT NULL DEFAULT '',
	trade_no text NOT NULL DEFAULT '',
	refund_no text NOT NULL DEFAULT '',
	bill_amount bigint NOT NULL DEFAULT 0,
	bill_fee bigint NOT NULL DEFAULT 0,
	bill_at timestamptz,
	order_id text NOT NULL DEFAULT '',
	refund_id text NOT NULL DEFAULT '',
	our_amount bigint NOT NULL DEFAULT 0,
	our_status text NOT NULL DEFAULT '',
	detail text NOT NULL DEFAULT '',
	status text NOT NULL,
	action text NOT NULL DEFAULT '',
	note text NOT NULL DEFAULT '',
	resolved_by text NOT NULL DEFAULT '',
	resolved_at timestamptz,
	carried_from text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	CONSTRAINT recon_exceptions_pkey PRIMARY KEY (id),
	CONSTRAINT recon_exceptions_run_fkey FOREIGN KEY (run_id) REFERENCES recon_runs (id),
	CONSTRAINT recon_exceptions_kind_check CHECK (kind IN ('missing_ours', 'missing_theirs', 'amount_mismatch', 'status_mismatch')),
	CONSTRAINT recon_exceptions_status_check CHECK (status IN ('open', 'resolved', 'superseded'))
);

CREATE INDEX recon_exceptions_run_idx ON recon_exceptions (run_id, line);
CREATE INDEX recon_exceptions_status_idx ON recon_exceptions (status, created_at, id);
CREATE INDEX recon_exceptions_channel_day_idx ON recon_exceptions (channel, day, status);

-- Bursar's side of a channel's day: payments by the channel's payment time,
-- refunds and returns by their ledger entry's time, payouts by completion.
-- Without these a run would read every payment, entry or withdrawal ever.
-- The payout index repeats the query's literal condition, as
-- orders_withdrawal_idx does.
CREATE INDEX payments_channel_paid_idx ON payments (channel, paid_at);
CREATE INDEX entries_kind_posted_idx ON entries (kind, posted_at);
CREATE INDEX orders_payout_idx ON orders (channel, completed_at) WHERE type = 'withdrawal';
