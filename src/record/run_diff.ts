/**
 * Two runs of one test compared (`tm diff <run-a> <run-b>`, docs/run-record.md "tm diff"): the
 * verdicts; the checks whose outcome changed, regressions first, with both evidences; per peer its
 * outcome, restarts, failure reason, time to `started`, where its sequence of statuses first
 * diverges, its warn/error counts and the warn/error lines B logged that A never did (numbers
 * masked);
 * the phases' lengths and the commands' and faults' lateness as ratios B/A. B regressed when a
 * check or a peer that passed in A fails in B, or the verdict went from passed to anything else.
 *
 * Pure: built from each run's history (src/history/) and its recorded events. The history says
 * what each peer and check came to; the events give what it does not keep: when each status came,
 * the error lines' texts and the lateness of each timeline entry.
 */
import { type CheckStanding, checkStanding } from "../engine/known_failures.ts";
import type { CheckOutcome, Phase } from "../engine/events.ts";
import { peerProblems } from "../history/peer_verdict.ts";
import type { PeerHistory, RunHistory } from "../history/run_history.ts";
import type { RecordedEvent } from "./events_jsonl.ts";

/** One run as `diffRuns` reads it. */
export interface DiffInput {
  /** The run's directory, as the user named it. */
  dir: string;
  history: RunHistory;
  recorded: readonly RecordedEvent[];
}

/** A value in A and in B. */
export interface Pair<T> {
  a: T;
  b: T;
}

/** A duration in A and B (ms) and B/A; `ratio` null when A is 0 or either is missing. */
export interface Timed {
  a: number | null;
  b: number | null;
  ratio: number | null;
}

/** A check's standing in one run; `undecided` when the run stopped before deciding it. */
export type CheckState = CheckStanding | "undecided";

/** A check whose outcome differs between the runs. */
export interface CheckChange {
  index: number;
  description: string;
  state: Pair<CheckState>;
  /** What each run decided: `passed at t=…` or the failure's evidence lines. */
  evidence: Pair<string[]>;
  /** Passed (or fixed) in A, failed in B. */
  regressed: boolean;
}

/** A peer's outcome: passed, failed (with why), or not part of the run. */
export type PeerOutcome = "passed" | "failed" | "absent";

/** Where a peer's sequence of statuses first differs between A and B. */
export interface StatusDivergence {
  /** 0-based position in the sequence. */
  position: number;
  /** The status each reported there (null: its sequence had ended). */
  a: string | null;
  b: string | null;
  /** The statuses both reported before it. */
  common: string[];
}

/** One peer compared. */
export interface PeerDiff {
  peer: string;
  outcome: Pair<PeerOutcome>;
  /** Why it failed, one line each (peer_verdict.ts); [] when it passed. */
  problems: Pair<string[]>;
  restarts: Pair<number>;
  /** The reason of its `failed|<reason>` report; null if it reported none. */
  failure: Pair<string | null>;
  /** From its launch to its first `started`, ms. */
  started: Timed;
  /** Null when both reported the same statuses in the same order. */
  divergence: StatusDivergence | null;
  warnings: Pair<number>;
  errors: Pair<number>;
  /**
   * B's warn and error lines whose level and text (numbers masked) A never logged, once each, in
   * B's order.
   */
  newLines: { level: string; message: string }[];
  /** Anything above differs. */
  changed: boolean;
  /** Passed in A, failed in B. */
  regressed: boolean;
}

/** Lateness of one kind of timeline entry in one run: count, median and 99th percentile (ms). */
export interface LatenessStats {
  count: number;
  p50: number | null;
  p99: number | null;
}

export interface LatenessDiff {
  a: LatenessStats;
  b: LatenessStats;
  /** B/A of the medians and the 99th percentiles. */
  p50Ratio: number | null;
  p99Ratio: number | null;
}

/** One side's identity. */
export interface RunSide {
  dir: string;
  runId: string;
  test: string;
  startedAt: string;
  /** `passed`, `failed`, `interrupted`, or `unfinished` (the record ends before run-finished). */
  verdict: string;
  reason: string | null;
  durationMs: number;
}

