package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"tm/themule/internal/redistest"
)

// binary is the reference peer built by TestMain: the tests run it as the conformance suite
// and the entrypoint do, as a process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reference-peer-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "reference-peer")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	code := 1
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the reference peer:", err)
	} else {
		code = m.Run()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// peerProcess is one running reference peer.
type peerProcess struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	delayFile      string
}

// startPeer runs the reference peer with a clean environment: REDIS_URL, PEER_NAME, a delay
// file of the test's own, LOG_LEVEL=debug, a fixed address, then env (NAME=value) on top.
func startPeer(t *testing.T, redisURL, name string, env ...string) *peerProcess {
	t.Helper()
	p := &peerProcess{done: make(chan struct{}), delayFile: filepath.Join(t.TempDir(), "delay")}
	p.cmd = exec.Command(binary)
	p.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"REDIS_URL=" + redisURL,
		"PEER_NAME=" + name,
		"TM_DELAY_FILE=" + p.delayFile,
		"LOG_LEVEL=debug",
		"ADVERTISE_IP=10.1.2.3",
		"LISTEN_ADDR=/ip4/0.0.0.0/udp/11984/quic-v1",
	}, env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// exitCode waits for the peer to exit and returns its code.
func (p *peerProcess) exitCode(t *testing.T) int {
	t.Helper()
	redistest.Eventually(t, "the peer to exit", func() bool {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	})
	return p.cmd.ProcessState.ExitCode()
}

const aliceStarted = "started|vlad-2bd806c97f0e00af1a1fc3328fa763a9|/ip4/10.1.2.3/udp/11984/quic-v1"

func waitForStatus(t *testing.T, rdb *redis.Client, peer, want string) {
	t.Helper()
	redistest.Eventually(t, peer+" status "+want, func() bool {
		return rdb.Get(context.Background(), peer+"_status").Val() == want
	})
}

func logLines(rdb *redis.Client, peer string) []string {
	lines := rdb.LRange(context.Background(), peer+"_log", 0, -1).Val()
	slices.Reverse(lines)
	return lines
}

