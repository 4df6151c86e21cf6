import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { batchTimeline, buildTimeline } from "../../src/engine/timeline.ts";
import { applyEvent, createRunState, foldEvents } from "../../src/ui/run_state.ts";
import { summarize } from "../../src/ui/final_summary.ts";
import {
  IMAGE_BYTES,
  LOG_FILE,
  REDIS_URL,
  scriptedRun,
  TIMELINE_START,
} from "../support/scripted_events.ts";

const upTo = (t: number, outcome: "passed" | "crash" = "passed") =>
  foldEvents(scriptedRun({ outcome }).filter((e) => e.t <= t));

Deno.test("applyEvent() run-started lays out peers in plan order and batches the timeline", () => {
  const state = upTo(0);
  assertEquals(state.test, "gossip-demo");
  assertEquals(state.logFile, LOG_FILE);
  assertEquals(state.peers.map((p) => [p.name, p.host, p.port, p.state]), [
    ["alice", "host-0", 11984, "pending"],
    ["bob", "host-1", 11984, "pending"],
    ["carol", "host-0", 11985, "pending"],
    ["dave", "host-1", 11985, "pending"],
  ]);
  assertEquals(state.nameWidth, 5);
  assertEquals(state.batches.map((b) => [b.dueMs, b.entries.map((e) => e.peer)]), [
    [0, ["alice", "bob"]],
    [2000, ["alice"]],
    [4000, ["bob"]],
    [6000, ["carol"]],
    [8000, ["dave"]],
    [10000, ["alice"]],
  ]);
});

Deno.test("applyEvent() run-started batches times equal to the microsecond together, as the engine sends them", () => {
  const commands = [
    { time: 0.1 + 0.2, peer: "alice", command: "a" },
    { time: 0.3, peer: "bob", command: "b" },
  ];
  const state = applyEvent(createRunState(), {
    t: 0,
    type: "run-started",
    test: "t",
    runId: "r",
    plan: [],
    timeline: buildTimeline(commands),
  });
  assertEquals(
    state.batches.map((b) => [b.dueMs, b.entries.map((e) => e.command)]),
    batchTimeline(buildTimeline(commands)).map((b) => [b.dueMs, b.commands.map((c) => c.command)]),
  );
  assertEquals(state.batches.map((b) => b.entries.length), [2]);
});

Deno.test("applyEvent() tracks phase, Redis URL and host connections", () => {
  const state = upTo(540);
  assertEquals(state.phase, "hosts");
  assertEquals(state.redisUrl, REDIS_URL);
  assertEquals(state.hosts.map((h) => [h.name, h.state, h.ms]), [
    ["host-0", "connected", 110],
    ["host-1", "connecting", undefined],
  ]);
});

Deno.test("applyEvent() computes transfer rate and reports quarter milestones once", () => {
  const state = upTo(3000);
  const fast = state.transfers.find((x) => x.host === "host-0")!;
  assertEquals(fast.state, "progress");
  assertEquals(fast.total, IMAGE_BYTES);
  assertEquals(Math.round(fast.rate / 1000), 12_000); // 12 MB/s
  const milestones = state.lines.toArray().filter((l) => l.audience === "progress").map((l) =>
    l.text
  );
  assertEquals(milestones, [
    "pull tm-peer:latest: started",
    "ship tm-peer:latest → host-0: started (24.0 MB)",
    "ship tm-peer:latest → host-1: started (24.0 MB)",
    "ship tm-peer:latest → host-0: 25%",
    "ship tm-peer:latest → host-1: 25%",
    "ship tm-peer:latest → host-0: 50%",
  ]);
});

Deno.test("applyEvent() follows statuses, restarts and time in state", () => {
  const state = upTo(10650);
  const bob = state.peersByName.get("bob")!;
  assertEquals(bob.status, "started");
  assertEquals(bob.restarts, 1);
  assertEquals(bob.since, 10600);
  assertEquals(bob.address, "vlad-bob|/ip4/10.0.0.11/udp/11984/quic-v1");
  assertEquals(state.peersByName.get("alice")!.status, "connected");
});

Deno.test("applyEvent() marks sent timeline entries and advances the next batch", () => {
  const state = upTo(TIMELINE_START + 4500);
  assertEquals(state.timelineStart, TIMELINE_START);
  assertEquals(state.nextBatch, 3);
  const first = state.batches[0].entries.map((e) => [e.sentAt, e.lateMs]);
  assertEquals(first, [[TIMELINE_START + 2, 2], [TIMELINE_START + 3, 3]]);
  assertEquals(state.batches[3].entries[0].sentAt, undefined);
});

