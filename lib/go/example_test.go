package themule_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"tm/themule"
)

// A minimal peer: report started, answer connect, stop on shutdown, restart on request. It
// runs against REDIS_URL and PEER_NAME as the orchestrator sets them (so it is compiled, not
// run, by go test; ExampleParseCommand runs).
func Example() {
	ctx := context.Background()
	client, err := themule.NewBuilder().Build(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "my peer:", err)
		os.Exit(1)
	}
	defer client.Close()
	defer client.HandleSIGTERM(ctx)()

	if err := client.SendStatus(ctx, "started"); err != nil {
		slog.Error("reporting started", "err", err)
		return
	}
	for raw := range client.Commands() {
		slog.Info("received " + raw)
		switch cmd := themule.ParseCommand(raw).(type) {
		case themule.Connect:
			_ = client.SendStatus(ctx, "connected")
		case themule.Disconnect:
			_ = client.SendStatus(ctx, "disconnected")
		case themule.Peer:
			slog.Info("bootstrap peer", "addr", cmd.Addr)
		case themule.Restart:
			_ = client.Restart(ctx, cmd.Delay()) // status restarting, delay file, exit 42
		case themule.Shutdown:
			_ = client.SendStatus(ctx, "stopped")
			return
		case themule.Other:
			slog.Warn("unknown command " + cmd.Raw)
		}
	}
	if err := client.Err(); err != nil {
		slog.Error("lost the orchestrator", "err", err)
	}
}

func ExampleParseCommand() {
	for _, raw := range []string{"connect", "restart|0.5", "peer|vlad-1|/ip4/10.0.0.2/udp/11984/quic-v1", "restart|soon"} {
		switch cmd := themule.ParseCommand(raw).(type) {
		case themule.Connect:
			fmt.Println("connect")
		case themule.Restart:
			fmt.Println("restart after", cmd.Delay())
		case themule.Peer:
			fmt.Println("bootstrap peer", cmd.Addr)
		case themule.Other:
			fmt.Println("other:", cmd.Raw)
		}
	}
	// Output:
	// connect
	// restart after 500ms
	// bootstrap peer vlad-1|/ip4/10.0.0.2/udp/11984/quic-v1
	// other: restart|soon
}
