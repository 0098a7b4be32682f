package bursar

import "time"

// OpsStats is what operators watch, counted over the whole database at one
// moment, so every process that reports it reports the same figures.
type OpsStats struct {
	// Payments counts payments by channel and status: each channel
	// payment by its PaymentStatus, and each order paid from the wallet
	// as ChannelWallet "paid".
	Payments []StatusCount
	// Refunds counts refunds by the channel of their order and their
	// RefundStatus.
	Refunds []StatusCount
	// Deliveries counts webhook deliveries by DeliveryStatus; Channel is
	// empty.
	Deliveries []StatusCount
	// Notices counts channel notifications by channel and NoticeOutcome.
	Notices []StatusCount
	// Jobs is the job queue by kind, kinds with no job left out.
	Jobs []JobQueue
}

// StatusCount is how many objects are in one state, and their amount where
// they carry one.
type StatusCount struct {
	Channel Channel
	Status  string
	Count   int64
	Amount  Amount
}

// JobQueue is the state of one kind of job at a moment.
type JobQueue struct {
	Kind  JobKind
	Count int64         // jobs of the kind, due or not
	Due   int64         // of which due
	Lag   time.Duration // how late the earliest due one is; zero when none is due
}

// JobLag is the lag of the latest kind: how late the earliest due job is.
func (s OpsStats) JobLag() time.Duration {
	var lag time.Duration
	for _, q := range s.Jobs {
		lag = max(lag, q.Lag)
	}
	return lag
}
