-- Outgoing webhooks: the outbox of events, the platform's endpoints, and the
-- deliveries of events to endpoints with every attempt's answer. Constraint
-- and index names match the SQLite schema.

-- Events are written in the transaction of the change they report. pos
-- orders them for lists; seq numbers a subject's (an order's) events 1, 2,
-- 3… and the unique constraint catches two writers numbering one twice.
CREATE TABLE events (
	pos bigint GENERATED ALWAYS AS IDENTITY,
	id text NOT NULL,
	type text NOT NULL,
	subject text NOT NULL,
	order_id text NOT NULL DEFAULT '',
	seq bigint NOT NULL,
	data text NOT NULL,
	created_at timestamptz NOT NULL,
	CONSTRAINT events_pkey PRIMARY KEY (pos),
	CONSTRAINT events_id_unique UNIQUE (id),
	CONSTRAINT events_subject_seq_unique UNIQUE (subject, seq)
);

CREATE INDEX events_order_idx ON events (order_id, pos) WHERE order_id <> '';

-- events is a JSON array of event types; the secret signs every delivery.
CREATE TABLE webhook_endpoints (
	id text NOT NULL,
	url text NOT NULL,
	description text NOT NULL DEFAULT '',
	events text NOT NULL,
	secret text NOT NULL,
	disabled boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id)
);

-- One event on its way to one endpoint. The event's subject and seq are
-- copied here so the claim can keep a subject's deliveries in order without
-- a join.
CREATE TABLE webhook_deliveries (
	id bigint GENERATED ALWAYS AS IDENTITY,
	endpoint_id text NOT NULL,
	event_id text NOT NULL,
	type text NOT NULL,
	subject text NOT NULL,
	seq bigint NOT NULL,
	status text NOT NULL,
	attempts integer NOT NULL DEFAULT 0,
	next_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL,
	delivered_at timestamptz,
	last_status integer NOT NULL DEFAULT 0,
	last_error text NOT NULL DEFAULT '',
	last_body text NOT NULL DEFAULT '',
	CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
	CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'succeeded', 'failed'))
);

-- Only pending deliveries are claimed, so only they are indexed for it.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (endpoint_id, next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_subject_idx ON webhook_deliveries (endpoint_id, subject, seq, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
	id bigint GENERATED ALWAYS AS IDENTITY,
	delivery_id bigint NOT NULL,
	at timestamptz NOT NULL,
	status integer NOT NULL,
	error text NOT NULL DEFAULT '',
	body text NOT NULL DEFAULT '',
	duration_ms bigint NOT NULL,
	CONSTRAINT webhook_attempts_pkey PRIMARY KEY (id)
);

CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);
