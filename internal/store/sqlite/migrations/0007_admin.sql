-- The admin console: the people who sign in and their sessions. Times are
-- INTEGER Unix milliseconds in UTC, NULL where the domain has a zero time.

CREATE TABLE admins (
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until INTEGER,
	created_at INTEGER NOT NULL,
	disabled_at INTEGER,
	CONSTRAINT admins_pkey PRIMARY KEY (name),
	CONSTRAINT admins_role_check CHECK (role IN ('viewer', 'operator'))
) STRICT;

-- A session is found by the hash of its cookie, and swept when it expires.
CREATE TABLE admin_sessions (
	hash TEXT NOT NULL,
	admin_name TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	CONSTRAINT admin_sessions_pkey PRIMARY KEY (hash),
	CONSTRAINT admin_sessions_admin_fkey FOREIGN KEY (admin_name) REFERENCES admins (name)
) STRICT;

CREATE INDEX admin_sessions_expires_idx ON admin_sessions (expires_at);

-- The console's queues and pages: refunds waiting for a decision or the
-- channel, an object's audit trail, the audit log newest first.
CREATE INDEX refunds_open_idx ON refunds (created_at, id) WHERE status IN ('requested', 'processing');
CREATE INDEX audit_log_subject_idx ON audit_log (subject, id);
-- The dashboard's paid volume and payments per hour read recent paid orders.
CREATE INDEX orders_paid_at_idx ON orders (paid_at) WHERE paid_at IS NOT NULL;
