/** The check evaluator on scripted events and a fake clock (the `t` of each event). */
import { assertEquals } from "../support/assert.ts";
import { CheckEvaluator, describeCheck, EVIDENCE_LINES } from "../../src/engine/checks.ts";
import type { ExpectConfig } from "../../src/plan/schema.ts";
import type { CheckOutcome, EngineEvent, PeerSummary } from "../../src/engine/events.ts";

const PEERS = ["alice", "bob"];

/** An evaluator of `checks` over alice and bob, with what it reported. */
function evaluate(checks: ExpectConfig[]) {
  const decided: CheckOutcome[] = [];
  const failedAt: number[] = [];
  const evaluator = new CheckEvaluator({
    checks,
    peers: PEERS,
    decided: (outcome) => decided.push(outcome),
    failed: (outcome) => failedAt.push(outcome.index),
  });
  return { evaluator, decided, failedAt };
}

const timeline = (t: number): EngineEvent => ({ type: "phase", phase: "timeline", t });
const status = (t: number, peer: string, value: string, address?: string): EngineEvent => ({
  type: "peer-status",
  peer,
  status: value,
  previous: null,
  t,
  ...(address !== undefined ? { address } : {}),
});
const log = (t: number, peer: string, level: string, message: string): EngineEvent => ({
  type: "peer-log",
  peer,
  level,
  message,
  t,
});

function summary(peer: string, fields: Partial<PeerSummary> = {}): PeerSummary {
  return { peer, host: "h", status: "stopped", restarts: 0, warnings: 0, errors: 0, ...fields };
}

Deno.test("CheckEvaluator passes a status check the moment its peer reports it, on the timeline clock", () => {
  const { evaluator, decided } = evaluate([{ peer: "bob", status: "connected", by: 5 }]);
  evaluator.observe(timeline(1_000));
  evaluator.observe(status(1_500, "bob", "connecting"));
  assertEquals(decided, []);
  evaluator.observe(status(2_200, "bob", "connected"));
  assertEquals(decided, [{
    index: 0,
    description: "bob reports status connected by 5 s",
    peers: ["bob"],
    passed: true,
    atMs: 1_200,
  }]);
});

Deno.test("CheckEvaluator fails a status check when its by deadline passes, with the last status and log lines", () => {
  const { evaluator, decided, failedAt } = evaluate([{ peer: "bob", status: "connected", by: 2 }]);
  evaluator.observe(timeline(1_000));
  evaluator.observe(status(1_100, "bob", "connecting"));
  evaluator.observe(log(1_200, "bob", "warn", "dial failed"));
  assertEquals(evaluator.nextDeadline(), 3_000);
  evaluator.tick(2_999);
  assertEquals(decided, []);
  evaluator.tick(3_000);
  assertEquals(failedAt, [0]);
  assertEquals(decided, [{
    index: 0,
    description: "bob reports status connected by 2 s",
    peers: ["bob"],
    passed: false,
    atMs: 2_000,
    evidence: ["bob: last status connecting", "  warn dial failed"],
  }]);
  assertEquals(evaluator.nextDeadline(), undefined);
  evaluator.observe(status(3_100, "bob", "connected"));
  assertEquals(decided.length, 1, "a check is decided once");
});

Deno.test("CheckEvaluator reports a decision taken before the timeline once it starts, at a negative time", () => {
  const { evaluator, decided } = evaluate([{ peer: "*", status: "started", by: 0 }]);
  evaluator.observe(status(400, "alice", "started", "vlad|addr"));
  evaluator.observe(status(700, "bob", "started"));
  assertEquals(decided, []);
  evaluator.observe(timeline(1_000));
  assertEquals(decided.map((d) => [d.passed, d.atMs, d.peers]), [[true, -300, PEERS]]);
});

Deno.test("CheckEvaluator reports decisions relative to the stop when the timeline never started", () => {
  const { evaluator, decided, failedAt } = evaluate([{ peer: "alice", no_log: "error" }]);
  evaluator.observe(log(300, "alice", "error", "cannot bind"));
  assertEquals(failedAt, [0], "the failure is known at once, for fail_fast");
  assertEquals(decided, []);
  evaluator.stop(800);
  assertEquals(decided.map((d) => [d.passed, d.atMs]), [[false, -500]]);
});

