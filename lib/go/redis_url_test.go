package themule

import "testing"

func TestMaskURLHidesThePasswordOnly(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"redis://127.0.0.1:6379", "redis://127.0.0.1:6379"},
		{"redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/3"},
		{"redis://:s3cret@10.0.0.5:6399/2", "redis://:***@10.0.0.5:6399/2"},
		{"redis://alice:s3cret@host:1", "redis://alice:***@host:1"},
		{"redis://alice@host:1", "redis://alice@host:1"},
		{"rediss://:p%40ss@host:1", "rediss://:***@host:1"},
		// Unparsable (a space in the host): the password is still found.
		{"redis://:s3cret@bad host:1", "redis://:***@bad host:1"},
	}
	for _, tt := range tests {
		if got := maskURL(tt.raw); got != tt.want {
			t.Errorf("maskURL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
