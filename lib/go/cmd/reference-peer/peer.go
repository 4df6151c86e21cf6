package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"tm/themule"
)

// transition is the pause between `connecting` and `connected` (and `disconnecting` and
// `disconnected`).
const transition = 20 * time.Millisecond

// bootstrapPeers keeps the addresses of bootstrap peers in the order they were first added.
type bootstrapPeers struct {
	order []string
	addr  map[string]string
}

func (b *bootstrapPeers) set(vlad, addr string) {
	if _, known := b.addr[vlad]; !known {
		b.order = append(b.order, vlad)
	}
	b.addr[vlad] = addr
}

// peer is what the reference peer knows about the network it pretends to be part of.
type peer struct {
	client         *themule.Client
	log            *slog.Logger
	vlad           string
	multiaddr      string
	connected      bool
	bootstrap      bootstrapPeers
	tracked        map[string]bool
	keyGen         int
	pushed         int
	pulled         int
	ignoreShutdown bool
}

func newPeer(client *themule.Client, vlad, multiaddr string) *peer {
	return &peer{
		client:         client,
		log:            client.Logger(),
		vlad:           vlad,
		multiaddr:      multiaddr,
		bootstrap:      bootstrapPeers{addr: map[string]string{}},
		tracked:        map[string]bool{},
		ignoreShutdown: envFlag(os.Getenv("REF_PEER_IGNORE_SHUTDOWN")),
	}
}

// handle answers one command as the TypeScript reference peer's handleCommand does: the typed
// parse first (so `connect|now` is an unknown command), then the peer's own verbs. It returns an
// exit code and true when the peer must exit; an error when Redis failed under it.
func (p *peer) handle(ctx context.Context, command string) (int, bool, error) {
	p.log.Debug("received command: " + command)
	switch cmd := themule.ParseCommand(command).(type) {
	case themule.Connect:
		if p.connected {
			p.log.Warn("connect: already connected")
			return 0, false, p.client.SendStatus(ctx, "connected")
		}
		if err := p.client.SendStatus(ctx, "connecting"); err != nil {
			return 0, false, err
		}
		p.log.Info(fmt.Sprintf("connecting to the network via %d bootstrap peer(s)", len(p.bootstrap.order)))
		for _, vlad := range p.bootstrap.order {
			p.log.Debug(fmt.Sprintf("dialing %s at %s", vlad, p.bootstrap.addr[vlad]))
		}
		time.Sleep(transition)
		p.connected = true
		if err := p.client.SendStatus(ctx, "connected"); err != nil {
			return 0, false, err
		}
		p.log.Info(fmt.Sprintf("connected as %s on %s", p.vlad, p.multiaddr))
	case themule.Disconnect:
		if err := p.client.SendStatus(ctx, "disconnecting"); err != nil {
			return 0, false, err
		}
		p.log.Info("disconnecting from the network")
		time.Sleep(transition)
		p.connected = false
		if err := p.client.SendStatus(ctx, "disconnected"); err != nil {
			return 0, false, err
		}
		p.log.Info("disconnected")
	case themule.Shutdown:
		return p.shutdown(ctx)
	case themule.Restart:
		// Status restarting, delay file, info line, flush, close, exit 42: all the library's.
		return 0, false, p.client.Restart(ctx, cmd.Delay())
	case themule.Peer:
		vlad, addr, _ := strings.Cut(cmd.Addr, "|")
		if vlad == "" {
			p.log.Warn("peer: expected peer|<address info>, got " + jsonString(command))
			return 0, false, nil
		}
		p.bootstrap.set(vlad, addr)
		shown := addr
		if shown == "" {
			shown = "(no address)"
		}
		p.log.Info(fmt.Sprintf("adding bootstrap peer: %s at %s", vlad, shown))
	case themule.Other:
		return p.handleOther(ctx, cmd.Raw)
	}
	return 0, false, nil
}

// shutdown sets `stopped` and asks for exit 0, unless REF_PEER_IGNORE_SHUTDOWN is set.
func (p *peer) shutdown(ctx context.Context) (int, bool, error) {
	if p.ignoreShutdown {
		p.log.Warn("ignoring shutdown (REF_PEER_IGNORE_SHUTDOWN is set)")
		return 0, false, nil
	}
	p.log.Info("shutting down")
	return 0, true, p.client.SendStatus(ctx, "stopped")
}

// logBurstCount is the count of `log-burst|<n>`: digits only.
var logBurstCount = regexp.MustCompile(`^[0-9]+$`)

// handleOther answers what ParseCommand leaves as Other: the peer's own verbs, test hooks and
// malformed standard commands.
func (p *peer) handleOther(ctx context.Context, command string) (int, bool, error) {
	parts := strings.Split(command, "|")
	verb, rest := parts[0], parts[1:]
	arg := strings.Join(rest, "|")
	switch verb {
	case "push":
		if len(rest) == 0 || rest[0] == "" {
			p.log.Warn("push: expected push|<peer>|<message>, got " + jsonString(command))
			return 0, false, nil
		}
		to := rest[0]
		if !p.connected {
			p.log.Warn(fmt.Sprintf("push to %s while not connected", to))
		}
		p.pushed++
		p.log.Info(fmt.Sprintf("push to %s: %s", to, strings.Join(rest[1:], "|")))
		return 0, false, nil
	case "pull":
		if !p.connected {
			p.log.Warn("pull while not connected")
		}
		p.pulled++
		p.log.Info(fmt.Sprintf("pulled messages (pull #%d; %d pushed by this peer)", p.pulled, p.pushed))
		return 0, false, nil
	case "rotate-key":
		p.keyGen++
		p.log.Info(fmt.Sprintf("rotated key: now at generation %d", p.keyGen))
		return 0, false, nil
	case "track":
		if arg == "" {
			p.log.Warn("track: expected track|<peer>, got " + jsonString(command))
			return 0, false, nil
		}
		p.tracked[arg] = true
		p.log.Info(fmt.Sprintf("tracking %s (%d tracked)", arg, len(p.tracked)))
		return 0, false, nil
	case "peer":
		p.log.Warn("peer: expected peer|<address info>, got " + jsonString(command))
		return 0, false, nil
	case "restart":
		p.log.Warn("restart: expected restart|<seconds>, got " + jsonString(command))
		return 0, false, nil
	case "log-burst":
		// Conformance hook: n lines, then shutdown; none may be lost when the peer exits.
		if count, err := strconv.Atoi(arg); err == nil && logBurstCount.MatchString(arg) {
			for i := 1; i <= count; i++ {
				p.log.Info(fmt.Sprintf("burst %d", i))
			}
			return p.shutdown(ctx)
		}
	case "fail":
		// Test hook: the peer reports a failure of its own (status failed|<reason>), carries on.
		p.log.Warn("reporting failed: " + arg)
		return 0, false, p.client.Fail(ctx, arg)
	case "exit":
		// Test hook: die at once, like a crash (nothing flushed, no status).
		code, ok := jsNumber(arg)
		if !ok || code < 0 || code > 255 || code != math.Trunc(code) {
			code = 1
		}
		os.Exit(int(code))
	}
	p.log.Warn("unknown command: " + command)
	return 0, false, nil
}
