// Package clientip finds the address of the person behind an HTTP request,
// which WeChat Pay's H5 payments and Ping++ charges carry. The v1 API and the
// seed layers all need it, and none may import another.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Of returns the first X-Forwarded-For hop when a proxy sets one that is an
// address, else the peer's address.
func Of(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		if ip, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
			return ip.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
