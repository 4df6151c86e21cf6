import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { createConsole } from "../../src/ui/console.tsx";
import type { EngineEvent } from "../../src/engine/events.ts";
import { PhaseDigest } from "../../src/ui/phase_digest.ts";
import { PHASE_TITLES } from "../../src/text/event_text.ts";
import { applyEvent, createRunState, type RunLine } from "../../src/ui/run_state.ts";
import { manyPeersRun } from "../support/many_peers_run.ts";
import { scriptedRun } from "../support/scripted_events.ts";

/** What the plain console (not a TTY) prints for `events`, as lines. */
async function plainLines(events: EngineEvent[], options: { verbose?: boolean } = {}) {
  let out = "";
  const view = createConsole({
    interactive: false,
    color: false,
    verbose: options.verbose ?? false,
    write: (text) => out += text,
  });
  for (const event of events) view.sink(event);
  await view.close();
  return out.split("\n");
}

/** The printed lines from each phase's `──` line up to the next, by phase name. */
function byPhase(lines: string[]): Map<string, string[]> {
  const phases = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of lines) {
    const phase = /── (\w+):/.exec(line)?.[1];
    if (phase) phases.set(phase, current = []);
    else current.push(line);
  }
  return phases;
}

Deno.test("createConsole() plain mode at 1,000 peers prints a line of counts per phase, not a line per peer, and lists each crash", async () => {
  const lines = await plainLines(manyPeersRun({ peers: 1_000, logLines: 30, crashes: 3 }));
  const phases = byPhase(lines);
  // Every phase, in order, each announced once.
  assertEquals([...phases.keys()], Object.keys(PHASE_TITLES));
  const counts = (phase: string) => phases.get(phase)!.filter((l) => l.includes(`${phase} done`));
  assertEquals(counts("starting").length, 1);
  assert(/starting done in .+: 1000\/1000 started, 1000 launched$/.test(counts("starting")[0]));
  assert(/bootstrap done in .+: 1000 commands sent$/.test(counts("bootstrap")[0]));
  assert(
    /timeline done in .+: 1000\/1000 connecting, 1000\/1000 connected, 1000 commands sent, 3 crashed, 3000 warnings$/
      .test(counts("timeline")[0]),
    counts("timeline")[0],
  );
  assert(/shutdown done in .+: 997\/1000 stopped, 997 commands sent, 997 exited$/.test(
    counts("shutdown")[0],
  ));
  // No phase prints a line per peer: starting and bootstrap print only their counts.
  assertEquals(phases.get("starting")!.length, 1);
  assertEquals(phases.get("bootstrap")!.length, 1);
  // The timeline's first 20 commands, 20 warnings, each crash with its output, then the count.
  const timeline = phases.get("timeline")!;
  assertEquals(timeline.filter((l) => / > find\|/.test(l)).length, 20);
  assert(timeline.some((l) => l.endsWith("node-1    > find|node-2")));
  assertEquals(timeline.filter((l) => l.includes(" warn  ")).length, 20);
  for (const peer of ["node-998", "node-999", "node-1000"]) {
    assert(timeline.some((l) => l.endsWith(`${peer.padEnd(9)} exited with code 137 unexpectedly`)));
    assertEquals(timeline.filter((l) => l.includes(`${peer} output`)).length, 5);
  }
  assert(
    timeline.some((l) =>
      l.endsWith(
        "… and 2980 more peer warnings, 980 more timeline commands in timeline (the log file has each)",
      )
    ),
  );
  // Its summary lists the crashed peers first, at most 20 rows, and counts the others.
  assert(lines.some((l) => l.startsWith("  node-1000  host-1  connected, exited 137")));
  assert(lines.some((l) => l.includes("… and 980 more peers with warnings, errors or restarts")));
  assert(lines.length < 150, `${lines.length} lines`);
});

Deno.test("createConsole() plain mode with --verbose at 1,000 peers still prints every peer's line", async () => {
  const lines = await plainLines(manyPeersRun({ peers: 1_000, logLines: 1 }), { verbose: true });
  assert(lines.some((l) => /node-500 +< started/.test(l)));
  assert(lines.some((l) => /node-1000 +< stopped/.test(l)));
});

