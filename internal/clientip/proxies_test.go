package clientip_test

import (
	"net/http/httptest"
	"testing"

	"bursar.dev/bursar/internal/clientip"
)

func TestProxiesOf(t *testing.T) {
	tests := []struct {
		name    string
		proxies string
		peer    string
		xff     []string
		want    string
	}{
		{"with no proxies the peer is the client, whatever it claims", "", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"a peer that is not a proxy is the client", "10.0.0.0/8", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"behind a proxy the hop it appended is the client", "10.0.0.0/8", "10.1.2.3:5555", []string{"198.51.100.1"}, "198.51.100.1"},
		{"hops the client wrote left of the proxy's are ignored", "10.0.0.0/8", "10.1.2.3:5555", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"a chain of proxies is walked to the first outsider", "10.0.0.0/8, 192.0.2.9", "10.1.2.3:5555", []string{"1.2.3.4, 198.51.100.1, 192.0.2.9", "10.9.9.9"}, "198.51.100.1"},
		{"a garbled hop stops at the proxy that passed it on", "10.0.0.0/8", "10.1.2.3:5555", []string{"198.51.100.1, nonsense, 10.4.4.4"}, "10.4.4.4"},
		{"a proxy sending no header is itself the client", "10.0.0.0/8", "10.1.2.3:5555", nil, "10.1.2.3"},
		{"IPv4 in IPv6 is IPv4", "10.0.0.0/8", "[::ffff:10.1.2.3]:5555", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"IPv6 peers and prefixes", "2001:db8::/32", "[2001:db8::1]:5555", []string{"2001:db8:ffff::2, 2001:db9::5"}, "2001:db9::5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := clientip.ParseProxies(tt.proxies)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := p.Of(r); got != tt.want {
				t.Errorf("Of() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseProxies(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "localhost", "10.0.0.1/8/8", "10.0.0"} {
		if _, err := clientip.ParseProxies(bad); err == nil {
			t.Errorf("ParseProxies(%q) = nil error", bad)
		}
	}
	p, err := clientip.ParseProxies(" 10.0.0.0/8 ,, 192.0.2.9,2001:db8::/32 ")
	if err != nil || len(p) != 3 {
		t.Errorf("ParseProxies of three = %v, %v", p, err)
	}
}
