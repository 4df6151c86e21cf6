package themule

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// stopStatusTimeout bounds the `stopped` status write on SIGTERM: Docker kills the container
// 10 s after its SIGTERM, and a lost Redis must not use all of them.
const stopStatusTimeout = 5 * time.Second

// HandleSIGTERM makes SIGTERM stop the peer cleanly: an info line `received SIGTERM, stopping`,
// status `stopped` (the last status: SendStatus drops any later one), every log line flushed,
// Close, and the process exits 0. It is how `docker stop` and the orchestrator's teardown end a
// peer. The handling lasts until ctx is done or stop is called (then SIGTERM kills again).
func (c *Client) HandleSIGTERM(ctx context.Context) (stop func()) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer signal.Stop(signals)
		select {
		case <-ctx.Done():
		case <-signals:
			c.stopOnSignal("SIGTERM")
		}
	}()
	return func() {
		signal.Stop(signals)
		cancel()
	}
}

func (c *Client) stopOnSignal(name string) {
	c.logger.Info(fmt.Sprintf("received %s, stopping", name))
	c.statusMu.Lock()
	c.signalled = true
	c.statusMu.Unlock()
	var err error
	c.closeOnce.Do(func() {
		c.closeErr = c.close(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), stopStatusTimeout)
			defer cancel()
			return c.setStatus(ctx, "stopped")
		})
		err = c.closeErr
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "themule: stopping on %s: %v\n", name, err)
	}
	c.exit(0)
}
