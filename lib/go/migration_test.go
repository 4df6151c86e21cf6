package themule_test

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tm/themule"
	"tm/themule/internal/redistest"
)

// A peer written for the original library (internal/originalpeer: MuleClientBuilder,
// MuleClient, plain slog.Info and log.Printf, no slog.SetDefault) builds against this one and
// every line it logs reaches <peer>_log.
func TestAPeerWrittenForTheOriginalLibraryBuildsAndItsLogLinesReachRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	binary := filepath.Join(t.TempDir(), "originalpeer")
	if out, err := exec.Command("go", "build", "-o", binary, "./internal/originalpeer").CombinedOutput(); err != nil {
		t.Fatalf("go build ./internal/originalpeer: %v\n%s", err, out)
	}
	rdb := inspect(t, srv, 0)
	if err := rdb.RPush(context.Background(), "orig_command", "connect", "dance", "shutdown").Err(); err != nil {
		t.Fatal(err)
	}
	peer := exec.Command(binary)
	peer.Env = append(os.Environ(), "REDIS_URL="+srv.URL(0), "PEER_NAME=orig", "LOG_LEVEL=info")
	var stderr bytes.Buffer
	peer.Stderr = &stderr
	if err := peer.Run(); err != nil {
		t.Fatalf("the peer: %v\n%s", err, stderr.String())
	}
	want := []string{
		"info|peer started name=orig",
		"info|received: connect",
		"info|received: dance",
		"warn|unknown command command=dance",
		"info|received: shutdown",
		`info|shutting down after "shutdown"`,
	}
	if got := logLines(t, rdb, "orig"); !slices.Equal(got, want) {
		t.Errorf("orig_log = %q, want %q (stderr: %s)", got, want, stderr.String())
	}
	if got, _ := rdb.Get(context.Background(), "orig_status").Result(); got != "stopped" {
		t.Errorf("orig_status = %q, want stopped", got)
	}
}

// Build installs the client's logger as the default (slog and log); Close gives the previous
// one back; DefaultLogger(false) leaves the default alone.
func TestBuildInstallsTheDefaultLoggerUnlessToldNotToAndCloseGivesItBack(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	var before bytes.Buffer
	previous := slog.New(slog.NewTextHandler(&before, nil))
	slog.SetDefault(previous)
	t.Cleanup(func() {
		log.SetOutput(os.Stderr)
		log.SetFlags(log.LstdFlags)
	})

	kept := build(t, srv, "kept", func(b *themule.Builder) { b.DefaultLogger(false) })
	if slog.Default() != previous {
		t.Fatal("DefaultLogger(false): Build replaced the default logger")
	}
	_ = kept.Close()

	client := build(t, srv, "installed")
	if slog.Default() != client.Logger() {
		t.Fatal("Build did not make the client's Logger the default")
	}
	slog.Info("through slog")
	log.Print("through log")
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if slog.Default() != previous {
		t.Fatal("Close did not give the previous default logger back")
	}
	slog.Info("after close")
	want := []string{"info|through slog", "info|through log"}
	if got := logLines(t, inspect(t, srv, 0), "installed"); !slices.Equal(got, want) {
		t.Errorf("installed_log = %q, want %q", got, want)
	}
	if !strings.Contains(before.String(), "after close") {
		t.Errorf("the previous default logger got %q, want the line logged after Close", before.String())
	}
}

// Two clients: closing the newer one gives the default to the older one, still open; closing
// that one restores what the program had.
func TestClosingClientsRestoresTheDefaultLoggerInOrder(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	previous := slog.Default()
	first := build(t, srv, "first")
	second := build(t, srv, "second")
	_ = second.Close()
	if slog.Default() != first.Logger() {
		t.Fatal("after closing the newer client the default is not the older client's logger")
	}
	_ = first.Close()
	if slog.Default() != previous {
		t.Fatal("after closing both the default is not the program's own")
	}
}