Deno.test("applyEvent() counts warnings and errors per peer and keeps the last log", () => {
  const state = upTo(12000);
  const carol = state.peersByName.get("carol")!;
  assertEquals([carol.warnings, carol.errors], [1, 1]);
  assertEquals(carol.lastLog?.message, "failed to dial dave: timeout after 3000 ms");
  assertEquals([state.warnings, state.errors], [1, 1]);
});

Deno.test("applyEvent() records an unexpected exit with its output and an undeliverable command", () => {
  const state = upTo(14000, "crash");
  const dave = state.peersByName.get("dave")!;
  assertEquals(dave.state, "exited");
  assertEquals(dave.exit, { code: 137, expected: false });
  assertEquals(state.batches[4].entries[0].undeliverable, "peer exited");
  const output = state.lines.toArray().filter((l) => l.kind === "output").map((l) => l.text);
  assertEquals(output, ["thread 'main' panicked at src/swarm.rs:88:9:", "out of memory"]);
});

Deno.test("applyEvent() sets the verdict from run-finished", () => {
  const state = foldEvents(scriptedRun({ outcome: "crash" }));
  assertEquals(state.finished?.verdict, "failed");
  assertEquals(state.finished?.reason, "peer dave crashed (exit code 137)");
  assertEquals(state.finished?.exitCode, 1);
});

Deno.test("applyEvent() sorts lines by audience: peer info and traces are verbose-only", () => {
  const state = foldEvents(scriptedRun());
  const audience = (text: string) => state.lines.toArray().find((l) => l.text === text)?.audience;
  assertEquals(audience("gossip mesh: 1 peer"), "verbose");
  assertEquals(audience("slow handshake with bob (1.2 s)"), "always");
  assertEquals(audience("connected"), "always");
  assertEquals(audience("shutdown"), "verbose");
  assertEquals(audience("push|bob|hello"), "always");
});

Deno.test("applyEvent() keeps only the newest lines beyond the capacity", () => {
  const state = createRunState({ lineCapacity: 100 });
  for (let i = 0; i < 1000; i++) {
    applyEvent(state, { t: i, type: "peer-log", peer: "alice", level: "info", message: `m${i}` });
  }
  const lines = state.lines.toArray();
  assertEquals(lines.length, 100);
  assertEquals(lines[0].text, "m900");
  assertEquals(lines.at(-1)!.seq, 999);
  assert(state.peersByName.has("alice"), "an unplanned peer is added");
});

Deno.test("applyEvent() marks a lost host, counts the warning, and shows its reconnection", () => {
  const state = upTo(3000);
  applyEvent(state, {
    type: "host-lost",
    host: "host-1",
    reason: "connection closed by the host",
    giveUpMs: 60_000,
    t: 3_100,
  });
  const host = () => state.hosts.find((h) => h.name === "host-1")!;
  assertEquals([host().state, host().since], ["lost", 3_100]);
  assertEquals(state.warnings, 1);
  const lost = state.lines.toArray().at(-1)!;
  assertEquals([lost.kind, lost.audience], ["warning", "always"]);
  assert(lost.text.startsWith("host host-1 lost: connection closed by the host"), lost.text);

  applyEvent(state, {
    type: "host-reconnected",
    host: "host-1",
    outageMs: 1_200,
    attempts: 2,
    t: 4_300,
  });
  assertEquals(host().state, "connected");
  const back = state.lines.toArray().at(-1)!;
  assertEquals([back.kind, back.text.startsWith("host host-1 reconnected after")], ["host", true]);
});

Deno.test("applyEvent() keeps what cleanup left behind as an error", () => {
  const state = upTo(3000);
  applyEvent(state, {
    type: "left-behind",
    host: "host-1",
    containers: ["tm-gossip-demo-bob", "tm-gossip-demo-dave"],
    reason: "host-1: connection lost and not restored within 30 s",
    t: 9_000,
  });
  assertEquals(state.errors, 1);
  assertEquals(state.leftBehind, [{
    host: "host-1",
    containers: ["tm-gossip-demo-bob", "tm-gossip-demo-dave"],
    reason: "host-1: connection lost and not restored within 30 s",
  }]);
  assert(state.lines.toArray().at(-1)!.text.startsWith("left on host-1: tm-gossip-demo-bob, "));
});

Deno.test("applyEvent() check-decided lists the check live, with a line and one per evidence line", () => {
  const state = upTo(TIMELINE_START + 100);
  const before = state.lines.length;
  applyEvent(state, {
    type: "check-decided",
    check: {
      index: 2,
      description: "bob reports status connected by 1 s",
      peers: ["bob"],
      passed: false,
      atMs: 1_000,
      evidence: ["bob: last status connecting"],
    },
    t: TIMELINE_START + 1_000,
  });
  assertEquals(state.checks.map((c) => [c.index, c.passed]), [[2, false]]);
  const added = state.lines.toArray().slice(before);
  assertEquals(added.map((l) => [l.kind, l.level, l.text]), [
    ["check", "error", "check #2 FAILED at t=1.0s: bob reports status connected by 1 s"],
    ["output", "error", "bob: last status connecting"],
  ]);
});

