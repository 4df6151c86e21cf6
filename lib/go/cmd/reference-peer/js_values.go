package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The TypeScript reference peer is the model every reference peer copies byte for byte; these
// helpers reproduce the JavaScript conversions its messages go through.

// jsonString quotes s as JavaScript's JSON.stringify does: only `"`, `\` and control
// characters are escaped (Go's encoding/json also escapes <, >, &, U+2028 and U+2029).
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// jsNumber converts s as JavaScript's Number() does for decimal text: surrounding spaces
// ignored, "" is 0; false for anything that is not a finite number.
func jsNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || strings.ContainsAny(s, "_xXpP") {
		return 0, false
	}
	return v, true
}

// jsNumberText formats a number as JavaScript's String(number) does for ordinary values.
func jsNumberText(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// envFlag is true for a set variable other than "", "0" or "false" (any case).
func envFlag(value string) bool {
	return value != "" && value != "0" && strings.ToLower(value) != "false"
}

// envMs is a positive number of milliseconds, or 0.
func envMs(value string) float64 {
	v, ok := jsNumber(value)
	if !ok || v <= 0 {
		return 0
	}
	return v
}
