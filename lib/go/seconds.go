package themule

import (
	"strconv"
	"time"
)

// formatSeconds writes d as a plain decimal number of seconds without trailing zeros ("2",
// "0.5"): the spelling of restart delays on the wire and in the delay file.
func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// secondsToDuration converts a number of seconds to a Duration, rounded to the nanosecond (a
// plain conversion truncates 0.3 s to 299999999 ns).
func secondsToDuration(secs float64) time.Duration {
	return time.Duration(secs*float64(time.Second) + 0.5)
}