Deno.test("CheckEvaluator with after counts a status held when the window opens, and ignores earlier ones", () => {
  const { evaluator, decided } = evaluate([
    { peer: "alice", status: "connected", after: 2 },
    { peer: "bob", status: "started", after: 1, by: 3 },
  ]);
  evaluator.observe(status(500, "bob", "started"));
  evaluator.observe(timeline(1_000));
  evaluator.observe(status(1_500, "alice", "connected"));
  evaluator.observe(status(1_600, "bob", "connecting"));
  assertEquals(evaluator.nextDeadline(), 2_000);
  evaluator.tick(2_000);
  assertEquals(decided, []);
  assertEquals(evaluator.nextDeadline(), 3_000);
  evaluator.tick(3_000);
  assertEquals(decided.map((d) => [d.index, d.passed, d.atMs]), [[0, true, 2_000]]);
  evaluator.tick(4_000);
  assertEquals(decided.map((d) => [d.index, d.passed, d.atMs]), [[0, true, 2_000], [
    1,
    false,
    3_000,
  ]]);
});

Deno.test("CheckEvaluator passes a log check on the first matching line of every peer named", () => {
  const { evaluator, decided } = evaluate([{ peer: ["alice", "bob"], log: "^push to \\w+" }]);
  evaluator.observe(timeline(0));
  evaluator.observe(log(100, "alice", "info", "push to bob: hi"));
  evaluator.observe(log(200, "alice", "info", "push to bob: again"));
  assertEquals(decided, []);
  evaluator.observe(log(300, "bob", "info", "a push to alice"));
  assertEquals(decided, []);
  evaluator.observe(log(400, "bob", "info", "push to alice: yo"));
  assertEquals(decided.map((d) => [d.description, d.passed, d.atMs]), [
    ["alice and bob each log a line matching /^push to \\w+/", true, 400],
  ]);
});

Deno.test("CheckEvaluator fails a log check at the end with the last lines of the peer that missed it", () => {
  const { evaluator, decided } = evaluate([{ peer: "bob", log: "hello" }]);
  evaluator.observe(timeline(0));
  for (let i = 1; i <= EVIDENCE_LINES + 2; i++) {
    evaluator.observe(log(i, "bob", "info", `line ${i}`));
  }
  evaluator.finish(5_000, [summary("alice"), summary("bob")]);
  const [outcome] = decided;
  assertEquals([outcome.passed, outcome.atMs], [false, 5_000]);
  assertEquals(outcome.evidence?.length, 1 + EVIDENCE_LINES);
  assertEquals(outcome.evidence?.[0], "bob: last status none");
  assertEquals(outcome.evidence?.at(-1), `  info line ${EVIDENCE_LINES + 2}`);
  assertEquals(outcome.evidence?.[1], "  info line 3");
});

Deno.test("CheckEvaluator fails no_log at the first line at that level or worse, and passes it when its window closes", () => {
  const { evaluator, decided } = evaluate([
    { peer: "*", no_log: "warn" },
    { peer: "alice", no_log: "error", by: 1 },
  ]);
  evaluator.observe(timeline(0));
  evaluator.observe(log(100, "alice", "info", "fine"));
  evaluator.observe(log(200, "alice", "notice", "still fine"));
  assertEquals(decided, []);
  evaluator.tick(1_000);
  assertEquals(decided.map((d) => [d.index, d.passed, d.atMs]), [[1, true, 1_000]]);
  evaluator.observe(log(1_500, "bob", "WARNING", "slow peer"));
  assertEquals(decided[1], {
    index: 0,
    description: "every peer logs nothing at warn or worse",
    peers: PEERS,
    passed: false,
    atMs: 1_500,
    evidence: ["bob logged at WARNING: slow peer", "  WARNING slow peer"],
  });
});

Deno.test("CheckEvaluator ignores lines outside a no_log window", () => {
  const { evaluator, decided } = evaluate([{ peer: "alice", no_log: "error", after: 1, by: 2 }]);
  evaluator.observe(log(50, "alice", "error", "before the timeline"));
  evaluator.observe(timeline(100));
  evaluator.observe(log(500, "alice", "error", "before the window"));
  evaluator.tick(2_100);
  evaluator.observe(log(2_200, "alice", "error", "after it"));
  assertEquals(decided.map((d) => [d.passed, d.atMs]), [[true, 2_000]]);
});

Deno.test("CheckEvaluator judges restarts and exit_code at the end from the peers' summaries", () => {
  const { evaluator, decided } = evaluate([
    { peer: "alice", restarts: 1 },
    { peer: "*", restarts: 0 },
    { peer: "*", exit_code: 0 },
    { peer: "bob", exit_code: 0 },
  ]);
  evaluator.observe(timeline(0));
  evaluator.finish(9_000, [summary("alice", { restarts: 1, exitCode: 0 }), summary("bob")]);
  assertEquals(decided.map((d) => [d.index, d.passed, d.evidence]), [
    [0, true, undefined],
    [1, false, ["alice restarted 1 time"]],
    [2, false, ["bob did not exit on its own (tm's cleanup ended it)"]],
    [3, false, ["bob did not exit on its own (tm's cleanup ended it)"]],
  ]);
  assertEquals(evaluator.outcomes().map((o) => o.index), [0, 1, 2, 3]);
});

