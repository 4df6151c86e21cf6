package themule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client is a connected peer: it receives commands (Commands), reports statuses (SendStatus,
// Fail, Restart) and forwards logs (Logger, LogHandler). Build it with NewBuilder; Close it at
// the end. Its methods are safe for concurrent use.
type Client struct {
	peerName   string
	statusKey  string
	commandKey string
	maskedURL  string
	timeout    time.Duration
	delayFile  string
	exit       func(code int)
	conns      connections
	logs       *logForwarder
	handler    *logHandler
	logger     *slog.Logger

	// statusMu orders status writes with Close: no status is set once Close has begun, so a
	// SIGTERM's `stopped` is the last word even while a command is being handled.
	statusMu  sync.Mutex
	closed    bool
	signalled bool // SIGTERM handling began: later statuses are dropped quietly

	pumpMu      sync.Mutex
	pumpStarted bool
	commands    chan string
	closing     chan struct{} // closed when Close begins
	pumpDone    chan struct{} // closed when the pump has exited (or never started and Close ran)
	err         error         // why the pump stopped; guarded by pumpMu

	closeOnce sync.Once
	closeErr  error
}

func newClient(s settings, conns connections) *Client {
	c := &Client{
		peerName:   s.peerName,
		statusKey:  s.peerName + "_status",
		commandKey: s.peerName + "_command",
		maskedURL:  maskURL(s.redisURL),
		timeout:    s.connectTimeout,
		delayFile:  s.delayFile,
		exit:       s.exit,
		conns:      conns,
		commands:   make(chan string),
		closing:    make(chan struct{}),
		pumpDone:   make(chan struct{}),
	}
	logKey := s.peerName + "_log"
	c.logs = newLogForwarder(func(ctx context.Context, lines []string) error {
		values := make([]any, len(lines))
		for i, line := range lines {
			values[i] = line
		}
		return conns.main.LPush(ctx, logKey, values...).Err()
	}, os.Stderr)
	c.handler = &logHandler{level: s.level, fwd: c.logs}
	if s.echo != nil {
		c.handler.echo = &lineWriter{w: s.echo}
	}
	c.logger = slog.New(c.handler)
	return c
}

// PeerName is this peer's name, the prefix of its Redis keys.
func (c *Client) PeerName() string { return c.peerName }

// LogHandler is the slog.Handler that forwards records at or above the log level to
// <peer>_log as `level|message` (debug, info, warn, error), without blocking the caller.
func (c *Client) LogHandler() slog.Handler { return c.handler }

// Logger is a slog.Logger on LogHandler. Build makes it the default slog logger (unless
// Builder.DefaultLogger(false)), so the whole program's slog (and log) output is forwarded.
func (c *Client) Logger() *slog.Logger { return c.logger }

// SendStatus sets <peer>_status (`started`, `started|<vlad>|<multiaddr>`, `connected`,
// `stopped`, ...). Log records handled before the call are pushed first, so the orchestrator
// sees them before the status. After Close it returns ErrClosed; once SIGTERM handling has
// closed the client it drops the status and returns nil, so code still running ends quietly
// while the process exits with `stopped` as the last status.
func (c *Client) SendStatus(ctx context.Context, status string) error {
	c.statusMu.Lock()
	defer c.statusMu.Unlock()
	if c.closed {
		if c.signalled {
			return nil
		}
		return ErrClosed
	}
	return c.setStatus(ctx, status)
}

// isClosed tells whether Close has begun.
func (c *Client) isClosed() bool {
	c.statusMu.Lock()
	defer c.statusMu.Unlock()
	return c.closed
}

// setStatus flushes the logs, then SETs the status; the caller holds statusMu.
func (c *Client) setStatus(ctx context.Context, status string) error {
	if err := c.logs.flush(ctx); err != nil {
		return err
	}
	if err := c.conns.main.Set(ctx, c.statusKey, status, 0).Err(); err != nil {
		return fmt.Errorf("setting %s to %q: %w", c.statusKey, status, err)
	}
	return nil
}

// Fail reports a failure the peer detected itself: status `failed|<reason>`.
func (c *Client) Fail(ctx context.Context, reason string) error {
	return c.SendStatus(ctx, "failed|"+reason)
}

// Err says why the command channel was closed: nil if Close closed it (or it is open), a
// *ConnectError if Redis was gone for the connect timeout or refused the BLPOP.
func (c *Client) Err() error {
	c.pumpMu.Lock()
	defer c.pumpMu.Unlock()
	return c.err
}

// Close pushes every queued log line, closes the command channel (a command taken from Redis
// but not yet received goes back to the head of <peer>_command) and closes both connections.
// It is idempotent; later calls return the first call's result.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close(nil) })
	return c.closeErr
}

// close runs Close; finalStatus, if not nil, is set first, atomically with closing, so no
// other status can follow it.
func (c *Client) close(finalStatus func() error) error {
	var errs []error
	c.statusMu.Lock()
	if finalStatus != nil && !c.closed {
		errs = append(errs, finalStatus())
	}
	c.closed = true
	c.statusMu.Unlock()

	close(c.closing)
	c.pumpMu.Lock()
	started := c.pumpStarted
	c.pumpStarted = true // a Commands() call from now on gets the closed channel
	c.pumpMu.Unlock()
	if started {
		c.stopPump()
	} else {
		close(c.commands)
		close(c.pumpDone)
	}
	if err := c.conns.commands.Close(); !errors.Is(err, redis.ErrClosed) { // stopPump may have closed it
		errs = append(errs, err)
	}
	c.restoreDefaultLogger()
	c.logs.close()
	errs = append(errs, c.conns.main.Close())
	return errors.Join(errs...)
}

// Unblocking the BLPOP: how long to wait for the pump after each CLIENT UNBLOCK, and how many
// times to try before closing the connection under it.
const (
	unblockWait     = 50 * time.Millisecond
	unblockAttempts = 20
)

// stopPump ends a pending BLPOP with CLIENT UNBLOCK and waits for the pump to exit. Unblocking
// rather than closing the connection means a command Redis already popped still arrives (and
// is put back); it is repeated because the pump may send its BLPOP just after an unblock. If
// Redis does not answer, closing the connection ends the BLPOP.
func (c *Client) stopPump() {
	for range unblockAttempts {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.conns.main.ClientUnblock(ctx, c.conns.commandsID.Load()).Err()
		cancel()
		if err != nil {
			break
		}
		select {
		case <-c.pumpDone:
			return
		case <-time.After(unblockWait):
		}
	}
	_ = c.conns.commands.Close()
	<-c.pumpDone
}
