package themule

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// RestartExitCode is the exit code that asks the entrypoint to run the peer again once the
// delay written to the delay file has passed.
const RestartExitCode = 42

// Restart runs the restart protocol: status `restarting`, the delay in seconds written to the
// delay file (TM_DELAY_FILE, default /tmp/delay) as a plain decimal ("2", "0.5"), an info line
// `restarting in <secs>s (delay written to <file>)`, every log line flushed, Close, and the
// process exits with RestartExitCode. It returns only on failure before the exit (or when the
// Builder's ExitFunc returns).
func (c *Client) Restart(ctx context.Context, delay time.Duration) error {
	if delay < 0 {
		return fmt.Errorf("restart: negative delay %v", delay)
	}
	if c.isClosed() {
		return fmt.Errorf("restart: %w", ErrClosed)
	}
	secs := formatSeconds(delay)
	if err := c.SendStatus(ctx, "restarting"); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if err := os.WriteFile(c.delayFile, []byte(secs), 0o644); err != nil {
		return fmt.Errorf("restart: writing the delay file: %w", err)
	}
	c.logger.InfoContext(ctx, fmt.Sprintf("restarting in %ss (delay written to %s)", secs, c.delayFile))
	if err := c.Close(); err != nil && !errors.Is(err, ErrClosed) {
		// The restart matters more than a connection that closed badly: say so and go on.
		fmt.Fprintf(os.Stderr, "themule: closing before the restart: %v\n", err)
	}
	c.exit(RestartExitCode)
	return nil
}
