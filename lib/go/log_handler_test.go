package themule_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"tm/themule"
	"tm/themule/internal/redistest"
)

func TestLogHandlerForwardsLevelsInOrder(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := build(t, srv, "levels")
	log := client.Logger()
	log.Debug("one")
	log.Info("two")
	log.Warn("three")
	log.Error("four")
	log.Log(context.Background(), themule.LevelTrace, "five")
	log.Log(context.Background(), slog.LevelError+4, "six")
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"debug|one", "info|two", "warn|three", "error|four", "debug|five", "error|six"}
	if got := logLines(t, inspect(t, srv, 0), "levels"); !slices.Equal(got, want) {
		t.Errorf("levels_log = %q, want %q", got, want)
	}
}

func TestLogHandlerAppendsAttributesInSlogTextFormat(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := build(t, srv, "attrs")
	log := client.Logger()
	log.Info("dialing", "peer", "bob", "addr", "/ip4/1.2.3.4 x")
	log.With("n", 1).WithGroup("net").Info("sent", "bytes", 42)
	log.WithGroup("empty").Info("no attributes")
	log.Info("", "only", "attrs")
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`info|dialing peer=bob addr="/ip4/1.2.3.4 x"`,
		`info|sent n=1 net.bytes=42`,
		`info|no attributes`,
		`info|only=attrs`,
	}
	if got := logLines(t, inspect(t, srv, 0), "attrs"); !slices.Equal(got, want) {
		t.Errorf("attrs_log = %q, want %q", got, want)
	}
}

func TestCloseRightAfterAThousandLinesLosesNone(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := build(t, srv, "flood")
	var want []string
	for i := range 1000 {
		client.Logger().Info(fmt.Sprintf("line %d", i))
		want = append(want, fmt.Sprintf("info|line %d", i))
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if got := logLines(t, inspect(t, srv, 0), "flood"); !slices.Equal(got, want) {
		t.Errorf("flood_log has %d lines (first %q), want the 1000 in order", len(got), got[:min(3, len(got))])
	}
}

func TestLogLevelFromTheEnvironmentDropsLowerRecords(t *testing.T) {
	tests := []struct {
		logLevel string
		want     []string
	}{
		{"warn", []string{"warn|w", "error|e"}},
		{"WARNING", []string{"warn|w", "error|e"}},
		{"error", []string{"error|e"}},
		{"", []string{"info|i", "warn|w", "error|e"}},
		{"debug", []string{"debug|d", "info|i", "warn|w", "error|e"}},
	}
	for _, tt := range tests {
		t.Run("LOG_LEVEL="+tt.logLevel, func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{})
			t.Setenv("LOG_LEVEL", tt.logLevel)
			var echoed bytes.Buffer
			client, err := themule.NewBuilder().RedisURL(srv.URL(0)).PeerName("filtered").EchoLogs(&echoed).
				Build(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			log := client.Logger()
			log.Debug("d")
			log.Info("i")
			log.Warn("w")
			log.Error("e")
			if err := client.Close(); err != nil {
				t.Fatal(err)
			}
			if got := logLines(t, inspect(t, srv, 0), "filtered"); !slices.Equal(got, tt.want) {
				t.Errorf("forwarded %q, want %q", got, tt.want)
			}
			if got := strings.Fields(echoed.String()); !slices.Equal(got, tt.want) {
				t.Errorf("echoed %q, want %q", got, tt.want)
			}
		})
	}
}