func TestReferencePeerAnswersEveryStandardCommand(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client(4)
	defer rdb.Close()
	ctx := context.Background()
	p := startPeer(t, srv.URL(4), "alice")
	waitForStatus(t, rdb, "alice", aliceStarted)

	steps := []struct {
		commands []string
		status   string
	}{
		{[]string{"peer|vlad-b|/ip4/10.0.0.2/udp/1/quic-v1", "peer|vlad-c", "peer", "connect"}, "connected"},
		{[]string{"connect"}, "connected"},
		{[]string{"push|bob|hi|there", "push", "pull", "rotate-key", "track|bob", "track", "restart|abc", "restart|-1", "bogus|1"}, "connected"},
		{[]string{"connect|now", "peer|", "restart|", "log-burst|x"}, "connected"},
		{[]string{"disconnect"}, "disconnected"},
		{[]string{"push|bob|late", "pull", "shutdown"}, "stopped"},
	}
	for _, step := range steps {
		for _, c := range step.commands {
			rdb.RPush(ctx, "alice_command", c)
		}
		waitForStatus(t, rdb, "alice", step.status)
	}
	if code := p.exitCode(t); code != 0 {
		t.Fatalf("exit code %d, want 0 (stderr %q)", code, p.stderr.String())
	}
	want := []string{
		"info|alice starting: vlad-2bd806c97f0e00af1a1fc3328fa763a9 on /ip4/10.1.2.3/udp/11984/quic-v1",
		"debug|received command: peer|vlad-b|/ip4/10.0.0.2/udp/1/quic-v1",
		"info|adding bootstrap peer: vlad-b at /ip4/10.0.0.2/udp/1/quic-v1",
		"debug|received command: peer|vlad-c",
		"info|adding bootstrap peer: vlad-c at (no address)",
		"debug|received command: peer",
		`warn|peer: expected peer|<address info>, got "peer"`,
		"debug|received command: connect",
		"info|connecting to the network via 2 bootstrap peer(s)",
		"debug|dialing vlad-b at /ip4/10.0.0.2/udp/1/quic-v1",
		"debug|dialing vlad-c at ",
		"info|connected as vlad-2bd806c97f0e00af1a1fc3328fa763a9 on /ip4/10.1.2.3/udp/11984/quic-v1",
		"debug|received command: connect",
		"warn|connect: already connected",
		"debug|received command: push|bob|hi|there",
		"info|push to bob: hi|there",
		"debug|received command: push",
		`warn|push: expected push|<peer>|<message>, got "push"`,
		"debug|received command: pull",
		"info|pulled messages (pull #1; 1 pushed by this peer)",
		"debug|received command: rotate-key",
		"info|rotated key: now at generation 1",
		"debug|received command: track|bob",
		"info|tracking bob (1 tracked)",
		"debug|received command: track",
		`warn|track: expected track|<peer>, got "track"`,
		"debug|received command: restart|abc",
		`warn|restart: expected restart|<seconds>, got "restart|abc"`,
		"debug|received command: restart|-1",
		`warn|restart: expected restart|<seconds>, got "restart|-1"`,
		"debug|received command: bogus|1",
		"warn|unknown command: bogus|1",
		"debug|received command: connect|now",
		"warn|unknown command: connect|now",
		"debug|received command: peer|",
		`warn|peer: expected peer|<address info>, got "peer|"`,
		"debug|received command: restart|",
		`warn|restart: expected restart|<seconds>, got "restart|"`,
		"debug|received command: log-burst|x",
		"warn|unknown command: log-burst|x",
		"debug|received command: disconnect",
		"info|disconnecting from the network",
		"info|disconnected",
		"debug|received command: push|bob|late",
		"warn|push to bob while not connected",
		"info|push to bob: late",
		"debug|received command: pull",
		"warn|pull while not connected",
		"info|pulled messages (pull #2; 2 pushed by this peer)",
		"debug|received command: shutdown",
		"info|shutting down",
	}
	if got := logLines(rdb, "alice"); !slices.Equal(got, want) {
		t.Errorf("alice_log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := strings.Split(strings.TrimSuffix(p.stdout.String(), "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("stdout echo differs from the forwarded lines:\n%s", p.stdout.String())
	}
}

func TestReferencePeerStopsOnSIGTERM(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client(0)
	defer rdb.Close()
	p := startPeer(t, srv.URL(0), "alice")
	waitForStatus(t, rdb, "alice", aliceStarted)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.exitCode(t); code != 0 {
		t.Fatalf("exit code %d, want 0 (stderr %q)", code, p.stderr.String())
	}
	if got := rdb.Get(context.Background(), "alice_status").Val(); got != "stopped" {
		t.Errorf("status %q, want stopped", got)
	}
	lines := logLines(rdb, "alice")
	if last := lines[len(lines)-1]; last != "info|received SIGTERM, stopping" {
		t.Errorf("last log line %q, want info|received SIGTERM, stopping", last)
	}
}

func TestReferencePeerExits130OnSIGINTWithoutAStatus(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client(0)
	defer rdb.Close()
	p := startPeer(t, srv.URL(0), "alice")
	waitForStatus(t, rdb, "alice", aliceStarted)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.exitCode(t); code != 130 {
		t.Fatalf("exit code %d, want 130 (stderr %q)", code, p.stderr.String())
	}
	if got := rdb.Get(context.Background(), "alice_status").Val(); got != aliceStarted {
		t.Errorf("status %q, want it left at started", got)
	}
	lines := logLines(rdb, "alice")
	if last := lines[len(lines)-1]; last != "info|received SIGINT, exiting" {
		t.Errorf("last log line %q, want info|received SIGINT, exiting", last)
	}
}

func TestReferencePeerRestartWritesTheDelayAndExits42(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client(0)
	defer rdb.Close()
	p := startPeer(t, srv.URL(0), "alice")
	waitForStatus(t, rdb, "alice", aliceStarted)
	rdb.RPush(context.Background(), "alice_command", "restart|0.5", "connect")
	if code := p.exitCode(t); code != 42 {
		t.Fatalf("exit code %d, want 42 (stderr %q)", code, p.stderr.String())
	}
	if got := rdb.Get(context.Background(), "alice_status").Val(); got != "restarting" {
		t.Errorf("status %q, want restarting", got)
	}
	if got, err := os.ReadFile(p.delayFile); err != nil || string(got) != "0.5" {
		t.Errorf("delay file = %q, %v; want 0.5", got, err)
	}
	lines := logLines(rdb, "alice")
	if want := "info|restarting in 0.5s (delay written to " + p.delayFile + ")"; lines[len(lines)-1] != want {
		t.Errorf("last log line %q, want %q", lines[len(lines)-1], want)
	}
	// The command after the restart was not handled: it waits for the next run.
	if got := rdb.LRange(context.Background(), "alice_command", 0, -1).Val(); !slices.Equal(got, []string{"connect"}) {
		t.Errorf("alice_command = %q, want [connect]", got)
	}
}

func TestReferencePeerFailsWithOneLine(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	closed := redistest.ClosedPort(t)
	tests := []struct {
		name, redisURL, peer string
		env                  []string
		want                 string
	}{
		{"no PEER_NAME", srv.URL(0), "", nil, "go reference peer: PEER_NAME is not set: "},
		{"no REDIS_URL", "", "alice", nil, "go reference peer: REDIS_URL is not set: "},
		{
			"unreachable Redis", fmt.Sprintf("redis://:pw@127.0.0.1:%d/1", closed), "alice", []string{"MULE_CONNECT_TIMEOUT=0.5"},
			fmt.Sprintf("go reference peer: cannot reach Redis at redis://:***@127.0.0.1:%d/1 after 0.5s: ", closed),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPeer(t, tt.redisURL, tt.peer, tt.env...)
			if code := p.exitCode(t); code != 1 {
				t.Fatalf("exit code %d, want 1", code)
			}
			stderr := p.stderr.String()
			if !strings.HasPrefix(stderr, tt.want) || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr %q, want one line starting %q", stderr, tt.want)
			}
		})
	}
}

