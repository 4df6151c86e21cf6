package themule

import (
	"errors"
	"fmt"
	"time"
)

// ErrClosed is returned by calls made on a client after Close.
var ErrClosed = errors.New("themule: the client is closed")

// ConfigError reports a missing or invalid setting. Variable names the environment variable at
// fault (e.g. "PEER_NAME"); the message names it first and says how to fix it.
type ConfigError struct {
	Variable string
	Message  string
}

func (e *ConfigError) Error() string { return e.Message }

// ConnectError reports that Redis could not be used: unreachable for Timeout (while building
// the client, or later while waiting for commands), or, when Timeout is zero, answering with an
// error that retrying cannot fix (a wrong password, for instance). URL has its password masked.
type ConnectError struct {
	URL     string
	Timeout time.Duration
	Err     error
}

func (e *ConnectError) Error() string {
	if e.Timeout == 0 {
		return fmt.Sprintf("cannot use Redis at %s: %v", e.URL, e.Err)
	}
	return fmt.Sprintf("cannot reach Redis at %s after %ss: %v", e.URL, formatSeconds(e.Timeout), e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }
