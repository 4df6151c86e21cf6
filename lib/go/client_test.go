package themule_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tm/themule"
	"tm/themule/internal/redistest"
)

func TestCommandsDeliversABurstOfFiftyInOrder(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := build(t, srv, "burst")
	rdb := inspect(t, srv, 0)
	sent := make([]any, 50)
	for i := range sent {
		sent[i] = fmt.Sprintf("push|bob|message %d", i)
	}
	// One RPUSH: all fifty are queued before the peer takes the first.
	if err := rdb.RPush(context.Background(), "burst_command", sent...).Err(); err != nil {
		t.Fatal(err)
	}
	commands := client.Commands()
	for i, want := range sent {
		if got := receive(t, commands); got != want {
			t.Fatalf("command %d = %q, want %q", i, got, want)
		}
	}
}

func TestCommandsWaitsForCommandsSentLater(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := build(t, srv, "later")
	commands := client.Commands()
	rdb := inspect(t, srv, 0)
	// The BLPOP is pending once Redis counts a blocked client.
	redistest.Eventually(t, "a blocked client", func() bool {
		info, _ := rdb.Info(context.Background(), "clients").Result()
		return strings.Contains(info, "blocked_clients:1")
	})
	rdb.RPush(context.Background(), "later_command", "connect")
	if got := receive(t, commands); got != "connect" {
		t.Fatalf("command = %q, want connect", got)
	}
}

func TestSendStatusAndFailSetTheStatusKey(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := build(t, srv, "alice")
	rdb := inspect(t, srv, 0)
	ctx := context.Background()
	tests := []struct {
		send func() error
		want string
	}{
		{func() error { return client.SendStatus(ctx, "started|vlad-1|/ip4/1.2.3.4/udp/1/quic-v1") }, "started|vlad-1|/ip4/1.2.3.4/udp/1/quic-v1"},
		{func() error { return client.SendStatus(ctx, "connected") }, "connected"},
		{func() error { return client.Fail(ctx, "disk full") }, "failed|disk full"},
	}
	for _, tt := range tests {
		if err := tt.send(); err != nil {
			t.Fatal(err)
		}
		if got := rdb.Get(ctx, "alice_status").Val(); got != tt.want {
			t.Errorf("alice_status = %q, want %q", got, tt.want)
		}
	}
}

func TestSendStatusPushesEarlierLogLinesFirst(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := build(t, srv, "ordered")
	rdb := inspect(t, srv, 0)
	for i := range 200 {
		client.Logger().Info(fmt.Sprintf("line %d", i))
	}
	if err := client.SendStatus(context.Background(), "connected"); err != nil {
		t.Fatal(err)
	}
	// No Close yet: the status write alone must have pushed all 200 lines.
	if got := len(logLines(t, rdb, "ordered")); got != 200 {
		t.Fatalf("%d log lines in Redis when the status was set, want 200", got)
	}
}

func TestRedisURLDatabaseAndPasswordAreHonoured(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: "s3cret"})
	tests := []struct{ name, url string }{
		{"password only", fmt.Sprintf("redis://:s3cret@127.0.0.1:%d/3", srv.Port)},
		{"user and password", fmt.Sprintf("redis://default:s3cret@127.0.0.1:%d/5", srv.Port)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := []int{3, 5}[i]
			client, err := themule.NewBuilder().RedisURL(tt.url).PeerName("alice").Build(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			ctx := context.Background()
			rdb := inspect(t, srv, db)
			rdb.RPush(ctx, "alice_command", "connect")
			if got := receive(t, client.Commands()); got != "connect" {
				t.Fatalf("command = %q, want connect", got)
			}
			client.Logger().Info("hello")
			if err := client.SendStatus(ctx, "connected"); err != nil {
				t.Fatal(err)
			}
			if got := rdb.Get(ctx, "alice_status").Val(); got != "connected" {
				t.Errorf("alice_status in db %d = %q, want connected", db, got)
			}
			if got := logLines(t, rdb, "alice"); !slices.Equal(got, []string{"info|hello"}) {
				t.Errorf("alice_log in db %d = %q", db, got)
			}
			if n := inspect(t, srv, 0).Exists(ctx, "alice_status").Val(); n != 0 {
				t.Errorf("alice_status also written to db 0")
			}
		})
	}
}

func TestCommandsClosesWithErrWhenRedisIsGone(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := build(t, srv, "orphan", func(b *themule.Builder) { b.ConnectTimeout(300 * time.Millisecond) })
	commands := client.Commands()
	inspect(t, srv, 0).RPush(context.Background(), "orphan_command", "connect")
	receive(t, commands)
	srv.Stop()
	for range commands {
		t.Fatal("a command arrived after Redis stopped")
	}
	var conn *themule.ConnectError
	if err := client.Err(); !errors.As(err, &conn) {
		t.Fatalf("Err() = %v, want a ConnectError", err)
	}
	if want := fmt.Sprintf("cannot reach Redis at redis://127.0.0.1:%d/0 after 0.3s: ", srv.Port); !strings.HasPrefix(client.Err().Error(), want) {
		t.Errorf("Err() = %q, want it to start with %q", client.Err(), want)
	}
}

func TestCloseClosesCommandsAndPutsBackACommandNotYetReceived(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := build(t, srv, "requeue")
	rdb := inspect(t, srv, 0)
	ctx := context.Background()
	commands := client.Commands()
	rdb.RPush(ctx, "requeue_command", "first", "second")
	if got := receive(t, commands); got != "first" {
		t.Fatalf("command = %q, want first", got)
	}
	// "second" is popped by the channel's goroutine, which waits for a receiver that never comes.
	redistest.Eventually(t, "second to be popped", func() bool { return rdb.LLen(ctx, "requeue_command").Val() == 0 })
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if _, open := <-commands; open {
		t.Fatal("the command channel is still open after Close")
	}
	if got := rdb.LRange(ctx, "requeue_command", 0, -1).Val(); !slices.Equal(got, []string{"second"}) {
		t.Errorf("requeue_command = %q, want [second]", got)
	}
	if err := client.Err(); err != nil {
		t.Errorf("Err() after Close = %v, want nil", err)
	}
}

func TestCloseIsIdempotentAndLaterCallsAreRefused(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := build(t, srv, "closed")
	for range 3 {
		if err := client.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if err := client.SendStatus(context.Background(), "connected"); !errors.Is(err, themule.ErrClosed) {
		t.Errorf("SendStatus after Close = %v, want ErrClosed", err)
	}
	if _, open := <-client.Commands(); open {
		t.Error("Commands() after Close is open")
	}
}
