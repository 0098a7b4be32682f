package service

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"bursar.dev/bursar/internal/bursar"
)

// Login passwords use argon2id with the parameters below (about 100 ms and
// 19 MiB here): slow enough that a stolen table resists guessing.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// hashLogin returns a self-describing argon2id hash of pw.
func hashLogin(pw string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// verifyLogin reports whether pw matches a hash made by hashLogin, with the
// parameters stored in the hash so they can be raised later.
func verifyLogin(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Payment passwords are 6-digit PINs checked on every wallet payment. A slow
// hash cannot save a million-value space and would cap payment throughput,
// so they are an HMAC under the server's pepper, which is kept out of the
// database: a stolen table alone reveals nothing. The lockout is what stops
// guessing online.
func hashPIN(pepper []byte, user bursar.UserID, pin string) string {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(pin))
	return "hmac-sha256$" + hex.EncodeToString(m.Sum(nil))
}

func verifyPIN(pepper []byte, user bursar.UserID, hash, pin string) bool {
	return hmac.Equal([]byte(hashPIN(pepper, user, pin)), []byte(hash))
}

// hashToken is how bearer tokens are stored. They carry 130 bits of
// randomness, so a fast hash is enough: no one can guess one from its hash.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// newToken returns a new bearer token with a prefix saying what it is.
func newToken(prefix string) string {
	return prefix + rand.Text()
}

// idAlphabet is rand.Text's alphabet, lower-cased and in byte order, so
// that IDs sort like the times they begin with.
const idAlphabet = "234567abcdefghijklmnopqrstuvwxyz"

// newID returns a new object ID with a prefix saying what it names: ten
// characters of the time in milliseconds, then 80 random bits. IDs made
// together sort together, so the rows a payment adds (its escrow account,
// entry, job and event, all keyed by an ID) land on the last page of each
// index instead of on a random one, and a commit writes a few pages where it
// wrote one per row and index. An ID thus tells when it was made, as an
// order number always has.
func newID(prefix string) string {
	return prefix + timeOrdered(time.Now())
}

func timeOrdered(t time.Time) string {
	var b [26]byte
	ms := uint64(t.UnixMilli())
	for i := 9; i >= 0; i-- {
		b[i] = idAlphabet[ms&31]
		ms >>= 5
	}
	copy(b[10:], strings.ToLower(rand.Text()))
	return string(b[:])
}
