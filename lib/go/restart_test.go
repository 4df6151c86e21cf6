package themule_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"tm/themule"
	"tm/themule/internal/redistest"
)

func TestRestartRunsTheWholeProtocol(t *testing.T) {
	tests := []struct {
		delay time.Duration
		want  string
	}{
		{2 * time.Second, "2"},
		{500 * time.Millisecond, "0.5"},
		{0, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{})
			delayFile := filepath.Join(t.TempDir(), "delay")
			exit := newExitRecorder()
			client := build(t, srv, "phoenix", func(b *themule.Builder) {
				b.DelayFile(delayFile).ExitFunc(exit.exit)
			})
			ctx := context.Background()
			client.Logger().Info("before")
			if err := client.Restart(ctx, tt.delay); err != nil {
				t.Fatal(err)
			}
			if code := <-exit.codes; code != themule.RestartExitCode {
				t.Errorf("exit code %d, want 42", code)
			}
			rdb := inspect(t, srv, 0)
			if got := rdb.Get(ctx, "phoenix_status").Val(); got != "restarting" {
				t.Errorf("status %q, want restarting", got)
			}
			if got, err := os.ReadFile(delayFile); err != nil || string(got) != tt.want {
				t.Errorf("delay file = %q, %v; want %q", got, err, tt.want)
			}
			wantLogs := []string{"info|before", "info|restarting in " + tt.want + "s (delay written to " + delayFile + ")"}
			if got := logLines(t, rdb, "phoenix"); !slices.Equal(got, wantLogs) {
				t.Errorf("logs %q, want %q", got, wantLogs)
			}
			if err := client.SendStatus(ctx, "connected"); err == nil {
				t.Error("the client is still open after Restart")
			}
		})
	}
}

func TestRestartTakesTheDelayFileFromTheEnvironment(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	delayFile := filepath.Join(t.TempDir(), "custom-delay")
	t.Setenv("TM_DELAY_FILE", delayFile)
	exit := newExitRecorder()
	client := build(t, srv, "envdelay", func(b *themule.Builder) { b.ExitFunc(exit.exit) })
	if err := client.Restart(context.Background(), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	<-exit.codes
	if got, err := os.ReadFile(delayFile); err != nil || string(got) != "3" {
		t.Errorf("%s = %q, %v; want 3", delayFile, got, err)
	}
}
