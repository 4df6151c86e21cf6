package themule

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults of the settings a Builder does not override.
const (
	// DefaultConnectTimeout is how long Build keeps retrying an unreachable Redis
	// (MULE_CONNECT_TIMEOUT overrides it).
	DefaultConnectTimeout = 10 * time.Second
	// DefaultDelayFile is where Restart writes the delay (TM_DELAY_FILE overrides it).
	DefaultDelayFile = "/tmp/delay"
)

// Builder configures a Client. Whatever is not set on it comes from the environment:
// REDIS_URL and PEER_NAME (required), LOG_LEVEL (default info), MULE_CONNECT_TIMEOUT (seconds,
// default 10), TM_DELAY_FILE (default /tmp/delay).
type Builder struct {
	redisURL       string
	peerName       string
	level          *slog.Level
	connectTimeout time.Duration
	echo           io.Writer
	delayFile      string
	exit           func(code int)
	keepDefault    bool
}

// NewBuilder returns a Builder that takes every setting from the environment.
func NewBuilder() *Builder { return &Builder{} }

// DefaultLogger says whether Build makes the client's Logger the default slog logger (and so
// the destination of the log package's output too), as the original library's Build did, so
// that a peer's slog.Info(...) and log.Printf(...) reach the orchestrator. Default true; Close
// gives the previous default logger and log output back. With false, the program's default
// logger is left alone: use client.Logger() or client.LogHandler() yourself.
func (b *Builder) DefaultLogger(install bool) *Builder { b.keepDefault = !install; return b }

// RedisURL sets the Redis URL instead of REDIS_URL (redis://[user:password@]host:port[/db]).
func (b *Builder) RedisURL(url string) *Builder { b.redisURL = url; return b }

// PeerName sets the peer's name, the prefix of its Redis keys, instead of PEER_NAME.
func (b *Builder) PeerName(name string) *Builder { b.peerName = name; return b }

// LogLevel sets the threshold below which records are neither forwarded nor echoed, instead of
// LOG_LEVEL (default slog.LevelInfo).
func (b *Builder) LogLevel(level slog.Level) *Builder { b.level = &level; return b }

// ConnectTimeout sets how long Build retries an unreachable Redis, and how long the command
// channel waits for a lost Redis to come back, instead of MULE_CONNECT_TIMEOUT (default 10 s).
func (b *Builder) ConnectTimeout(d time.Duration) *Builder { b.connectTimeout = d; return b }

// EchoLogs also writes every forwarded line to w as `level|message` (os.Stdout makes them show
// in `docker logs`). Default: no echo.
func (b *Builder) EchoLogs(w io.Writer) *Builder { b.echo = w; return b }

// DelayFile sets where Restart writes the delay, instead of TM_DELAY_FILE (default /tmp/delay).
func (b *Builder) DelayFile(path string) *Builder { b.delayFile = path; return b }

// ExitFunc replaces os.Exit as the way Restart and HandleSIGTERM end the process (tests).
func (b *Builder) ExitFunc(exit func(code int)) *Builder { b.exit = exit; return b }

// settings is what a Builder resolved from itself and the environment.
type settings struct {
	redisURL       string
	peerName       string
	level          slog.Level
	connectTimeout time.Duration
	echo           io.Writer
	delayFile      string
	exit           func(code int)
	setDefault     bool
}

func (b *Builder) resolve() (settings, error) {
	s := settings{
		redisURL:       firstSet(b.redisURL, os.Getenv("REDIS_URL")),
		peerName:       firstSet(b.peerName, os.Getenv("PEER_NAME")),
		level:          slog.LevelInfo,
		connectTimeout: b.connectTimeout,
		echo:           b.echo,
		delayFile:      firstSet(b.delayFile, os.Getenv("TM_DELAY_FILE"), DefaultDelayFile),
		exit:           b.exit,
		setDefault:     !b.keepDefault,
	}
	if s.redisURL == "" {
		return s, &ConfigError{Variable: "REDIS_URL", Message: "REDIS_URL is not set: the orchestrator sets it; " +
			"set it yourself (e.g. redis://127.0.0.1:6379) or call Builder.RedisURL"}
	}
	if s.peerName == "" {
		return s, &ConfigError{Variable: "PEER_NAME", Message: "PEER_NAME is not set: the orchestrator sets it; " +
			"set it yourself or call Builder.PeerName"}
	}
	if b.level != nil {
		s.level = *b.level
	} else if raw := os.Getenv("LOG_LEVEL"); strings.TrimSpace(raw) != "" {
		level, err := ParseLogLevel(raw)
		if err != nil {
			return s, err
		}
		s.level = level
	}
	if s.connectTimeout <= 0 {
		timeout, err := connectTimeoutFromEnv()
		if err != nil {
			return s, err
		}
		s.connectTimeout = timeout
	}
	if s.exit == nil {
		s.exit = os.Exit
	}
	return s, nil
}

// connectTimeoutFromEnv reads MULE_CONNECT_TIMEOUT (positive seconds, e.g. 10 or 2.5).
func connectTimeoutFromEnv() (time.Duration, error) {
	raw := strings.TrimSpace(os.Getenv("MULE_CONNECT_TIMEOUT"))
	if raw == "" {
		return DefaultConnectTimeout, nil
	}
	secs, err := strconv.ParseFloat(raw, 64)
	if err != nil || !(secs > 0) || secs > 1e6 {
		return 0, &ConfigError{
			Variable: "MULE_CONNECT_TIMEOUT",
			Message:  fmt.Sprintf("MULE_CONNECT_TIMEOUT=%q is not a positive number of seconds", raw),
		}
	}
	return secondsToDuration(secs), nil
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// Build resolves the settings, connects to Redis (retrying with back-off for the connect
// timeout; ctx cancels the wait) and returns a ready Client, whose Logger it makes the default
// slog logger unless DefaultLogger(false) was set. Errors are *ConfigError (a missing or invalid
// variable) or *ConnectError (Redis unreachable or refusing us).
func (b *Builder) Build(ctx context.Context) (*Client, error) {
	s, err := b.resolve()
	if err != nil {
		return nil, err
	}
	conns, err := dial(ctx, s)
	if err != nil {
		return nil, err
	}
	c := newClient(s, conns)
	if s.setDefault {
		c.installDefaultLogger()
	}
	return c, nil
}
