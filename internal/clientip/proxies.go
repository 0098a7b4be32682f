package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies in front of Bursar whose X-Forwarded-For
// is believed. Of believes any, which is fine for the address a payment
// channel records but would let a client pick its own address to dodge a
// limit; anything that limits by address uses Proxies.Of.
type Proxies []netip.Prefix

// ParseProxies reads a comma-separated list of CIDR prefixes or single
// addresses; the empty string is no proxies.
func ParseProxies(list string) (Proxies, error) {
	var p Proxies
	for s := range strings.SplitSeq(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is not an address or a CIDR prefix", s)
			}
			s = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()
		}
		prefix, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an address or a CIDR prefix", s)
		}
		p = append(p, prefix.Masked())
	}
	return p, nil
}

func (p Proxies) trust(a netip.Addr) bool {
	a = a.Unmap()
	for _, prefix := range p {
		if prefix.Contains(a) {
			return true
		}
	}
	return false
}

// Of returns the client's address: the peer's, unless the peer is one of
// p. Then it is the nearest X-Forwarded-For hop that is not one of p,
// read from the right, since each proxy appends the peer it saw and only
// the hops left of the last trusted one can have been written by the
// client. A hop that is not an address ends the walk at the proxy that
// passed it on.
func (p Proxies) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	client := peer.Unmap()
	if len(p) == 0 || !p.trust(client) {
		return client.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = hop.Unmap()
		if !p.trust(client) {
			break
		}
	}
	return client.String()
}
