// Package redistest starts real redis-server processes for the tests of the themule module: each
// on a free port of 127.0.0.1, without persistence, stopped when the test ends.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one running redis-server.
type Server struct {
	Port     int
	Password string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Options of Start; the zero value is a server without password.
type Options struct {
	// Password makes the server require it (redis-server --requirepass).
	Password string
}

// Start runs redis-server on a free port and waits until it answers PING. The server is killed
// when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	var lastErr error
	// A port found free can be taken before redis-server binds it: try a few.
	for attempt := 0; attempt < 5; attempt++ {
		s, err := start(opts)
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		lastErr = err
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

func start(opts Options) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	if opts.Password != "" {
		args = append(args, "--requirepass", opts.Password)
	}
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("redis-server: %w (is it installed?)", err)
	}
	s := &Server{Port: port, Password: opts.Password, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	rdb := s.Client(0)
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := rdb.Ping(context.Background()).Err()
		if err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("redis-server on port %d exited: %v", port, err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("redis-server on port %d does not answer: %v", port, err)
		}
	}
}

// URL is the server's redis:// URL for database db, with the password if there is one.
func (s *Server) URL(db int) string {
	auth := ""
	if s.Password != "" {
		auth = ":" + s.Password + "@"
	}
	return fmt.Sprintf("redis://%s127.0.0.1:%d/%d", auth, s.Port, db)
}

// Client is a go-redis client on database db, for the test's own checks; the caller closes it.
func (s *Server) Client(db int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:     "127.0.0.1:" + strconv.Itoa(s.Port),
		Password: s.Password,
		DB:       db,
	})
}

// Stop kills the server and waits for it to exit. Idempotent.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// ClosedPort is a port of 127.0.0.1 where nothing listens (for unreachable-Redis tests).
func ClosedPort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Eventually polls cond every 10 ms until it holds; the test fails if it does not within 15 s.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
