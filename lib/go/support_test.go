package themule_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"tm/themule"
	"tm/themule/internal/redistest"
)

// build connects a client for peer on srv's database 0; it is closed when the test ends.
// configure, if given, adjusts the builder first.
func build(t *testing.T, srv *redistest.Server, peer string, configure ...func(*themule.Builder)) *themule.Client {
	t.Helper()
	b := themule.NewBuilder().RedisURL(srv.URL(0)).PeerName(peer).LogLevel(themule.LevelTrace)
	for _, c := range configure {
		c(b)
	}
	client, err := b.Build(context.Background())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// inspect is a plain go-redis client on srv's database db, closed when the test ends.
func inspect(t *testing.T, srv *redistest.Server, db int) *redis.Client {
	t.Helper()
	rdb := srv.Client(db)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// logLines is <peer>_log in the order the lines were logged (the list is LPUSHed: newest first).
func logLines(t *testing.T, rdb *redis.Client, peer string) []string {
	t.Helper()
	lines, err := rdb.LRange(context.Background(), peer+"_log", 0, -1).Result()
	if err != nil {
		t.Fatalf("LRANGE %s_log: %v", peer, err)
	}
	slices.Reverse(lines)
	return lines
}

// receive takes the next command from ch, failing the test if none comes or ch is closed.
func receive(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case command, ok := <-ch:
		if !ok {
			t.Fatal("the command channel was closed")
		}
		return command
	case <-time.After(15 * time.Second):
		t.Fatal("no command within 15 s")
		return ""
	}
}

// exitRecorder stands in for os.Exit: it records the code and returns.
type exitRecorder struct{ codes chan int }

func newExitRecorder() *exitRecorder { return &exitRecorder{codes: make(chan int, 1)} }

func (e *exitRecorder) exit(code int) { e.codes <- code }
