// Package bursar is the domain of the Bursar order, payment and escrow service:
// money, ledger accounts and entries, orders and their states, and the closed set
// of error codes that every other package speaks.
//
// It holds plain Go with no I/O and imports only the standard library. Rules
// that can be decided from values alone (is this entry balanced, may this
// account go negative, is this state change allowed) belong here; anything
// that needs a database, a clock or the network belongs in service or below.
package bursar
