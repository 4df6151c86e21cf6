package themule

import (
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		raw  string
		want Command
	}{
		{"connect", Connect{}},
		{"disconnect", Disconnect{}},
		{"shutdown", Shutdown{}},
		{"restart|5", Restart{Secs: 5}},
		{"restart|0.5", Restart{Secs: 0.5}},
		{"restart|0", Restart{Secs: 0}},
		{"restart|.5", Other{Raw: "restart|.5"}},
		{"restart|5.", Other{Raw: "restart|5."}},
		{"restart|abc", Other{Raw: "restart|abc"}},
		{"restart|", Other{Raw: "restart|"}},
		{"restart", Other{Raw: "restart"}},
		{"restart|-1", Other{Raw: "restart|-1"}},
		{"restart|1e3", Other{Raw: "restart|1e3"}},
		{"restart| 5", Other{Raw: "restart| 5"}},
		{"restart|5|6", Other{Raw: "restart|5|6"}},
		{"peer|vlad-1|/ip4/10.0.0.1/udp/1/quic-v1", Peer{Addr: "vlad-1|/ip4/10.0.0.1/udp/1/quic-v1"}},
		{"peer|x", Peer{Addr: "x"}},
		{"peer|", Other{Raw: "peer|"}},
		{"peer", Other{Raw: "peer"}},
		{"connect|x", Other{Raw: "connect|x"}},
		{"Connect", Other{Raw: "Connect"}},
		{"push|bob|hi", Other{Raw: "push|bob|hi"}},
		{"", Other{Raw: ""}},
	}
	for _, tt := range tests {
		if got := ParseCommand(tt.raw); got != tt.want {
			t.Errorf("ParseCommand(%q) = %#v, want %#v", tt.raw, got, tt.want)
		}
	}
}

func TestRestartDelayRoundsToTheNanosecond(t *testing.T) {
	tests := []struct {
		secs float64
		want time.Duration
	}{
		{0, 0},
		{2, 2 * time.Second},
		{0.5, 500 * time.Millisecond},
		{0.3, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := (Restart{Secs: tt.secs}).Delay(); got != tt.want {
			t.Errorf("Restart{%v}.Delay() = %v, want %v", tt.secs, got, tt.want)
		}
	}
}

func TestFormatSecondsWritesPlainDecimals(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{2 * time.Second, "2"},
		{500 * time.Millisecond, "0.5"},
		{300 * time.Millisecond, "0.3"},
		{90 * time.Second, "90"},
	}
	for _, tt := range tests {
		if got := formatSeconds(tt.d); got != tt.want {
			t.Errorf("formatSeconds(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
