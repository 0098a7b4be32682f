package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"bursar.dev/bursar/internal/webhook"
)

const (
	secret    = "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"
	tolerance = 5 * time.Minute
)

var (
	now  = time.Unix(1763712000, 0)
	body = []byte(`{"id":"evt_1","type":"order.paid","data":{"amount":1990,"subject":"说明"}}`)
)

// mac computes a v1 value as the package doc describes it, apart from the
// code under test: the hex HMAC-SHA256, keyed with the secret, of t, a full
// stop and the body.
func mac(secret string, t int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10) + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// header is a Bursar-Signature header for time t with the given v1 values.
func header(t int64, v1s ...string) string {
	h := "t=" + strconv.FormatInt(t, 10)
	for _, v := range v1s {
		h += ",v1=" + v
	}
	return h
}

func TestSign(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		body []byte
		want string
	}{
		{"a body", now, body, header(now.Unix(), mac(secret, now.Unix(), body))},
		{"an empty body", now, nil, header(now.Unix(), mac(secret, now.Unix(), nil))},
		{"the time counts in whole seconds, whatever its zone", now.Add(999 * time.Millisecond).In(time.FixedZone("CST", 8*3600)),
			body, header(now.Unix(), mac(secret, now.Unix(), body))},
		{"a time before 1970", time.Unix(-5, 0), body, header(-5, mac(secret, -5, body))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhook.Sign(secret, tt.at, tt.body); got != tt.want {
				t.Errorf("Sign() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	ts := now.Unix()
	good := mac(secret, ts, body)
	at := func(d time.Duration) string {
		t := now.Add(d).Unix()
		return header(t, mac(secret, t, body))
	}
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		want   error
	}{
		{"a good signature", secret, header(ts, good), body, nil},
		{"Sign's own header", secret, webhook.Sign(secret, now, body), body, nil},
		{"an empty body", secret, header(ts, mac(secret, ts, nil)), nil, nil},
		{"a wrong secret", "whsec_other", header(ts, good), body, webhook.ErrBadSignature},
		{"an empty secret", "", header(ts, good), body, webhook.ErrBadSignature},
		{"a tampered body", secret, header(ts, good), append(slices.Clone(body), ' '), webhook.ErrBadSignature},
		{"a truncated body", secret, header(ts, good), body[:len(body)-1], webhook.ErrBadSignature},
		{"a signature of another time", secret, header(ts, mac(secret, ts-1, body)), body, webhook.ErrBadSignature},
		{"a v1 value in upper case", secret, header(ts, strings.ToUpper(good)), body, webhook.ErrBadSignature},
		{"a truncated v1 value", secret, header(ts, good[:len(good)-2]), body, webhook.ErrBadSignature},
		{"an empty v1 value", secret, header(ts, ""), body, webhook.ErrBadSignature},

		{"signed a while ago", secret, at(-tolerance + time.Second), body, nil},
		{"signed exactly the tolerance ago", secret, at(-tolerance), body, nil},
		{"signed too long ago", secret, at(-tolerance - time.Second), body, webhook.ErrTooOld},
		{"signed days ago", secret, at(-72 * time.Hour), body, webhook.ErrTooOld},
		{"signed a little in the future (a fast clock)", secret, at(tolerance - time.Second), body, nil},
		{"signed exactly the tolerance ahead", secret, at(tolerance), body, nil},
		{"signed too far in the future", secret, at(tolerance + time.Second), body, webhook.ErrTooOld},
		{"a time far in the past", secret, header(math.MinInt64, "00"), body, webhook.ErrTooOld},
		{"a time far in the future", secret, header(math.MaxInt64, "00"), body, webhook.ErrTooOld},

		{"several v1 values, the good one last (a secret being rotated)", secret,
			header(ts, mac("whsec_old", ts, body), good), body, nil},
		{"several v1 values, the good one first", secret, header(ts, good, mac("whsec_new", ts, body)), body, nil},
		{"several v1 values, none good", secret,
			header(ts, mac("whsec_old", ts, body), mac("whsec_new", ts, body)), body, webhook.ErrBadSignature},
		{"a v1 value for the other secret of a rotation", "whsec_new",
			header(ts, mac("whsec_old", ts, body), mac("whsec_new", ts, body)), body, nil},

		{"spaces after the commas", secret, "t=" + strconv.FormatInt(ts, 10) + ", v1=00, v1=" + good, body, nil},
		{"spaces around the parts", secret, "  t=" + strconv.FormatInt(ts, 10) + " ,\tv1=" + good + " ", body, nil},
		{"schemes it does not know are ignored", secret, header(ts, good) + ",v0=00,v2=" + good, body, nil},
		{"the parts in another order", secret, "v1=" + good + ",t=" + strconv.FormatInt(ts, 10), body, nil},

		{"no t", secret, "v1=" + good, body, webhook.ErrNoSignature},
		{"an empty t", secret, "t=,v1=" + good, body, webhook.ErrNoSignature},
		{"a t that is no number", secret, "t=yesterday,v1=" + good, body, webhook.ErrNoSignature},
		{"a t with a fraction", secret, "t=" + strconv.FormatInt(ts, 10) + ".5,v1=" + good, body, webhook.ErrNoSignature},
		{"a t too large for any time", secret, "t=99999999999999999999,v1=" + good, body, webhook.ErrNoSignature},
		{"no v1", secret, "t=" + strconv.FormatInt(ts, 10), body, webhook.ErrNoSignature},
		{"only another scheme", secret, "t=" + strconv.FormatInt(ts, 10) + ",v0=" + good, body, webhook.ErrNoSignature},
		{"an empty header", secret, "", body, webhook.ErrNoSignature},
		{"garbage", secret, "garbage", body, webhook.ErrNoSignature},
		{"the signature alone", secret, good, body, webhook.ErrNoSignature},
		{"another service's format", secret, "sha256=" + good, body, webhook.ErrNoSignature},
		{"semicolons instead of commas", secret, "t=" + strconv.FormatInt(ts, 10) + ";v1=" + good, body, webhook.ErrNoSignature},
		{"a space inside a key", secret, "t =" + strconv.FormatInt(ts, 10) + ",v1=" + good, body, webhook.ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secret, tt.header, tt.body, now, tolerance)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify(%q) = %v, want %v", tt.header, err, tt.want)
			}
		})
	}
}

