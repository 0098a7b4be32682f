package service

import "bursar.dev/bursar/internal/bursar"

// The lockout in the database (bursar.MaxWrongTries in a row) is what stops
// a guesser. Deps.Tries stands in front of it, in memory: once a user or an
// admin has had too many wrong tries lately, from any address and any
// surface, further tries are refused before the slow hash and the database
// write each would cost, so a flood at one account costs the server little.

// tryLimit refuses a password check for key while key's wrong tries are
// over the limit.
func (d Deps) tryLimit(key string) error {
	if wait := d.Tries.Delay(key); wait > 0 {
		return bursar.TooManyTries(wait)
	}
	return nil
}

// tried counts a password check's outcome against key. Only wrong and
// locked tries count, so nobody who knows their password is ever slowed.
func (d Deps) tried(key string, err error) {
	if c := bursar.ErrorCode(err); c == bursar.Forbidden || c == bursar.Locked {
		d.Tries.Allow(key)
	}
}

func userKey(u bursar.UserID) string { return "user:" + string(u) }