Deno.test("applyEvent() counts a repeated restarting as one restart, as the engine and the run record do", () => {
  const state = upTo(9000);
  for (const t of [9001, 9002]) {
    applyEvent(state, {
      t,
      type: "peer-status",
      peer: "carol",
      status: "restarting",
      previous: null,
    });
  }
  assertEquals(state.peers.find((p) => p.name === "carol")!.restarts, 1);
});

Deno.test("applyEvent: a manual-entry is counted, placed in due order as a manual batch, marked sent by its index; the summary says the run was steered", () => {
  const events = scriptedRun();
  const finished = events.pop()!;
  const at = TIMELINE_START + 3_000;
  const before = events.filter((e) => e.t <= at);
  const after = events.filter((e) => e.t > at);
  const entry = { index: 7, time: 3, fault: "pause" as const, peers: ["carol"] };
  const state = foldEvents([
    ...before,
    { t: at, type: "manual-entry", manual: true, entry, input: "fault pause carol" },
    { t: at + 5, type: "fault-applied", action: { fault: "pause", peers: ["carol"] }, index: 7 },
    ...after,
    finished,
  ]);
  assertEquals(state.manualEntries, 1);
  const dues = state.batches.map((b) => b.dueMs);
  assertEquals(dues, [...dues].sort((a, b) => a - b));
  const manual = state.batches.flatMap((b) => b.entries).filter((e) => e.manual);
  assertEquals(manual.map((e) => [e.index, e.fault, e.sentAt]), [[7, true, at + 5]]);
  const text = summarize(state).map((line) => line.map((s) => s.text).join("")).join("\n");
  assert(text.includes("steered by hand: 1 entry"), text);
});

Deno.test("applyEvent() shows what a shipment sent at normal verbosity, the transfer's end only with --verbose", () => {
  const state = createRunState();
  const base = { image: "peer:latest", host: "B" };
  applyEvent(state, {
    t: 0,
    type: "image-transfer",
    ...base,
    bytes: 0,
    total: 10,
    state: "started",
  });
  applyEvent(state, { t: 5, type: "image-transfer", ...base, bytes: 10, total: 10, state: "done" });
  applyEvent(state, {
    t: 5,
    type: "image-shipped",
    ...base,
    sent: 10,
    total: 10,
    layers: 2,
    held: 0,
    ms: 5,
  });
  const lines = state.lines.toArray().filter((l) => l.kind === "image");
  assertEquals(lines.map((l) => l.audience), ["progress", "verbose", "always"]);
  assertEquals(
    lines[2].text,
    "shipped peer:latest to B: 10 B of a 10 B archive (0 of 2 layers held), 5 ms",
  );
  // A host that holds the image is said at normal verbosity too.
  applyEvent(state, {
    t: 6,
    type: "image-skipped",
    image: "peer:latest",
    host: "C",
    reason: "same image ID",
  });
  const skipped = state.lines.toArray().filter((l) => l.kind === "image").at(-1)!;
  assertEquals(
    [skipped.audience, skipped.text],
    ["always", "peer:latest on C: already held (same image ID)"],
  );
});

Deno.test("applyEvent() closes a 1,000-command batch on its last send, in any order, and finds an index-less undeliverable by peer and command", () => {
  const commands = Array.from({ length: 1_000 }, (_, i) => ({
    time: 1,
    peer: `p${i}`,
    command: "connect",
  }));
  commands.push({ time: 2, peer: "p1", command: "connect" });
  const state = applyEvent(createRunState(), {
    t: 0,
    type: "run-started",
    test: "t",
    runId: "r",
    plan: [],
    timeline: buildTimeline(commands),
  });
  const timeline = buildTimeline(commands);
  // Sent from the last to the second; the first is undeliverable, reported without its index.
  for (const entry of timeline.slice(1, 1_000).reverse()) {
    applyEvent(state, {
      t: 5,
      type: "command-sent",
      peer: entry.peer,
      command: entry.command,
      index: entry.index,
    });
    assertEquals(state.nextBatch, 0);
  }
  applyEvent(state, {
    t: 6,
    type: "command-undeliverable",
    peer: timeline[0].peer,
    command: "connect",
    reason: "p0 exited",
  });
  assertEquals(state.nextBatch, 1);
  assertEquals(state.batches[0].entries[0].undeliverable, "p0 exited");
  // p1's second `connect` is the open one now: an index-less report goes to it.
  applyEvent(state, {
    t: 7,
    type: "command-undeliverable",
    peer: "p1",
    command: "connect",
    reason: "gone",
  });
  assertEquals(state.batches[1].entries[0].undeliverable, "gone");
  assertEquals(state.nextBatch, 2);
});
