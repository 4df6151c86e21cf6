// Command originalpeer is a peer written the way peers of the original tool's Go library are:
// its type names (MuleClientBuilder, MuleClient), plain slog and log calls with no
// slog.SetDefault (the original's Build installed the client's handler as the default logger),
// raw command strings and the restart protocol by hand. Only the import path differs.
// migration_test.go builds and runs it against a real Redis and checks that its lines arrive.
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"

	"tm/themule"
)

func main() {
	ctx := context.Background()
	var builder *themule.MuleClientBuilder = themule.NewMuleClientBuilder()
	var client *themule.MuleClient
	client, err := builder.Build(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "original peer:", err)
		os.Exit(1)
	}
	if err := client.SendStatus(ctx, "started"); err != nil {
		fmt.Fprintln(os.Stderr, "original peer:", err)
		os.Exit(1)
	}
	slog.Info("peer started", "name", client.PeerName())
	for command := range client.Commands() {
		slog.Info("received: " + command)
		switch {
		case command == "connect":
			_ = client.SendStatus(ctx, "connected")
		case strings.HasPrefix(command, "restart|"):
			_ = client.SendStatus(ctx, "restarting")
			_ = os.WriteFile(os.Getenv("TM_DELAY_FILE"), []byte(strings.TrimPrefix(command, "restart|")), 0o644)
			_ = client.Close()
			os.Exit(42)
		case command == "shutdown":
			log.Printf("shutting down after %q", command)
			_ = client.SendStatus(ctx, "stopped")
			_ = client.Close()
			return
		default:
			slog.Warn("unknown command", "command", command)
		}
	}
}
