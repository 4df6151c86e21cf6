package themule

import (
	"fmt"
	"log/slog"
	"strings"
)

// LevelTrace is the slog level LOG_LEVEL=trace selects: below Debug, so every record passes.
// Records below Info are forwarded as `debug` (the protocol has four levels).
const LevelTrace = slog.LevelDebug - 4

// ParseLogLevel parses a LOG_LEVEL value, case-insensitively: error, warn, warning, info,
// debug, trace, plus Python's critical and Rust's "info,my_crate=debug" (its first directive).
func ParseLogLevel(value string) (slog.Level, error) {
	word, _, _ := strings.Cut(value, ",")
	switch strings.ToLower(strings.TrimSpace(word)) {
	case "trace":
		return LevelTrace, nil
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error", "critical", "fatal":
		return slog.LevelError, nil
	}
	return 0, &ConfigError{
		Variable: "LOG_LEVEL",
		Message:  fmt.Sprintf("LOG_LEVEL=%q is not a log level (error, warn, info, debug, trace)", value),
	}
}

// wireLevel is the protocol's name for a slog level: debug, info, warn or error.
func wireLevel(level slog.Level) string {
	switch {
	case level >= slog.LevelError:
		return "error"
	case level >= slog.LevelWarn:
		return "warn"
	case level >= slog.LevelInfo:
		return "info"
	default:
		return "debug"
	}
}
