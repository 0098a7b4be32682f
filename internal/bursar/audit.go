package bursar

import "time"

// AuditEntry records who did what to which object, for the audit log.
type AuditEntry struct {
	ID      int64
	Actor   string // "platform:cred_…", "user:42", "admin:alice", "system"
	Action  string // "wallet.adjust", "refund.approve", …
	Subject string // the object acted on: an order, a user, an account
	Detail  string // free text or JSON for people: the reason, before and after
	At      time.Time
}
