package themule_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"tm/themule"
	"tm/themule/internal/redistest"
)

func TestBuildNamesTheMissingVariable(t *testing.T) {
	tests := []struct {
		name, redisURL, peerName, variable, message string
	}{
		{"no REDIS_URL", "", "alice", "REDIS_URL", "REDIS_URL is not set"},
		{"no PEER_NAME", "redis://127.0.0.1:1", "", "PEER_NAME", "PEER_NAME is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("REDIS_URL", tt.redisURL)
			t.Setenv("PEER_NAME", tt.peerName)
			_, err := themule.NewBuilder().Build(context.Background())
			var cfg *themule.ConfigError
			if !errors.As(err, &cfg) || cfg.Variable != tt.variable {
				t.Fatalf("Build error = %v, want a ConfigError for %s", err, tt.variable)
			}
			if !strings.HasPrefix(err.Error(), tt.message) {
				t.Errorf("message %q does not start with %q", err.Error(), tt.message)
			}
		})
	}
}

func TestBuildRejectsInvalidSettings(t *testing.T) {
	tests := []struct {
		variable, value, message string
	}{
		{"LOG_LEVEL", "loud", `LOG_LEVEL="loud" is not a log level`},
		{"MULE_CONNECT_TIMEOUT", "soon", `MULE_CONNECT_TIMEOUT="soon" is not a positive number of seconds`},
		{"MULE_CONNECT_TIMEOUT", "-1", `MULE_CONNECT_TIMEOUT="-1" is not a positive number of seconds`},
		{"REDIS_URL", "http://:pw@127.0.0.1:1", `REDIS_URL http://:***@127.0.0.1:1 is not a Redis URL`},
	}
	for _, tt := range tests {
		t.Run(tt.variable+"="+tt.value, func(t *testing.T) {
			t.Setenv("REDIS_URL", "redis://127.0.0.1:1")
			t.Setenv("PEER_NAME", "alice")
			t.Setenv(tt.variable, tt.value)
			_, err := themule.NewBuilder().Build(context.Background())
			var cfg *themule.ConfigError
			if !errors.As(err, &cfg) || cfg.Variable != tt.variable {
				t.Fatalf("Build error = %v, want a ConfigError for %s", err, tt.variable)
			}
			if !strings.HasPrefix(err.Error(), tt.message) || strings.Contains(err.Error(), "pw") {
				t.Errorf("message %q does not start with %q (or shows the password)", err.Error(), tt.message)
			}
		})
	}
}

func TestBuildGivesUpOnUnreachableRedisAfterTheConnectTimeout(t *testing.T) {
	port := redistest.ClosedPort(t)
	t.Setenv("REDIS_URL", fmt.Sprintf("redis://:s3cret@127.0.0.1:%d/2", port))
	t.Setenv("PEER_NAME", "alice")
	t.Setenv("MULE_CONNECT_TIMEOUT", "0.5")
	_, err := themule.NewBuilder().Build(context.Background())
	var conn *themule.ConnectError
	if !errors.As(err, &conn) || conn.Timeout != 500*time.Millisecond {
		t.Fatalf("Build error = %v, want a ConnectError after 0.5 s", err)
	}
	want := fmt.Sprintf("cannot reach Redis at redis://:***@127.0.0.1:%d/2 after 0.5s: ", port)
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("message %q, want %q followed by the cause", err.Error(), want)
	}
}

func TestBuildFailsAtOnceOnAWrongPassword(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: "right"})
	url := fmt.Sprintf("redis://:wrong@127.0.0.1:%d", srv.Port)
	// A timeout far beyond the test's patience: a retry loop would show as a hang.
	_, err := themule.NewBuilder().RedisURL(url).PeerName("alice").ConnectTimeout(time.Hour).Build(context.Background())
	var conn *themule.ConnectError
	if !errors.As(err, &conn) || conn.Timeout != 0 {
		t.Fatalf("Build error = %v, want a ConnectError without retries", err)
	}
	if !strings.Contains(err.Error(), "redis://:***@127.0.0.1") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("message %q should show the masked URL only", err.Error())
	}
}

func TestBuildStopsRetryingWhenTheContextEnds(t *testing.T) {
	port := redistest.ClosedPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := themule.NewBuilder().RedisURL(fmt.Sprintf("redis://127.0.0.1:%d", port)).PeerName("alice").
		ConnectTimeout(time.Hour).Build(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build error = %v, want context.Canceled", err)
	}
}
