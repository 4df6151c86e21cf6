package main

import "testing"

func TestVladForIsSHA256Prefixed(t *testing.T) {
	// The TypeScript peer's vladFor("alice"): SHA-256("alice") starts 2bd806c97f0e00af...
	if got, want := vladFor("alice"), "vlad-2bd806c97f0e00af1a1fc3328fa763a9"; got != want {
		t.Errorf("vladFor(alice) = %q, want %q", got, want)
	}
}

func TestListenPortFindsTheUDPPort(t *testing.T) {
	tests := []struct {
		addr string
		port int
		ok   bool
	}{
		{"/ip4/0.0.0.0/udp/11984/quic-v1", 11984, true},
		{"/ip4/0.0.0.0/udp/7", 7, true},
		{"/ip4/0.0.0.0/udp/0/quic-v1", 0, true},
		{"/ip4/0.0.0.0/tcp/80", 0, false},
		{"/ip4/0.0.0.0/udp/99999/quic-v1", 0, false},
		{"/ip4/0.0.0.0/udp/12x/quic-v1", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		port, ok := listenPort(tt.addr)
		if port != tt.port || ok != tt.ok {
			t.Errorf("listenPort(%q) = %d, %v; want %d, %v", tt.addr, port, ok, tt.port, tt.ok)
		}
	}
}

func TestJSONStringQuotesLikeJavaScript(t *testing.T) {
	tests := []struct{ in, want string }{
		{"push", `"push"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"tab\there\nnl", `"tab\there\nnl"`},
		{"\x01\x1f", `"\u0001\u001f"`},
		{"<&>", `"<&>"`},
		{"é\u2028", "\"é\u2028\""},
	}
	for _, tt := range tests {
		if got := jsonString(tt.in); got != tt.want {
			t.Errorf("jsonString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestJSNumberConvertsLikeNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"", 0, true},
		{" 7 ", 7, true},
		{"1.5", 1.5, true},
		{"-3", -3, true},
		{"abc", 0, false},
		{"Infinity", 0, false},
		{"NaN", 0, false},
	}
	for _, tt := range tests {
		got, ok := jsNumber(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("jsNumber(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEnvFlag(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"", false}, {"0", false}, {"false", false}, {"FALSE", false}, {"1", true}, {"yes", true},
	}
	for _, tt := range tests {
		if got := envFlag(tt.value); got != tt.want {
			t.Errorf("envFlag(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}
