import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { createConsole } from "../../src/ui/console.tsx";
import type { EngineEvent } from "../../src/engine/events.ts";
import { scriptedRun } from "../support/scripted_events.ts";

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Resolves once `predicate` holds, checking after each macrotask (at most `ms`). */
async function waitFor(predicate: () => boolean, ms = 5000) {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function plainRun(events: EngineEvent[], options: { color?: boolean; verbose?: boolean }) {
  let out = "";
  const view = createConsole({
    interactive: false,
    color: options.color ?? false,
    verbose: options.verbose ?? false,
    write: (text) => out += text,
  });
  for (const event of events) view.sink(event);
  await view.close();
  return out;
}

Deno.test("createConsole() plain mode prints the run line by line, aligned, without ANSI codes", async () => {
  const out = await plainRun(scriptedRun(), {});
  assert(!out.includes("\x1b"), "no escape codes");
  const lines = out.split("\n");
  assertEquals(lines.slice(0, 20), [
    "[   0.0s] test gossip-demo: 4 peers on 2 hosts, 7 timeline commands",
    "[   0.0s] ── redis: getting Redis ready",
    "[   0.4s] redis ready at redis://10.0.0.1:6390",
    "[   0.4s] ── hosts: connecting to hosts",
    "[   0.5s] host host-0 connected (10.0.0.10, 110 ms)",
    "[   0.6s] host host-1 connected (10.0.0.11, 190 ms)",
    "[   0.6s] ── images: pulling and shipping images",
    "[   0.6s] pull tm-peer:latest: started",
    "[   1.8s] pull tm-peer:latest: done (1.2s)",
    "[   1.8s] ship tm-peer:latest → host-0: started (24.0 MB)",
    "[   1.8s] ship tm-peer:latest → host-1: started (24.0 MB)",
    "[   2.3s] ship tm-peer:latest → host-0: 25%",
    "[   2.6s] ship tm-peer:latest → host-1: 25%",
    "[   2.8s] ship tm-peer:latest → host-0: 50%",
    "[   3.3s] ship tm-peer:latest → host-0: 75%",
    "[   3.3s] ship tm-peer:latest → host-1: 50%",
    "[   4.1s] ship tm-peer:latest → host-1: 75%",
    "[   4.8s] ── starting: starting peers",
    "[   5.0s] alice < started vlad-alice|/ip4/10.0.0.10/udp/11984/quic-v1",
    "[   5.1s] carol < started vlad-carol|/ip4/10.0.0.10/udp/11985/quic-v1",
  ]);
  for (
    const expected of [
      "[   5.3s] dave  > peer|vlad-bob|/ip4/10.0.0.11/udp/11984/quic-v1",
      "[   5.4s] bob   > connect",
      "[   5.7s] alice < connected",
      "[   7.6s] carol warn  slow handshake with bob (1.2 s)",
      "[   9.4s] bob   < restarting",
      "[  11.4s] carol error failed to dial dave: timeout after 3000 ms",
      "[  15.4s] alice > pull",
      "[  16.1s] dave  < stopped",
    ]
  ) assert(lines.includes(expected), `missing line: ${expected}`);
  // Not shown without --verbose: info/debug peer logs, traces, per-peer shutdown, exits.
  assert(!out.includes("gossip mesh"), "info log hidden");
  assert(!out.includes("trace:"), "trace hidden");
  assert(!out.includes("> shutdown"), "bulk shutdown hidden");
});

Deno.test("createConsole() plain mode ends with the summary", async () => {
  const out = await plainRun(scriptedRun(), {});
  const summary = out.slice(out.indexOf("\nPASSED")).split("\n").slice(1, -1);
  assertEquals(summary, [
    "PASSED",
    "  test gossip-demo · 17.0s",
    "  peer   host    status   restarts  warnings  errors",
    "  alice  host-0  stopped         0         0       0",
    "  bob    host-1  stopped         1         0       0",
    "  carol  host-0  stopped         0         1       1",
    "  dave   host-1  stopped         0         0       0",
    "  warnings 1, errors 1",
    "  log file: gossip-demo-2025-06-01-12-00-00.log",
  ]);
});

Deno.test("createConsole() plain mode reports a crash with the peer's last output and FAILED", async () => {
  const out = await plainRun(scriptedRun({ outcome: "crash" }), {});
  const lines = out.split("\n");
  for (
    const expected of [
      "[  13.3s] dave  exited with code 137 unexpectedly",
      "[  13.3s] dave  │ thread 'main' panicked at src/swarm.rs:88:9:",
      "[  13.3s] dave  │ out of memory",
      "[  13.3s] dave  ✗ disconnect: not delivered (peer exited)",
      "FAILED: peer dave crashed (exit code 137)",
      "  dave   host-1  started, exited 137         0         0       1",
      "  warnings 1, errors 2",
    ]
  ) assert(lines.includes(expected), `missing line: ${expected}`);
});

Deno.test("createConsole() verbose adds peer info/debug logs, traces and exits", async () => {
  const out = await plainRun(scriptedRun(), { verbose: true });
  const lines = out.split("\n");
  for (
    const expected of [
      "[   0.0s] trace: docker run -d --name tm-r-7f3a-redis -p 6390:6379 redis:7",
      "[   5.8s] alice info  gossip mesh: 1 peer",
      "[  11.5s] alice debug gossip round 1: 3 messages",
      "[  15.5s] alice > shutdown",
      "[  15.8s] alice exited with code 0",
    ]
  ) assert(lines.includes(expected), `missing line: ${expected}`);
});

Deno.test("createConsole() with color uses ANSI codes and a stable colour per peer", async () => {
  const out = await plainRun(scriptedRun(), { color: true });
  assert(out.includes("\x1b["), "has escape codes");
  const colorOf = (peer: string) =>
    [...out.matchAll(new RegExp(`(\\x1b\\[[0-9;]*m)${peer}\\b`, "g"))].map((m) => m[1]);
  for (const peer of ["alice", "bob", "carol", "dave"]) {
    const codes = new Set(colorOf(peer));
    assertEquals(codes.size, 1, `${peer} always has one colour`);
  }
  assertEquals(out.replace(ANSI, ""), await plainRun(scriptedRun(), {}));
});

Deno.test("createConsole() interactive mode prints permanent lines above a live area and clears it on close", async () => {
  let out = "";
  const view = createConsole({
    interactive: true,
    color: false,
    verbose: false,
    write: (text) => out += text,
    columns: 100,
  });
  const events = scriptedRun();
  try {
    // Up to the middle of shipping: the live area shows both transfers.
    for (const event of events.filter((e) => e.t <= 3000)) view.sink(event);
    const bar =
      /ship tm-peer:latest → host-1 (█+░+) {2}33% {2}8\.0 MB \/ 24\.0 MB {2}8\.0 MB\/s {2}ETA 2\.0s/;
    await waitFor(() => bar.test(out.replace(ANSI, ""))); // the next throttled frame
    const screen = out.replace(ANSI, "");
    const fast = /ship tm-peer:latest → host-0 (█+░+) {2}50% {2}12\.0 MB/.exec(screen);
    assert(fast, screen);
    assertEquals(fast[1].length, bar.exec(screen)![1].length, "bars have one width");
    assertEquals(fast[1].indexOf("░"), Math.round(fast[1].length / 2), "half full");
    assert(screen.includes("[   1.8s] pull tm-peer:latest: done (1.2s)"));
    assert(!screen.includes("ship tm-peer:latest → host-0: 25%"), "no milestone lines live");
    for (const event of events.filter((e) => e.t > 3000)) view.sink(event);
  } finally {
    await view.close();
  }
  const finalScreen = out.replace(ANSI, "");
  assert(finalScreen.includes("[  16.1s] dave  < stopped"));
  assert(finalScreen.includes("PASSED"));
  assert(finalScreen.includes("  log file: gossip-demo-2025-06-01-12-00-00.log"));
  const tail = finalScreen.slice(finalScreen.lastIndexOf("log file:"));
  assert(!/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/.test(tail), "no spinner after the summary");
});
