package themule

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// logHandler is the slog.Handler a client hands out: records at or above its level become
// `level|message` lines, queued for LPUSH <peer>_log and optionally echoed to a writer. The
// message is followed by the record's attributes in slog's text format (`msg k=v g.k="a b"`).
type logHandler struct {
	level slog.Leveler
	fwd   *logForwarder
	echo  *lineWriter // nil: no echo
	with  []func(slog.Handler) slog.Handler
}

// lineWriter writes whole lines to w, one writer at a time.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) writeLine(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, line+"\n")
}

func (h *logHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	line := wireLevel(r.Level) + "|" + h.message(ctx, r)
	if h.echo != nil {
		h.echo.writeLine(line)
	}
	h.fwd.enqueue(line)
	return nil
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.extended(func(next slog.Handler) slog.Handler { return next.WithAttrs(attrs) })
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.extended(func(next slog.Handler) slog.Handler { return next.WithGroup(name) })
}

func (h *logHandler) extended(step func(slog.Handler) slog.Handler) *logHandler {
	clone := *h
	clone.with = append(h.with[:len(h.with):len(h.with)], step)
	return &clone
}

// textPrefix is what slog's TextHandler writes first for a record of level Info, no time and an
// empty message; message strips it to keep the attributes only.
const textPrefix = `level=INFO msg=""`

// message is the record's message followed by its attributes (and the handler's), formatted by
// slog's own TextHandler so quoting and groups are exactly slog's.
func (h *logHandler) message(ctx context.Context, r slog.Record) string {
	if len(h.with) == 0 && r.NumAttrs() == 0 {
		return r.Message
	}
	var buf bytes.Buffer
	var text slog.Handler = slog.NewTextHandler(&buf, nil)
	for _, step := range h.with {
		text = step(text)
	}
	bare := slog.NewRecord(time.Time{}, slog.LevelInfo, "", 0)
	r.Attrs(func(a slog.Attr) bool {
		bare.AddAttrs(a)
		return true
	})
	_ = text.Handle(ctx, bare)
	attrs := strings.TrimSpace(strings.TrimPrefix(buf.String(), textPrefix))
	switch {
	case attrs == "":
		return r.Message
	case r.Message == "":
		return attrs
	default:
		return r.Message + " " + attrs
	}
}
