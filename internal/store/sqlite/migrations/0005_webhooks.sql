-- Outgoing webhooks: the outbox of events, the platform's endpoints, and the
-- deliveries of events to endpoints with every attempt's answer. Times are
-- INTEGER Unix milliseconds in UTC, NULL where the domain has a zero time.
-- Constraint and index names match the PostgreSQL schema.

-- Events are written in the transaction of the change they report. pos
-- orders them for lists; seq numbers a subject's (an order's) events 1, 2,
-- 3… and the unique constraint catches two writers numbering one twice.
CREATE TABLE events (
	pos INTEGER NOT NULL,
	id TEXT NOT NULL,
	type TEXT NOT NULL,
	subject TEXT NOT NULL,
	order_id TEXT NOT NULL DEFAULT '',
	seq INTEGER NOT NULL,
	data TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	CONSTRAINT events_pkey PRIMARY KEY (pos AUTOINCREMENT),
	CONSTRAINT events_id_unique UNIQUE (id),
	CONSTRAINT events_subject_seq_unique UNIQUE (subject, seq)
) STRICT;

CREATE INDEX events_order_idx ON events (order_id, pos) WHERE order_id <> '';

-- events is a JSON array of event types; the secret signs every delivery.
CREATE TABLE webhook_endpoints (
	id TEXT NOT NULL,
	url TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	events TEXT NOT NULL,
	secret TEXT NOT NULL,
	disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id)
) STRICT;

-- One event on its way to one endpoint. The event's subject and seq are
-- copied here so the claim can keep a subject's deliveries in order without
-- a join.
CREATE TABLE webhook_deliveries (
	id INTEGER NOT NULL,
	endpoint_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	type TEXT NOT NULL,
	subject TEXT NOT NULL,
	seq INTEGER NOT NULL,
	status TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	delivered_at INTEGER,
	last_status INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	last_body TEXT NOT NULL DEFAULT '',
	CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id AUTOINCREMENT),
	CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'succeeded', 'failed'))
) STRICT;

-- Only pending deliveries are claimed, so only they are indexed for it.
-- SQLite uses a partial index only when the query repeats its condition
-- literally, and the queries do.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (endpoint_id, next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_subject_idx ON webhook_deliveries (endpoint_id, subject, seq, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
	id INTEGER NOT NULL,
	delivery_id INTEGER NOT NULL,
	at INTEGER NOT NULL,
	status INTEGER NOT NULL,
	error TEXT NOT NULL DEFAULT '',
	body TEXT NOT NULL DEFAULT '',
	duration_ms INTEGER NOT NULL,
	CONSTRAINT webhook_attempts_pkey PRIMARY KEY (id AUTOINCREMENT)
) STRICT;

CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);
