/**
 * What a host's reconnecting connection (`ReconnectingRemote`) tells the run: a loss, a failed
 * attempt (a debug trace), a recovery. Giving up is the runtime's to decide (the Docker runtime
 * fails the run; the swarm runtime waits for teardown), so it is not mapped here.
 */
import type { UnstampedEvent } from "../../engine/events.ts";
import type { ConnectionEvent } from "../../transport/reconnecting_remote.ts";
import { errorMessage } from "../../base/errors.ts";

/** The run's event for `event` on host `name`; undefined for `gave-up`. */
export function connectionRunEvent(
  name: string,
  event: ConnectionEvent,
): UnstampedEvent | undefined {
  switch (event.type) {
    case "lost":
      return {
        type: "host-lost",
        host: name,
        reason: event.error.message.replace(`${name}: `, ""),
        giveUpMs: event.giveUpAfterMs,
      };
    case "attempt-failed":
      return {
        type: "trace",
        level: "debug",
        message: `${name}: reconnection attempt ${event.attempt} failed: ${
          errorMessage(event.error)
        }; next in ${event.nextDelayMs} ms`,
      };
    case "restored":
      return {
        type: "host-reconnected",
        host: name,
        outageMs: Math.round(event.outageMs),
        attempts: event.attempts,
      };
    case "gave-up":
      return undefined;
  }
}
