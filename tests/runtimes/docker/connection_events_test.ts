import { deepStrictEqual as assertEquals } from "node:assert";
import { connectionRunEvent } from "../../../src/runtimes/docker/connection_events.ts";
import { HostLostError } from "../../../src/transport/reconnecting_remote.ts";
import { RemoteError } from "../../../src/transport/remote.ts";

Deno.test("connectionRunEvent() reports a loss, a failed attempt and a recovery without repeating the host's name, and leaves giving up to the runtime", () => {
  const lost = new RemoteError("lab", "unreachable", "connection closed by the host");
  assertEquals(
    connectionRunEvent("lab", { type: "lost", error: lost, giveUpAfterMs: 30_000 }),
    { type: "host-lost", host: "lab", reason: "connection closed by the host", giveUpMs: 30_000 },
  );
  assertEquals(
    connectionRunEvent("lab", {
      type: "attempt-failed",
      attempt: 2,
      error: new Error("refused"),
      nextDelayMs: 1_000,
    }),
    {
      type: "trace",
      level: "debug",
      message: "lab: reconnection attempt 2 failed: refused; next in 1000 ms",
    },
  );
  assertEquals(
    connectionRunEvent("lab", { type: "restored", attempts: 3, outageMs: 1_234.6 }),
    { type: "host-reconnected", host: "lab", outageMs: 1_235, attempts: 3 },
  );
  assertEquals(
    connectionRunEvent("lab", {
      type: "gave-up",
      error: new HostLostError("lab", 30_000, 4, lost),
    }),
    undefined,
  );
});