Deno.test("createConsole() plain mode closed before run-finished prints the counts of the phase it was in", async () => {
  const events = manyPeersRun({ peers: 100, logLines: 0 });
  const starting = events.findIndex((e) => e.type === "phase" && e.phase === "bootstrap");
  const lines = await plainLines(events.slice(0, starting));
  assert(/starting done in .+: 100\/100 started, 100 launched$/.test(lines.at(-2)!), lines.at(-2));
});

Deno.test("PhaseDigest passes every line of a run of 40 peers or fewer", () => {
  const digest = new PhaseDigest();
  const state = createRunState();
  let passed = 0;
  for (const event of scriptedRun({ outcome: "crash" })) {
    // One event at a time, as the console folds them.
    const before = state.lines.nextSeq;
    applyEvent(state, event);
    passed += digest.take(event, state.lines.since(before)).length;
  }
  assert(state.lines.nextSeq > 0);
  assertEquals(passed, state.lines.nextSeq);
  assertEquals(digest.active, false);
});

Deno.test("PhaseDigest bounds a phase's peer errors apart from its warnings, then counts both", () => {
  const digest = new PhaseDigest({ peerLinesUpTo: 2, listed: 1 });
  const plan = manyPeersRun({ peers: 3, logLines: 0 })[0];
  const line = (peer: string, level: string, kind: RunLine["kind"] = "log"): RunLine => ({
    seq: 0,
    t: 1,
    kind,
    peer,
    level,
    text: "x",
    audience: "always",
  });
  digest.take(plan, []);
  const log = (peer: string, level: string): EngineEvent => ({
    t: 1,
    type: "peer-log",
    peer,
    level,
    message: "x",
  });
  const shown = [
    digest.take(log("node-1", "warn"), [line("node-1", "warn")]),
    digest.take(log("node-2", "warn"), [line("node-2", "warn")]),
    digest.take(log("node-3", "error"), [line("node-3", "error")]),
    digest.take(log("node-1", "error"), [line("node-1", "error")]),
  ].map((lines) => lines.length);
  assertEquals(shown, [1, 0, 1, 0]);
  const closing = digest.close(2).map((l) => l.text);
  assertEquals(closing.length, 2);
  assertEquals(
    closing[0],
    "… and 1 more peer error, 1 more peer warning in run (the log file has each)",
  );
  assert(/^run done in .+: 2 warnings, 2 errors$/.test(closing[1]), closing[1]);
  assertEquals(digest.close(3), []);
});

Deno.test("createConsole() interactive mode at 1,000 peers prints a line of counts per phase above the live area, not a line per peer", async () => {
  let out = "";
  const view = createConsole({
    interactive: true,
    color: false,
    verbose: false,
    write: (text) => out += text,
    columns: 120,
  });
  try {
    for (const event of manyPeersRun({ peers: 1_000, logLines: 2, crashes: 1 })) view.sink(event);
  } finally {
    await view.close();
  }
  // deno-lint-ignore no-control-regex
  const screen = out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
  assert(/starting done in .+: 1000\/1000 started, 1000 launched/.test(screen), screen);
  assert(/shutdown done in .+: 999\/1000 stopped/.test(screen), screen);
  assert(screen.includes("node-1000 exited with code 137 unexpectedly"), screen);
  assert(!/node-500 +< started/.test(screen), "no line per peer");
  assert(!/node-500 +> find/.test(screen), "no command line per peer");
  assert(screen.includes("FAILED"));
});

Deno.test("createConsole() plain mode at 1,000 peers lists a peer that reports failed, not only counts it", async () => {
  const events = manyPeersRun({ peers: 1_000, logLines: 0 });
  const shutdown = events.findIndex((e) => e.type === "phase" && e.phase === "shutdown");
  events.splice(shutdown, 0, {
    t: events[shutdown].t,
    type: "peer-status",
    peer: "node-640",
    status: "failed|lost the routing table",
    previous: "connected",
  });
  const timeline = byPhase(await plainLines(events)).get("timeline")!;
  assert(
    timeline.some((l) => /node-640 +< failed\|lost the routing table$/.test(l)),
    timeline.join("\n"),
  );
  assert(
    timeline.some((l) => /timeline done in .+: .*1\/1000 failed/.test(l)),
    timeline.join("\n"),
  );
});
