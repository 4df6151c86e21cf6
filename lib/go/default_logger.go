package themule

import (
	"io"
	"log"
	"log/slog"
	"slices"
	"sync"
)

// The process-wide default logger as the clients built with it installed it: the clients whose
// Logger is or was the default, oldest first, and what the program had before the first.
var defaultLogging struct {
	sync.Mutex
	installed []*Client
	before    struct {
		logger *slog.Logger
		writer io.Writer
		flags  int
	}
}

// installDefaultLogger makes the client's Logger the default slog logger; slog.SetDefault also
// sends the log package's output through its handler.
func (c *Client) installDefaultLogger() {
	d := &defaultLogging
	d.Lock()
	defer d.Unlock()
	if len(d.installed) == 0 {
		d.before.logger, d.before.writer, d.before.flags = slog.Default(), log.Writer(), log.Flags()
	}
	d.installed = append(d.installed, c)
	slog.SetDefault(c.logger)
}

// restoreDefaultLogger runs at Close: if the client's Logger is still the default, the default
// goes back to the newest other client that installed one and is still open, else to what the
// program had before; a default logger the program installed since stays.
func (c *Client) restoreDefaultLogger() {
	d := &defaultLogging
	d.Lock()
	defer d.Unlock()
	i := slices.Index(d.installed, c)
	if i < 0 {
		return
	}
	d.installed = slices.Delete(d.installed, i, i+1)
	if slog.Default() != c.logger {
		return
	}
	if n := len(d.installed); n > 0 {
		slog.SetDefault(d.installed[n-1].logger)
		return
	}
	slog.SetDefault(d.before.logger)
	// SetDefault of slog's own initial logger leaves the log package writing to our handler.
	log.SetOutput(d.before.writer)
	log.SetFlags(d.before.flags)
}
