package themule

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// connections are a client's two Redis clients: main for statuses, logs and re-queued
// commands; commands for the BLPOP, which occupies its connection while it waits.
type connections struct {
	main     *redis.Client
	commands *redis.Client
	// commandsID is the Redis CLIENT ID of the commands connection (it changes on reconnect),
	// for CLIENT UNBLOCK.
	commandsID *atomic.Int64
}

// Back-off between connection attempts: doubles from first to last.
const (
	firstRetryDelay = 50 * time.Millisecond
	lastRetryDelay  = time.Second
)

// dial opens both connections and checks each with PING, retrying for s.connectTimeout.
func dial(ctx context.Context, s settings) (connections, error) {
	opts, err := redis.ParseURL(s.redisURL)
	if err != nil {
		var parseErr *url.Error
		if errors.As(err, &parseErr) {
			err = parseErr.Err // its message repeats the URL, password included
		}
		return connections{}, &ConfigError{
			Variable: "REDIS_URL",
			Message:  fmt.Sprintf("REDIS_URL %s is not a Redis URL: %v", maskURL(s.redisURL), err),
		}
	}
	// Plain Redis has no maintenance notifications; asking for them costs a round trip per connection.
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	opts.DialTimeout = min(s.connectTimeout, 5*time.Second)
	// One dial per attempt: ping and the command pump retry with their own back-off and deadline.
	opts.DialerRetries = 1

	mainOpts := *opts
	mainOpts.ClientName = "mule:" + s.peerName + ":main"
	mainOpts.PoolSize = 2
	cmdOpts := *opts
	cmdOpts.ClientName = "mule:" + s.peerName + ":commands"
	cmdOpts.PoolSize = 1
	cmdOpts.MaxRetries = -1 // the command pump retries by itself, for the connect timeout
	commandsID := new(atomic.Int64)
	cmdOpts.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		id, err := cn.ClientID(ctx).Result()
		commandsID.Store(id)
		return err
	}

	conns := connections{main: redis.NewClient(&mainOpts), commands: redis.NewClient(&cmdOpts), commandsID: commandsID}
	masked := maskURL(s.redisURL)
	for _, rdb := range []*redis.Client{conns.main, conns.commands} {
		if err := ping(ctx, rdb, s.connectTimeout, masked); err != nil {
			_ = conns.close()
			return connections{}, err
		}
	}
	return conns, nil
}

// ping retries PING with back-off until Redis answers, answers with an error, timeout passes
// or ctx is done.
func ping(ctx context.Context, rdb *redis.Client, timeout time.Duration, maskedURL string) error {
	deadline := time.Now().Add(timeout)
	delay := firstRetryDelay
	for {
		err := rdb.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		if isServerError(err) {
			return &ConnectError{URL: maskedURL, Err: err}
		}
		if ctx.Err() != nil {
			return &ConnectError{URL: maskedURL, Timeout: timeout, Err: ctx.Err()}
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return &ConnectError{URL: maskedURL, Timeout: timeout, Err: err}
		}
		if !sleep(ctx, min(delay, remaining)) {
			return &ConnectError{URL: maskedURL, Timeout: timeout, Err: ctx.Err()}
		}
		delay = min(2*delay, lastRetryDelay)
	}
}

// isServerError tells a reply of Redis (WRONGPASS, NOAUTH, WRONGTYPE: retrying cannot help)
// from a network failure.
func isServerError(err error) bool {
	var redisErr redis.Error
	return errors.As(err, &redisErr)
}

// sleep waits for d; false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c connections) close() error {
	return errors.Join(c.commands.Close(), c.main.Close())
}
