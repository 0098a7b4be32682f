-- The admin console: the people who sign in and their sessions.

CREATE TABLE admins (
	name text NOT NULL,
	role text NOT NULL,
	password_hash text NOT NULL,
	failed_logins integer NOT NULL DEFAULT 0,
	locked_until timestamptz,
	created_at timestamptz NOT NULL,
	disabled_at timestamptz,
	CONSTRAINT admins_pkey PRIMARY KEY (name),
	CONSTRAINT admins_role_check CHECK (role IN ('viewer', 'operator'))
);

-- A session is found by the hash of its cookie, and swept when it expires.
CREATE TABLE admin_sessions (
	hash text NOT NULL,
	admin_name text NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	CONSTRAINT admin_sessions_pkey PRIMARY KEY (hash),
	CONSTRAINT admin_sessions_admin_fkey FOREIGN KEY (admin_name) REFERENCES admins (name)
);

CREATE INDEX admin_sessions_expires_idx ON admin_sessions (expires_at);

-- The console's queues and pages: refunds waiting for a decision or the
-- channel, an object's audit trail, the audit log newest first.
CREATE INDEX refunds_open_idx ON refunds (created_at, id) WHERE status IN ('requested', 'processing');
CREATE INDEX audit_log_subject_idx ON audit_log (subject, id);
-- The dashboard's paid volume and payments per hour read recent paid orders.
CREATE INDEX orders_paid_at_idx ON orders (paid_at) WHERE paid_at IS NOT NULL;
