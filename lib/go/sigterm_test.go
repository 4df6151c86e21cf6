package themule_test

import (
	"context"
	"os"
	"slices"
	"syscall"
	"testing"

	"tm/themule"
	"tm/themule/internal/redistest"
)

func TestHandleSIGTERMSetsStoppedLastFlushesAndExitsZero(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	exit := newExitRecorder()
	client := build(t, srv, "termed", func(b *themule.Builder) { b.ExitFunc(exit.exit) })
	ctx := context.Background()
	stop := client.HandleSIGTERM(ctx)
	defer stop()
	client.Logger().Info("working")
	if err := client.SendStatus(ctx, "connected"); err != nil {
		t.Fatal(err)
	}
	// A real signal to this test process; the handler catches it instead of the default kill.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := <-exit.codes; code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	// Code still running after the signal: its status is dropped, without an error.
	if err := client.SendStatus(ctx, "connected"); err != nil {
		t.Errorf("SendStatus after SIGTERM = %v, want nil (dropped)", err)
	}
	rdb := inspect(t, srv, 0)
	if got := rdb.Get(ctx, "termed_status").Val(); got != "stopped" {
		t.Errorf("status %q, want stopped", got)
	}
	want := []string{"info|working", "info|received SIGTERM, stopping"}
	if got := logLines(t, rdb, "termed"); !slices.Equal(got, want) {
		t.Errorf("logs %q, want %q", got, want)
	}
	if _, open := <-client.Commands(); open {
		t.Error("the command channel is still open")
	}
}
