package themule

import (
	"errors"
	"log/slog"
	"testing"
)

func TestParseLogLevel(t *testing.T) {
	tests := []struct {
		value string
		want  slog.Level
	}{
		{"error", slog.LevelError},
		{"ERROR", slog.LevelError},
		{"critical", slog.LevelError},
		{"warn", slog.LevelWarn},
		{"Warning", slog.LevelWarn},
		{"info", slog.LevelInfo},
		{" info ", slog.LevelInfo},
		{"debug", slog.LevelDebug},
		{"trace", LevelTrace},
		{"TRACE", LevelTrace},
		{"info,my_crate=debug", slog.LevelInfo},
	}
	for _, tt := range tests {
		got, err := ParseLogLevel(tt.value)
		if err != nil || got != tt.want {
			t.Errorf("ParseLogLevel(%q) = %v, %v; want %v", tt.value, got, err, tt.want)
		}
	}
}

func TestParseLogLevelRejectsUnknownWordsNamingTheVariable(t *testing.T) {
	_, err := ParseLogLevel("loud")
	var cfg *ConfigError
	if !errors.As(err, &cfg) || cfg.Variable != "LOG_LEVEL" {
		t.Fatalf("ParseLogLevel(loud) error = %v, want a ConfigError for LOG_LEVEL", err)
	}
	want := `LOG_LEVEL="loud" is not a log level (error, warn, info, debug, trace)`
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
}

func TestWireLevelMapsSlogLevelsToTheFourProtocolLevels(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  string
	}{
		{LevelTrace, "debug"},
		{slog.LevelDebug, "debug"},
		{slog.LevelInfo - 1, "debug"},
		{slog.LevelInfo, "info"},
		{slog.LevelInfo + 2, "info"},
		{slog.LevelWarn, "warn"},
		{slog.LevelError, "error"},
		{slog.LevelError + 4, "error"},
	}
	for _, tt := range tests {
		if got := wireLevel(tt.level); got != tt.want {
			t.Errorf("wireLevel(%v) = %q, want %q", tt.level, got, tt.want)
		}
	}
}