Deno.test("CheckEvaluator names a failed status with its reason, and a signal or a code for exit_code", () => {
  const { evaluator, decided } = evaluate([
    { peer: "alice", status: "connected" },
    { peer: ["alice", "bob"], exit_code: 0 },
  ]);
  evaluator.observe(timeline(0));
  evaluator.observe(status(10, "alice", "failed", "disk full"));
  evaluator.finish(100, [summary("alice", { exitCode: null }), summary("bob", { exitCode: 3 })]);
  assertEquals(decided[0].evidence, ["alice: last status failed|disk full"]);
  assertEquals(decided[1].evidence, ["alice was killed by a signal", "bob exited with code 3"]);
});

Deno.test("CheckEvaluator decides nothing after stop: a halted run's open checks stay undecided", () => {
  const { evaluator, decided } = evaluate([
    { peer: "bob", status: "connected" },
    { peer: "bob", status: "started" },
  ]);
  evaluator.observe(status(10, "bob", "started"));
  evaluator.observe(timeline(100));
  evaluator.stop(200);
  evaluator.observe(status(300, "bob", "connected"));
  evaluator.finish(400, [summary("bob")]);
  assertEquals(decided.map((d) => [d.index, d.passed, d.atMs]), [[1, true, -90]]);
  assertEquals(evaluator.nextDeadline(), undefined);
});

Deno.test("CheckEvaluator has no deadline before the timeline starts, nor for checks without by", () => {
  const { evaluator } = evaluate([{ peer: "bob", status: "connected" }, { peer: "bob", log: "x" }]);
  assertEquals(evaluator.nextDeadline(), undefined);
  evaluator.observe(timeline(0));
  assertEquals(evaluator.nextDeadline(), undefined);
});

Deno.test("describeCheck() says who, what and when in one line", () => {
  assertEquals(
    describeCheck({ peer: "bob", status: "connected", by: 12 }),
    "bob reports status connected by 12 s",
  );
  assertEquals(
    describeCheck({ peer: ["a", "b", "c"], log: "hi", after: 1, by: 2.5 }),
    "a, b and c each log a line matching /hi/ between 1 s and 2.5 s",
  );
  assertEquals(
    describeCheck({ peer: "*", no_log: "error", after: 3 }),
    "every peer logs nothing at error or worse after 3 s",
  );
  assertEquals(describeCheck({ peer: ["alice"], restarts: 1 }), "alice restarts exactly 1 time");
  assertEquals(describeCheck({ peer: "*", restarts: 0 }), "every peer restarts exactly 0 times");
  assertEquals(describeCheck({ peer: ["a", "b"], exit_code: 0 }), "a and b each exit with code 0");
});

Deno.test("CheckEvaluator matches a catastrophic log: pattern in linear time, with RE2 semantics", () => {
  // A backtracking engine takes 2^n steps for `(a+)+$` on n `a`s and a `b`: it never returned.
  const { evaluator, decided } = evaluate([
    { peer: "alice", log: "(a+)+$", by: 5 },
    { peer: "bob", log: "(a+)+$", by: 5 },
  ]);
  evaluator.observe(timeline(0));
  evaluator.observe(log(100, "alice", "info", `${"a".repeat(64 * 1024)}b`));
  evaluator.observe(log(200, "bob", "info", `${"a".repeat(64 * 1024)}`));
  assertEquals(decided.map((d) => [d.index, d.passed]), [[1, true]]);
});

Deno.test("CheckEvaluator judges 10,000 checks on every peer, each met by its own line", () => {
  const peers = Array.from({ length: 20 }, (_, i) => `p${i}`);
  const checks: ExpectConfig[] = Array.from({ length: 10_000 }, (_, i) => ({
    peer: i % 2 === 0 ? "*" : [`p${i % 20}`],
    log: `line ${i % 50}$`,
  }));
  const decided: CheckOutcome[] = [];
  const evaluator = new CheckEvaluator({ checks, peers, decided: (o) => decided.push(o) });
  evaluator.observe(timeline(0));
  for (const peer of peers) {
    for (let n = 0; n < 49; n++) evaluator.observe(log(1, peer, "info", `line ${n}`));
  }
  // Every check but those on `line 49` (never logged) passed.
  const expected = checks.flatMap((check, index) => check.log === "line 49$" ? [] : [index]);
  assertEquals(decided.map((d) => d.index).sort((a, b) => a - b), expected);
  evaluator.observe(log(2, "p0", "info", "line 49"));
  // The `line 49` checks each name one odd-numbered peer: p0's line meets none of them.
  assertEquals(decided.length, expected.length);
  for (const peer of peers.slice(1)) evaluator.observe(log(3, peer, "info", "line 49"));
  assertEquals(decided.length, checks.length);
});