/** Two runs compared. */
export interface RunDiff {
  a: RunSide;
  b: RunSide;
  /** How the test differs between the runs (its peers, timeline, checks); [] when it did not. */
  testChanges: string[];
  /** Checks whose standing changed, regressions first, then in file order. */
  checks: CheckChange[];
  /** Every peer of either run, in A's plan order then B's new ones. */
  peers: PeerDiff[];
  /** Each phase either run entered, in run order, with its length. */
  phases: ({ phase: Phase } & Timed)[];
  lateness: { commands: LatenessDiff; faults: LatenessDiff };
  /** One line per regression: the verdict, each check and each peer that passed in A and not in B. */
  regressions: string[];
}

/** The two records are runs of different tests: nothing to compare, only how they differ. */
export class DifferentTestsError extends Error {
  constructor(readonly a: string, readonly b: string, readonly differences: string[]) {
    super(`runs of different tests (${a} and ${b}): ${differences.join("; ")}`);
    this.name = "DifferentTestsError";
  }
}

/**
 * Compares run B with run A.
 * @throws DifferentTestsError when they are runs of tests of different names
 */
export function diffRuns(a: DiffInput, b: DiffInput): RunDiff {
  const testChanges = testDifferences(a.history, b.history);
  if (a.history.test !== b.history.test) {
    throw new DifferentTestsError(a.history.test, b.history.test, testChanges);
  }
  const checks = checkChanges(a.history.checks, b.history.checks);
  const peers = peerDiffs(a, b);
  const sideA = side(a);
  const sideB = side(b);
  const regressions = [
    ...(sideA.verdict === "passed" && sideB.verdict !== "passed"
      ? [`verdict: passed → ${sideB.verdict}${sideB.reason ? ` (${sideB.reason})` : ""}`]
      : []),
    ...checks.filter((c) => c.regressed).map((c) =>
      `check #${c.index} ${c.description}: ${c.state.a} → ${c.state.b}`
    ),
    ...peers.filter((p) => p.regressed).map((p) =>
      `peer ${p.peer}: passed → failed (${p.problems.b.join("; ")})`
    ),
  ];
  return {
    a: sideA,
    b: sideB,
    testChanges,
    checks,
    peers,
    phases: phaseDiffs(a.history, b.history),
    lateness: {
      commands: latenessDiff(commandLateness(a.recorded), commandLateness(b.recorded)),
      faults: latenessDiff(faultLateness(a.recorded), faultLateness(b.recorded)),
    },
    regressions,
  };
}

/** Whether B regressed against A: the exit code of `tm diff` is 1 then. */
export function regressed(diff: RunDiff): boolean {
  return diff.regressions.length > 0;
}

/** A log line's text with its numbers masked, so `took 31 ms` and `took 35 ms` are one line. */
export function maskNumbers(text: string): string {
  return text.replace(/\d+(\.\d+)?/g, "#");
}

/** `b / a`, or null when either is missing or A is 0. */
export function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || a === 0 ? null : b / a;
}

/** The nearest-rank percentile `p` (0–100) of `values`; null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function side({ dir, history }: DiffInput): RunSide {
  return {
    dir,
    runId: history.runId,
    test: history.test,
    startedAt: history.startedAt,
    verdict: history.finished?.verdict ?? "unfinished",
    reason: history.finished?.reason ?? null,
    durationMs: history.finished?.durationMs ?? history.lastMs,
  };
}

/** How the test as run differs: its name, peers and placement, timeline, checks. */
function testDifferences(a: RunHistory, b: RunHistory): string[] {
  const changes: string[] = [];
  if (a.test !== b.test) changes.push(`test ${a.test} → ${b.test}`);
  const peersA = new Map(a.plan.map((p) => [p.peer, p]));
  const peersB = new Map(b.plan.map((p) => [p.peer, p]));
  const only = (x: Map<string, unknown>, y: Map<string, unknown>) =>
    [...x.keys()].filter((k) => !y.has(k));
  if (only(peersA, peersB).length) {
    changes.push(`peers only in A: ${only(peersA, peersB).join(", ")}`);
  }
  if (only(peersB, peersA).length) {
    changes.push(`peers only in B: ${only(peersB, peersA).join(", ")}`);
  }
  for (const [name, pa] of peersA) {
    const pb = peersB.get(name);
    if (!pb) continue;
    if (pa.host !== pb.host) changes.push(`peer ${name} on ${pa.host} → ${pb.host}`);
    if (pa.image !== pb.image) changes.push(`peer ${name} image ${pa.image} → ${pb.image}`);
  }
  const timeline = (h: RunHistory) => h.timeline.map((c) => `${c.time} s ${c.peer} ${c.command}`);
  const changed = listChange("timeline command", timeline(a), timeline(b));
  if (changed) changes.push(changed);
  const checks = (h: RunHistory) => h.checks.map((c) => c.description);
  const checkChange = listChange("check", checks(a), checks(b));
  if (checkChange) changes.push(checkChange);
  return changes;
}

