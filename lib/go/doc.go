// Package themule is the client library for peers written in Go that run under tm, the
// distributed peer-to-peer test orchestrator.
//
// A peer builds a client from REDIS_URL, PEER_NAME and LOG_LEVEL, reports its status
// (SET <peer>_status), receives the orchestrator's commands on a channel (BLPOP <peer>_command 0
// on a connection of its own: blocking, no polling) and forwards its log records
// (LPUSH <peer>_log "level|message") through a slog.Handler that never blocks the caller; Build
// makes it the default slog logger (Builder.DefaultLogger(false) does not).
// The protocol is described in the project's docs/protocol.md; the guide is docs/peers/go.md.
//
//	client, err := themule.NewBuilder().Build(ctx)
//	if err != nil { ... }
//	defer client.Close()
//	client.SendStatus(ctx, "started")
//	for raw := range client.Commands() {
//		switch cmd := themule.ParseCommand(raw).(type) {
//		case themule.Connect:
//			client.SendStatus(ctx, "connected")
//		case themule.Restart:
//			client.Restart(ctx, cmd.Delay()) // exits with code 42
//		case themule.Shutdown:
//			client.SendStatus(ctx, "stopped")
//			return
//		}
//	}
package themule
