package themule

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// maxLogBatch caps the values of one LPUSH, so a burst of lines becomes a few commands of
// bounded size rather than one huge one.
const maxLogBatch = 1000

// logForwarder queues log lines and pushes them from one goroutine, in order, many per LPUSH.
// Queuing never blocks on Redis; the queue is unbounded because a line that could not be queued
// would be lost, and a push that fails (Redis gone) empties it.
type logForwarder struct {
	push   func(ctx context.Context, lines []string) error
	stderr io.Writer // where failed pushes are reported

	mu       sync.Mutex
	queue    []string
	queued   uint64        // lines queued since the start
	handled  uint64        // lines pushed (or given up on) since the start
	progress chan struct{} // closed, then replaced, whenever handled grows
	closed   bool

	wake chan struct{} // capacity 1: "the queue is not empty"
	stop chan struct{} // closed by close: drain everything, then exit
	done chan struct{} // closed when the goroutine has exited
}

func newLogForwarder(push func(ctx context.Context, lines []string) error, stderr io.Writer) *logForwarder {
	f := &logForwarder{
		push:     push,
		stderr:   stderr,
		progress: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go f.run()
	return f
}

// enqueue queues one line; after close it drops it and returns false.
func (f *logForwarder) enqueue(line string) bool {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return false
	}
	f.queue = append(f.queue, line)
	f.queued++
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	return true
}

// flush returns once every line queued before the call was pushed (or given up on).
func (f *logForwarder) flush(ctx context.Context) error {
	f.mu.Lock()
	target := f.queued
	for f.handled < target {
		progress := f.progress
		f.mu.Unlock()
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
	return nil
}

// close refuses new lines, pushes every queued one and stops the goroutine. Idempotent.
func (f *logForwarder) close() {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.stop)
	}
	f.mu.Unlock()
	<-f.done
}

func (f *logForwarder) run() {
	defer close(f.done)
	for {
		select {
		case <-f.wake:
			f.drain()
		case <-f.stop:
			f.drain()
			return
		}
	}
}

// drain pushes batches until the queue is empty.
func (f *logForwarder) drain() {
	for {
		f.mu.Lock()
		n := min(len(f.queue), maxLogBatch)
		batch := f.queue[:n:n]
		f.queue = f.queue[n:]
		f.mu.Unlock()
		if n == 0 {
			return
		}
		if err := f.push(context.Background(), batch); err != nil {
			fmt.Fprintf(f.stderr, "themule: could not forward %d log line(s): %v\n", n, err)
		}
		f.mu.Lock()
		f.handled += uint64(n)
		close(f.progress)
		f.progress = make(chan struct{})
		f.mu.Unlock()
	}
}