func TestReferencePeerTestHooks(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client(0)
	defer rdb.Close()
	ctx := context.Background()

	t.Run("exit|7 exits at once with 7", func(t *testing.T) {
		p := startPeer(t, srv.URL(0), "exiter")
		waitForStatus(t, rdb, "exiter", "started|"+vladFor("exiter")+"|/ip4/10.1.2.3/udp/11984/quic-v1")
		rdb.RPush(ctx, "exiter_command", "exit|7")
		if code := p.exitCode(t); code != 7 {
			t.Errorf("exit code %d, want 7", code)
		}
	})
	t.Run("REF_PEER_IGNORE_SHUTDOWN and REF_PEER_NEVER_START", func(t *testing.T) {
		p := startPeer(t, srv.URL(0), "stubborn", "REF_PEER_IGNORE_SHUTDOWN=1", "REF_PEER_NEVER_START=1", "LISTEN_ADDR=")
		rdb.RPush(ctx, "stubborn_command", "shutdown")
		want := []string{
			`warn|LISTEN_ADDR "" has no UDP port; using 0`,
			"info|stubborn starting: " + vladFor("stubborn") + " on /ip4/10.1.2.3/udp/0/quic-v1",
			"warn|never reporting started (REF_PEER_NEVER_START is set)",
			"debug|received command: shutdown",
			"warn|ignoring shutdown (REF_PEER_IGNORE_SHUTDOWN is set)",
		}
		redistest.Eventually(t, "the log lines", func() bool { return len(logLines(rdb, "stubborn")) >= len(want) })
		if got := logLines(rdb, "stubborn"); !slices.Equal(got, want) {
			t.Errorf("logs %q, want %q", got, want)
		}
		if n := rdb.Exists(ctx, "stubborn_status").Val(); n != 0 {
			t.Errorf("a status was set despite REF_PEER_NEVER_START")
		}
		// exit|<code> dies at once, flushing nothing: sent only once the lines above are in.
		rdb.RPush(ctx, "stubborn_command", "exit|3")
		if code := p.exitCode(t); code != 3 {
			t.Fatalf("exit code %d, want 3", code)
		}
	})
	t.Run("REF_PEER_ECHO_ENV and REF_PEER_START_DELAY_MS", func(t *testing.T) {
		startPeer(t, srv.URL(0), "echo", "REF_PEER_ECHO_ENV=GREETING, MISSING,,EMPTY", "GREETING=hi \"you\"", "EMPTY=",
			"REF_PEER_START_DELAY_MS=5", "LOG_LEVEL=info")
		waitForStatus(t, rdb, "echo", "started|"+vladFor("echo")+"|/ip4/10.1.2.3/udp/11984/quic-v1")
		want := []string{
			"info|echo starting: " + vladFor("echo") + " on /ip4/10.1.2.3/udp/11984/quic-v1",
			`info|env GREETING="hi \"you\""`,
			"info|env MISSING=null",
			`info|env EMPTY=""`,
			"info|delaying start by 5 ms (REF_PEER_START_DELAY_MS)",
		}
		if got := logLines(rdb, "echo"); !slices.Equal(got, want) {
			t.Errorf("logs %q, want %q", got, want)
		}
	})
}

func TestReferencePeerLogBurstLosesNoLineAndStops(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client(0)
	defer rdb.Close()
	p := startPeer(t, srv.URL(0), "alice", "LOG_LEVEL=info")
	waitForStatus(t, rdb, "alice", aliceStarted)
	rdb.RPush(context.Background(), "alice_command", "log-burst|1000")
	if code := p.exitCode(t); code != 0 {
		t.Fatalf("exit code %d, want 0 (stderr %q)", code, p.stderr.String())
	}
	want := []string{"info|alice starting: vlad-2bd806c97f0e00af1a1fc3328fa763a9 on /ip4/10.1.2.3/udp/11984/quic-v1"}
	for i := 1; i <= 1000; i++ {
		want = append(want, fmt.Sprintf("info|burst %d", i))
	}
	want = append(want, "info|shutting down")
	if got := logLines(rdb, "alice"); !slices.Equal(got, want) {
		t.Errorf("alice_log has %d lines, want the %d expected in order", len(got), len(want))
	}
	if got := rdb.Get(context.Background(), "alice_status").Val(); got != "stopped" {
		t.Errorf("status %q, want stopped", got)
	}
}
