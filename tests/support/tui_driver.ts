/**
 * Test support: runs the real TUI (`startTui()`) on the real terminal and replays the scripted run
 * into it, for `tests/ui/tui_tmux_test.ts`. The first stop request (q) ends the replay the way the
 * engine would: shutdown, every peer stopped, `run-finished` interrupted. A q after that quits,
 * and the driver closes the TUI. What happened is appended to the `--out` file, one line each:
 * `started`, `stop false`, `stop true`, `quit`, `closed`.
 *
 * Usage: deno run -A tests/support/tui_driver.ts --out <file> [--speed <n>]
 */
import type { EngineEvent, UnstampedEvent } from "../../src/engine/events.ts";
import { startTui } from "../../src/ui/tui/mod.ts";
import { replay, scriptedRun } from "./scripted_events.ts";

function argument(name: string, fallback: string): string {
  const at = Deno.args.indexOf(name);
  return at >= 0 && at + 1 < Deno.args.length ? Deno.args[at + 1] : fallback;
}

const out = argument("--out", "/dev/null");
const speed = Number(argument("--speed", "1"));
const record = (line: string) => Deno.writeTextFileSync(out, line + "\n", { append: true });

const stopped = new AbortController();
const tui = startTui({
  onStop: (force) => {
    record(`stop ${force}`);
    stopped.abort();
  },
});
record("started");

const events = scriptedRun();
const start = performance.now();
let last = 0;
await replay(events.filter((e) => e.type !== "run-finished"), (event) => {
  last = event.t;
  tui.sink(event);
}, { speed, signal: stopped.signal });

// The run ends: interrupted if stopped, else as scripted.
const now = () => Math.max(last, (performance.now() - start) * speed);
const emit = (event: UnstampedEvent) => tui.sink({ ...event, t: now() } as EngineEvent);
if (stopped.signal.aborted) {
  emit({ type: "phase", phase: "shutdown" });
  for (const peer of ["alice", "bob", "carol", "dave"]) {
    emit({ type: "command-sent", peer, command: "shutdown" });
    emit({ type: "peer-status", peer, status: "stopped", previous: null });
  }
  emit({ type: "phase", phase: "cleanup" });
  emit({
    type: "run-finished",
    verdict: "interrupted",
    exitCode: 130,
    reason: "stopped by the user",
    durationMs: now(),
    checks: [],
    peers: ["alice", "bob", "carol", "dave"].map((peer, i) => ({
      peer,
      host: `host-${i % 2}`,
      status: "stopped",
      restarts: 0,
      warnings: 0,
      errors: 0,
    })),
  });
} else {
  tui.sink(events.at(-1)!);
}

await tui.quit;
record("quit");
await tui.close();
record("closed");
