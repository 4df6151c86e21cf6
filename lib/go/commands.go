package themule

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Commands returns the channel of raw commands, in the order the orchestrator sent them. The
// first call starts a goroutine that waits with BLPOP <peer>_command 0 on a connection of its
// own (blocking in Redis, no polling) and hands over one command at a time. The channel is
// closed by Close, or when Redis stays unreachable for the connect timeout or answers with an
// error: then Err says why.
func (c *Client) Commands() <-chan string {
	c.pumpMu.Lock()
	defer c.pumpMu.Unlock()
	if !c.pumpStarted {
		c.pumpStarted = true
		go c.pump()
	}
	return c.commands
}

// pump moves commands from Redis to the channel until Close or a lasting failure.
func (c *Client) pump() {
	defer close(c.pumpDone)
	defer close(c.commands)
	ctx := context.Background()
	var failingSince time.Time
	delay := firstRetryDelay
	for {
		reply, err := c.conns.commands.BLPop(ctx, 0, c.commandKey).Result()
		if c.isClosing() {
			if err == nil {
				c.requeue(reply[1])
			}
			return
		}
		if err != nil {
			if isServerError(err) {
				c.stop(&ConnectError{URL: c.maskedURL, Err: err})
				return
			}
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			remaining := c.timeout - time.Since(failingSince)
			if remaining <= 0 {
				c.stop(&ConnectError{URL: c.maskedURL, Timeout: c.timeout, Err: err})
				return
			}
			select {
			case <-time.After(min(delay, remaining)):
			case <-c.closing:
				return
			}
			delay = min(2*delay, lastRetryDelay)
			continue
		}
		failingSince, delay = time.Time{}, firstRetryDelay
		select {
		case c.commands <- reply[1]:
		case <-c.closing:
			c.requeue(reply[1])
			return
		}
	}
}

func (c *Client) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

func (c *Client) stop(err error) {
	c.pumpMu.Lock()
	c.err = err
	c.pumpMu.Unlock()
}

// requeue puts back a command that was popped but never received, at the head of the list where
// it was, so a restarted peer gets it.
func (c *Client) requeue(command string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conns.main.LPush(ctx, c.commandKey, command).Err(); err != nil {
		fmt.Fprintf(os.Stderr, "themule: command %q was received but not handled, and could not be put back: %v\n", command, err)
	}
}