// signedBySign reports whether header carries, for one of its t values
// within tolerance of now, the v1 value Sign would have put beside that t
// for body and secret. That is the only way a header may pass Verify.
func signedBySign(secret, header string, body []byte) bool {
	var ts []int64
	var v1s []string
	for part := range strings.SplitSeq(header, ",") {
		switch k, v, _ := strings.Cut(strings.TrimSpace(part), "="); k {
		case "t":
			if t, err := strconv.ParseInt(v, 10, 64); err == nil {
				ts = append(ts, t)
			}
		case "v1":
			v1s = append(v1s, v)
		}
	}
	for _, t := range ts {
		if withinTolerance(t) && slices.Contains(v1s, mac(secret, t, body)) {
			return true
		}
	}
	return false
}

// withinTolerance says whether a signature made at Unix second t is recent
// enough at now, in whole seconds so that it cannot overflow.
func withinTolerance(t int64) bool {
	sec := int64(tolerance / time.Second)
	return t >= now.Unix()-sec && t <= now.Unix()+sec
}

// FuzzVerify checks that Verify never panics, answers only with its own
// errors, accepts every header Sign makes within tolerance, and accepts no
// header that lacks the signature Sign would make for the body. "{sig}" in
// the fuzzed header is replaced with Sign's header for the body at Unix
// second ts, so the fuzzer can build headers around a real signature.
func FuzzVerify(f *testing.F) {
	ts := now.Unix()
	good := mac(secret, ts, body)
	seeds := []struct {
		header string
		body   []byte
		ts     int64
	}{
		{"{sig}", body, ts},
		{"{sig}", nil, ts},
		{"{sig}", body, ts - 300},
		{"{sig}", body, ts - 301},
		{"{sig}", body, ts + 300},
		{"{sig}", body, ts + 301},
		{"{sig}", body, math.MaxInt64},
		{"{sig}", body, math.MinInt64},
		{"{sig},v1=00", body, ts},
		{"v1=00,{sig}", body, ts},
		{"{sig},t=" + strconv.FormatInt(ts-1000, 10), body, ts},
		{"t=" + strconv.FormatInt(ts+1, 10) + ",{sig}", body, ts},
		{"{sig}, {sig}", body, ts},
		{header(ts, good), body, ts},
		{header(ts, good), []byte("tampered"), ts},
		{header(ts+1, good), body, ts},
		{"t=+" + strconv.FormatInt(ts, 10) + ",v1=" + good, body, ts},
		{"t=0" + strconv.FormatInt(ts, 10) + ",v1=" + good, body, ts},
		{"t=" + strconv.FormatInt(ts, 10) + ", v1=" + good, body, ts},
		{"v1=" + good, body, ts},
		{"t=" + strconv.FormatInt(ts, 10), body, ts},
		{"t==1,v1==", body, ts},
		{",,,=,t,v1", body, ts},
		{"t=99999999999999999999,v1=" + good, body, ts},
		{"garbage", body, ts},
		{"", nil, 0},
		{"\xff\xfe,t=\x00,v1=说明", []byte{0, 0xff}, -1},
	}
	for _, s := range seeds {
		f.Add(s.header, s.body, s.ts)
	}
	other := "whsec_other"
	f.Fuzz(func(t *testing.T, h string, body []byte, ts int64) {
		signed := webhook.Sign(secret, time.Unix(ts, 0), body)
		h = strings.ReplaceAll(h, "{sig}", signed)

		err := webhook.Verify(secret, signed, body, now, tolerance)
		switch {
		case withinTolerance(ts) && err != nil:
			t.Fatalf("Verify(Sign(t=%d)) = %v, want it accepted", ts, err)
		case !withinTolerance(ts) && !errors.Is(err, webhook.ErrTooOld):
			t.Fatalf("Verify(Sign(t=%d)) = %v, want %v", ts, err, webhook.ErrTooOld)
		}

		tampered := append(slices.Clone(body), '!')
		for _, c := range []struct {
			secret string
			body   []byte
		}{{secret, body}, {other, body}, {secret, tampered}} {
			err := webhook.Verify(c.secret, h, c.body, now, tolerance)
			if err != nil && !errors.Is(err, webhook.ErrNoSignature) && !errors.Is(err, webhook.ErrTooOld) &&
				!errors.Is(err, webhook.ErrBadSignature) {
				t.Fatalf("Verify(%q) = %v, not one of the package's errors", h, err)
			}
			if err == nil && !signedBySign(c.secret, h, c.body) {
				t.Fatalf("Verify(%q) accepted a header Sign did not make for body %q and secret %q", h, c.body, c.secret)
			}
		}
	})
}
