package themule

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Command is one orchestrator command parsed by ParseCommand: Connect, Disconnect, Shutdown,
// Restart, Peer or Other. Switch on its type:
//
//	switch cmd := themule.ParseCommand(raw).(type) {
//	case themule.Restart:
//		client.Restart(ctx, cmd.Delay())
//	case themule.Other:
//		log.Printf("unhandled %s", cmd.Raw)
//	}
type Command interface {
	isCommand()
}

// Connect asks the peer to join the network (`connect`).
type Connect struct{}

// Disconnect asks the peer to leave the network (`disconnect`).
type Disconnect struct{}

// Shutdown asks the peer to set status `stopped` and exit 0 (`shutdown`).
type Shutdown struct{}

// Restart asks the peer to exit 42 and be run again after Secs seconds (`restart|<secs>`).
type Restart struct {
	Secs float64
}

// Delay is Secs as a Duration, the argument Client.Restart takes.
func (r Restart) Delay() time.Duration { return secondsToDuration(r.Secs) }

// Peer hands the peer a bootstrap peer's address info (`peer|<addr>`); Addr is everything after
// the first `|` and may itself contain `|` (the reference peers send `<vlad>|<multiaddr>`).
type Peer struct {
	Addr string
}

// Other is any command without a type of its own (`push|bob|hi`, `pull`, `restart|abc`, ...),
// exactly as sent.
type Other struct {
	Raw string
}

func (Connect) isCommand()    {}
func (Disconnect) isCommand() {}
func (Shutdown) isCommand()   {}
func (Restart) isCommand()    {}
func (Peer) isCommand()       {}
func (Other) isCommand()      {}

// decimalSeconds is a non-negative decimal number of seconds: "5", "0.5"; no sign, exponent,
// spaces, or bare dot ("5.", ".5"), as in every tm client library.
var decimalSeconds = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)?$`)

// ParseCommand parses a raw command. Anything malformed (`restart|abc`, `restart|-1`, `peer|`,
// `connect|x`) is Other, never an error: the orchestrator forwards what a test author wrote.
func ParseCommand(raw string) Command {
	switch raw {
	case "connect":
		return Connect{}
	case "disconnect":
		return Disconnect{}
	case "shutdown":
		return Shutdown{}
	}
	verb, arg, _ := strings.Cut(raw, "|")
	switch verb {
	case "restart":
		if decimalSeconds.MatchString(arg) {
			if secs, err := strconv.ParseFloat(arg, 64); err == nil {
				return Restart{Secs: secs}
			}
		}
	case "peer":
		if arg != "" {
			return Peer{Addr: arg}
		}
	}
	return Other{Raw: raw}
}
