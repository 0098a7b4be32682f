package store

// ReconTx is the part of Tx that stores reconciliation runs and their
// exceptions.
type ReconTx interface{}