/** `timeline commands: 2 only in A (…), 1 only in B (…)`, or null when the lists are equal. */
function listChange(noun: string, a: string[], b: string[]): string | null {
  const onlyA = a.filter((x) => !b.includes(x));
  const onlyB = b.filter((x) => !a.includes(x));
  if (onlyA.length === 0 && onlyB.length === 0) return null;
  const part = (items: string[], where: string) =>
    items.length
      ? [
        `${items.length} only in ${where} (${items.slice(0, 3).join("; ")}${
          items.length > 3 ? "; …" : ""
        })`,
      ]
      : [];
  return `${noun}s: ${[...part(onlyA, "A"), ...part(onlyB, "B")].join(", ")}`;
}

function stateOf(check: CheckOutcome | undefined): CheckState {
  return check ? checkStanding(check) : "undecided";
}

const PASSING: ReadonlySet<CheckState> = new Set(["passed", "fixed"]);

function checkChanges(a: readonly CheckOutcome[], b: readonly CheckOutcome[]): CheckChange[] {
  const byIndex = (list: readonly CheckOutcome[]) => new Map(list.map((c) => [c.index, c]));
  const mapA = byIndex(a);
  const mapB = byIndex(b);
  const indexes = [...new Set([...mapA.keys(), ...mapB.keys()])].sort((x, y) => x - y);
  const changes: CheckChange[] = [];
  for (const index of indexes) {
    const ca = mapA.get(index);
    const cb = mapB.get(index);
    const state = { a: stateOf(ca), b: stateOf(cb) };
    if (state.a === state.b) continue;
    changes.push({
      index,
      description: (cb ?? ca)!.description,
      state,
      evidence: { a: evidenceOf(ca), b: evidenceOf(cb) },
      regressed: PASSING.has(state.a) && state.b === "failed",
    });
  }
  // Regressions first (pass → fail), then the rest, each in file order.
  return [...changes.filter((c) => c.regressed), ...changes.filter((c) => !c.regressed)];
}

function evidenceOf(check: CheckOutcome | undefined): string[] {
  if (!check) return ["not decided in this run"];
  const at = `t=${(check.atMs / 1_000).toFixed(1)}s`;
  return [`${check.passed ? "passed" : "failed"} at ${at}`, ...(check.evidence ?? [])];
}

/** What the events tell of one peer beyond its history: statuses in order, started, bad lines. */
interface PeerEvents {
  statuses: string[];
  launchedMs?: number;
  startedMs?: number;
  /** Its warn and error lines, in order. */
  badLines: { level: string; message: string }[];
}

/** The levels whose new lines a diff lists (the ones a run's summary counts). */
const BAD_LEVELS: ReadonlySet<string> = new Set(["warn", "error"]);

function peerEvents(recorded: readonly RecordedEvent[]): Map<string, PeerEvents> {
  const peers = new Map<string, PeerEvents>();
  const of = (peer: string) => {
    let facts = peers.get(peer);
    if (!facts) peers.set(peer, facts = { statuses: [], badLines: [] });
    return facts;
  };
  for (const { event } of recorded) {
    switch (event.type) {
      case "peer-launched":
        of(event.peer).launchedMs ??= event.t;
        break;
      case "peer-status": {
        const facts = of(event.peer);
        facts.statuses.push(event.status);
        if (event.status === "started") facts.startedMs ??= event.t;
        break;
      }
      case "peer-log":
        if (BAD_LEVELS.has(event.level)) {
          of(event.peer).badLines.push({ level: event.level, message: event.message });
        }
        break;
    }
  }
  return peers;
}

