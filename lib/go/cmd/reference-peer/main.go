// Command reference-peer answers every standard tm command with realistic statuses and log
// lines, byte for byte like the TypeScript reference peer (lib/typescript/reference_peer.ts);
// the conformance suite runs it as `lib/go/bin/reference-peer` after
// `go build -o bin/reference-peer ./cmd/reference-peer` in lib/go.
//
// Environment: REDIS_URL, PEER_NAME, LOG_LEVEL, MULE_CONNECT_TIMEOUT, TM_DELAY_FILE (see the
// themule package), LISTEN_ADDR (its UDP port goes into the advertised multiaddr), ADVERTISE_IP
// (default: the first non-loopback IPv4). Test hooks: REF_PEER_START_DELAY_MS,
// REF_PEER_NEVER_START=1, REF_PEER_IGNORE_SHUTDOWN=1, REF_PEER_ECHO_ENV=<NAME,...>, and the
// commands `exit|<code>` and `fail|<reason>`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9/logging"

	"tm/themule"
)

func main() {
	// go-redis prints its own dial failures to stderr; the client reports every failure itself,
	// and a failing peer must print exactly one line.
	logging.Disable()
	os.Exit(run(context.Background()))
}

// run runs the peer until shutdown, restart, SIGTERM or a lost Redis; it returns the exit code.
func run(ctx context.Context) int {
	client, err := themule.NewBuilder().EchoLogs(os.Stdout).Build(ctx)
	if err != nil {
		return fail(err)
	}
	defer client.Close()
	stop := client.HandleSIGTERM(ctx)
	defer stop()
	log := client.Logger()
	interrupted := onSIGINT(func() {
		// As the TypeScript peer: no status; closing ends the command loop below.
		log.Info("received SIGINT, exiting")
		_ = client.Close()
	})

	name := client.PeerName()
	listenAddr := os.Getenv("LISTEN_ADDR")
	port, ok := listenPort(listenAddr)
	if !ok {
		log.Warn(fmt.Sprintf("LISTEN_ADDR %s has no UDP port; using 0", jsonString(listenAddr)))
	}
	p := newPeer(client, vladFor(name), fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", advertiseIP(os.Getenv("ADVERTISE_IP")), port))

	log.Info(fmt.Sprintf("%s starting: %s on %s", name, p.vlad, p.multiaddr))
	for _, line := range echoedEnvironment() {
		log.Info(line)
	}
	if delay := envMs(os.Getenv("REF_PEER_START_DELAY_MS")); delay > 0 {
		log.Info(fmt.Sprintf("delaying start by %s ms (REF_PEER_START_DELAY_MS)", jsNumberText(delay)))
		time.Sleep(time.Duration(delay * float64(time.Millisecond)))
	}
	if envFlag(os.Getenv("REF_PEER_NEVER_START")) {
		log.Warn("never reporting started (REF_PEER_NEVER_START is set)")
	} else if err := client.SendStatus(ctx, fmt.Sprintf("started|%s|%s", p.vlad, p.multiaddr)); err != nil {
		return fail(err)
	}
	for command := range client.Commands() {
		code, exit, err := p.handle(ctx, command)
		if interrupted.Load() {
			// SIGINT closed the client, maybe under this command: that is the signal's exit.
			return sigintExitCode
		}
		if err != nil {
			return fail(err)
		}
		if exit {
			return code
		}
	}
	if interrupted.Load() {
		return sigintExitCode
	}
	if err := client.Err(); err != nil {
		return fail(err)
	}
	return 0
}

// sigintExitCode is the shell's code for a process ended by SIGINT (128 + 2).
const sigintExitCode = 130

// onSIGINT runs stop (once) when SIGINT arrives; the flag it returns is set before stop runs.
func onSIGINT(stop func()) *atomic.Bool {
	var interrupted atomic.Bool
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt)
	go func() {
		<-signals
		interrupted.Store(true)
		stop()
	}()
	return &interrupted
}

// echoedEnvironment is the test hook REF_PEER_ECHO_ENV: one `env <NAME>=<JSON string or null>`
// line per comma-separated name (JSON keeps any value on one line, exactly).
func echoedEnvironment() []string {
	var lines []string
	for _, name := range strings.Split(os.Getenv("REF_PEER_ECHO_ENV"), ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		value := "null"
		if v, set := os.LookupEnv(name); set {
			value = jsonString(v)
		}
		lines = append(lines, fmt.Sprintf("env %s=%s", name, value))
	}
	return lines
}

// fail prints err as the one line the conformance suite expects and returns exit code 1.
func fail(err error) int {
	fmt.Fprintf(os.Stderr, "go reference peer: %v\n", err)
	return 1
}
