package bursar

import "time"

// JobKind names a kind of work that happens later.
type JobKind string

// The job kinds.
const (
	JobRelease JobKind = "release" // release a paid order's escrow at its release_at
	JobExpire  JobKind = "expire"  // close an order still pending at its expiry

	// These call a channel, so they run outside the claiming transaction
	// under a lease (see service.Jobs).
	JobPaymentCheck  JobKind = "payment_check"  // query a pending channel payment (active repair)
	JobChannelClose  JobKind = "channel_close"  // close an expired order's payments at their channels
	JobRefundSubmit  JobKind = "refund_submit"  // send an approved refund to the channel, or query it
	JobReturnPayment JobKind = "return_payment" // refund a duplicate channel payment to its payer
	JobTransfer      JobKind = "transfer"       // pay a withdrawal out through the channel, or query it
	JobRecon         JobKind = "recon"          // reconcile a channel's bill of yesterday; the ref is the channel
)

// Job is durable work due at a time. At most one job of a kind exists per
// reference (an order ID), so scheduling is idempotent; the work itself must
// be too, because a job may run more than once.
type Job struct {
	ID       int64
	Kind     JobKind
	Ref      string
	RunAt    time.Time
	Attempts int
}