function peerDiffs(a: DiffInput, b: DiffInput): PeerDiff[] {
  const eventsA = peerEvents(a.recorded);
  const eventsB = peerEvents(b.recorded);
  const historyA = new Map(a.history.peers.map((p) => [p.peer, p]));
  const historyB = new Map(b.history.peers.map((p) => [p.peer, p]));
  const names = [...new Set([...historyA.keys(), ...historyB.keys()])];
  return names.map((name) => {
    const pa = historyA.get(name);
    const pb = historyB.get(name);
    const ea = eventsA.get(name) ?? { statuses: [], badLines: [] };
    const eb = eventsB.get(name) ?? { statuses: [], badLines: [] };
    const outcome = { a: outcomeOf(pa), b: outcomeOf(pb) };
    const toStarted = (e: PeerEvents) =>
      e.startedMs !== undefined && e.launchedMs !== undefined ? e.startedMs - e.launchedMs : null;
    const started = timed(toStarted(ea), toStarted(eb));
    const key = (line: { level: string; message: string }) =>
      `${line.level} ${maskNumbers(line.message)}`;
    const seen = new Set(ea.badLines.map(key));
    const newLines: { level: string; message: string }[] = [];
    for (const line of eb.badLines) {
      if (seen.has(key(line))) continue;
      seen.add(key(line));
      newLines.push(line);
    }
    const diff: PeerDiff = {
      peer: name,
      outcome,
      problems: { a: problemsOf(pa), b: problemsOf(pb) },
      restarts: { a: pa?.restarts ?? 0, b: pb?.restarts ?? 0 },
      failure: { a: pa?.failure ?? null, b: pb?.failure ?? null },
      started,
      divergence: divergence(ea.statuses, eb.statuses),
      warnings: { a: pa?.warnings ?? 0, b: pb?.warnings ?? 0 },
      errors: { a: pa?.errors ?? 0, b: pb?.errors ?? 0 },
      newLines,
      changed: false,
      regressed: outcome.a === "passed" && outcome.b === "failed",
    };
    diff.changed = outcome.a !== outcome.b || diff.restarts.a !== diff.restarts.b ||
      diff.failure.a !== diff.failure.b || diff.divergence !== null ||
      diff.warnings.a !== diff.warnings.b || diff.errors.a !== diff.errors.b ||
      newLines.length > 0;
    return diff;
  });
}

function outcomeOf(peer: PeerHistory | undefined): PeerOutcome {
  if (!peer) return "absent";
  return peerProblems(peer).length === 0 ? "passed" : "failed";
}

function problemsOf(peer: PeerHistory | undefined): string[] {
  return peer ? peerProblems(peer).map((p) => p.text) : ["not part of the run"];
}

/** The first position where the two sequences differ, or null when they are equal. */
export function divergence(a: readonly string[], b: readonly string[]): StatusDivergence | null {
  const length = Math.max(a.length, b.length);
  for (let position = 0; position < length; position++) {
    if (a[position] !== b[position]) {
      return {
        position,
        a: a[position] ?? null,
        b: b[position] ?? null,
        common: a.slice(0, position),
      };
    }
  }
  return null;
}

function timed(a: number | null, b: number | null): Timed {
  return { a, b, ratio: ratio(a, b) };
}

function phaseDiffs(a: RunHistory, b: RunHistory): ({ phase: Phase } & Timed)[] {
  const lengths = (h: RunHistory) => {
    const end = h.finished?.t ?? h.lastMs;
    return new Map(h.phases.map((span) => [span.phase, (span.endMs ?? end) - span.startMs]));
  };
  const la = lengths(a);
  const lb = lengths(b);
  const phases = [...new Set([...la.keys(), ...lb.keys()])];
  return phases.map((phase) => ({ phase, ...timed(la.get(phase) ?? null, lb.get(phase) ?? null) }));
}

function commandLateness(recorded: readonly RecordedEvent[]): number[] {
  return recorded.flatMap(({ event }) =>
    event.type === "command-sent" && event.lateMs !== undefined ? [event.lateMs] : []
  );
}

function faultLateness(recorded: readonly RecordedEvent[]): number[] {
  return recorded.flatMap(({ event }) =>
    event.type === "fault-applied" && event.lateMs !== undefined ? [event.lateMs] : []
  );
}

function stats(values: readonly number[]): LatenessStats {
  return { count: values.length, p50: percentile(values, 50), p99: percentile(values, 99) };
}

function latenessDiff(a: readonly number[], b: readonly number[]): LatenessDiff {
  const sa = stats(a);
  const sb = stats(b);
  return { a: sa, b: sb, p50Ratio: ratio(sa.p50, sb.p50), p99Ratio: ratio(sa.p99, sb.p99) };
}
