package loadgen

import (
	"strings"
	"testing"
)

func TestParseMix(t *testing.T) {
	tests := []struct {
		in      string
		want    string // the mix written back, or the start of the error
		wantErr bool
	}{
		{"pay=1", "pay=1", false},
		{"pay", "pay=1", false},
		{" refund=10, pay=60 ,channel=10,", "pay=60,channel=10,refund=10", false},
		{"pay=1,pay=2", "pay=3", false},
		{"pay=60,channel=10,confirm=10,refund=10,topup=5,withdraw=5,purchase=0",
			"pay=60,channel=10,confirm=10,refund=10,topup=5,withdraw=5", false},
		{"", "the mix", true},
		{"pay=0", "the mix", true},
		{"order_create=1", "unknown operation", true},
		{"fly=1", "unknown operation", true},
		{"pay=-1", "the weight of pay", true},
		{"pay=x", "the weight of pay", true},
	}
	for _, tt := range tests {
		m, err := ParseMix(tt.in)
		switch {
		case tt.wantErr && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("ParseMix(%q) error = %v, want one starting %q", tt.in, err, tt.want)
		case !tt.wantErr && (err != nil || m.String() != tt.want):
			t.Errorf("ParseMix(%q) = %q, %v; want %q", tt.in, m, err, tt.want)
		}
	}
}

func TestPickerFollowsTheWeights(t *testing.T) {
	m, _ := ParseMix("pay=3,refund=1")
	p := newPicker(m)
	got := map[Op]int{}
	for r := range m.total() {
		got[p.pick(r)]++
	}
	if got[OpPay] != 3 || got[OpRefund] != 1 || len(got) != 2 {
		t.Errorf("draws over one cycle: %v, want pay 3 and refund 1", got)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		addr        string
		allowRemote bool
		want        string // "" for an error
	}{
		{"http://127.0.0.1:8080", false, "http://127.0.0.1:8080"},
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080"},
		{"http://localhost:8080/", false, "http://localhost:8080"},
		{"http://[::1]:8080", false, "http://[::1]:8080"},
		{"https://127.0.0.2", false, "https://127.0.0.2"},
		{"http://10.0.0.5:8080", false, ""},
		{"http://bursar.example.com", false, ""},
		{"http://bursar.example.com", true, "http://bursar.example.com"},
		{"http://127.0.0.1:8080/v1", false, ""},
		{"ftp://127.0.0.1", false, ""},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.addr, tt.allowRemote)
		if (err != nil) != (tt.want == "") || got != tt.want {
			t.Errorf("ParseTarget(%q, %v) = %q, %v; want %q", tt.addr, tt.allowRemote, got, err, tt.want)
		}
	}
}

func TestJSONBody(t *testing.T) {
	got := string(jsonBody([]byte("left over"), "buyer_id", `usr_"x"`, "amount", 100))
	if want := `{"buyer_id":"usr_\"x\"","amount":100}`; got != want {
		t.Errorf("jsonBody = %s, want %s", got, want)
	}
}
