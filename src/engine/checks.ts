/**
 * The test file's checks (`expect:`, docs/config.md "Expectations"), judged from the engine's
 * own events: each is decided as soon as its outcome is certain. A `status` or `log` check
 * passes the moment every peer it names met it and fails when its `by` deadline passes (or at
 * the run's end); a `no_log` check fails at the first bad line and passes when its window
 * closes; `restarts` and `exit_code` are judged at the end, once every exit is known.
 *
 * Pure: the run feeds it its events (stamped with the run clock, `t`) and a time for deadlines;
 * it keeps no timer of its own, but says when it next needs one (`nextDeadline`). `by` and
 * `after` are seconds on the timeline clock, whose 0 is the `timeline` phase: a decision taken
 * before the timeline started is reported once that 0 is known (its `atMs` then negative), or,
 * when the run stops first, relative to the moment it stopped.
 *
 * It runs on the run's main thread for every event, so no step may grow with the check count
 * times anything (docs allow 10,000 checks): checks are indexed by predicate and peer, a peer
 * that met a check is not matched again, a line is matched once per distinct pattern (RE2:
 * linear in the line, which protocol.ts caps at 64 KiB), and the next deadline is cached.
 */
import type { ExpectConfig, ExpectPredicate } from "../plan/schema.ts";
import { compileLogPattern, type LogPattern } from "../plan/log_pattern.ts";
import { timelineStartAfter } from "../history/peer_facts.ts";
import { isReported, type Severity, severityOf } from "../text/severity.ts";
import { formatSeconds } from "../text/quantities.ts";
import type { CheckOutcome, EngineEvent, PeerSummary } from "./events.ts";

/** How many of a peer's last log lines a failure keeps as evidence. */
export const EVIDENCE_LINES = 10;
/** How many peers a failure's evidence describes; the others are counted. */
export const EVIDENCE_PEERS = 3;

export interface CheckEvaluatorOptions {
  checks: readonly ExpectConfig[];
  /** The plan's peer names: what `"*"` stands for. */
  peers: readonly string[];
  /** A check's outcome, once its time on the timeline clock is known; once per check. */
  decided(outcome: CheckOutcome): void;
  /** A check failed, at once (before `decided` if the timeline has not started yet). */
  failed?(outcome: Omit<CheckOutcome, "atMs">): void;
}

/** One check while it is being judged. */
interface Pending {
  readonly index: number;
  readonly predicate: ExpectPredicate;
  readonly config: ExpectConfig;
  readonly peers: readonly string[];
  /** `peers` as a set; `met.size === wanted.size` means every peer met the check. */
  readonly wanted: ReadonlySet<string>;
  readonly description: string;
  readonly pattern?: LogPattern;
  /** The window on the timeline clock, ms; undefined: open on that side. */
  readonly afterMs?: number;
  readonly byMs?: number;
  /** Peers that met a `status` or `log` check. */
  readonly met: Set<string>;
  /** A `status` check with `after`: the peers' statuses were looked at when the window opened. */
  opened: boolean;
  /** Decided on the run clock, not yet reported (the timeline's 0 was unknown). */
  decision?: { passed: boolean; t: number; evidence?: string[] };
  reported: boolean;
}

/** Judges the checks of one run. */
export class CheckEvaluator {
  readonly #options: CheckEvaluatorOptions;
  readonly #checks: Pending[];
  /** Run-clock time of the timeline's 0, once known. */
  #origin: number | undefined;
  /** Last status of each peer, as shown in evidence (`failed|<reason>` keeps its reason). */
  readonly #status = new Map<string, string>();
  readonly #lines = new Map<string, string[]>();
  /** The undecided `status`, `log` and `no_log` checks, found by an event's peer and value. */
  readonly #index = new CheckIndex();
  /** Decided, not yet reported (the timeline's 0 unknown), in decision order. */
  #unreported: Pending[] = [];
  /** `nextDeadline()`'s answer while nothing it depends on changed; null: to compute. */
  #deadline: number | undefined | null = null;
  #stopped = false;

  constructor(options: CheckEvaluatorOptions) {
    this.#options = options;
    // Shared by every `"*"` check: 10,000 of them over 100 peers would copy a million names.
    const everyPeer = [...options.peers];
    const everyPeerSet = new Set(everyPeer);
    this.#checks = options.checks.map((config, index) => {
      const predicate = predicateOf(config);
      const peers = config.peer === "*"
        ? everyPeer
        : typeof config.peer === "string"
        ? [config.peer]
        : [...config.peer];
      return {
        index,
        predicate,
        config,
        peers,
        wanted: config.peer === "*" ? everyPeerSet : new Set(peers),
        description: describeCheck(config),
        ...(config.log !== undefined ? { pattern: compileLogPattern(config.log) } : {}),
        ...(config.after !== undefined ? { afterMs: config.after * 1_000 } : {}),
        ...(config.by !== undefined ? { byMs: config.by * 1_000 } : {}),
        met: new Set<string>(),
        opened: config.after === undefined,
        reported: false,
      };
    });
    for (const check of this.#checks) {
      if (atEndOfWindow(check.predicate)) this.#index.add(check);
    }
  }

  /** Every outcome reported so far, in file order. */
  outcomes(): CheckOutcome[] {
    return this.#checks.flatMap((check) => check.reported ? [this.#outcome(check)] : []);
  }

  /**
   * Run-clock time of the next deadline (a window opening or closing), if one is pending; the
   * engine calls `tick` at or after it.
   */
  nextDeadline(): number | undefined {
    if (this.#origin === undefined || this.#stopped) return undefined;
    if (this.#deadline !== null) return this.#deadline;
    let next: number | undefined;
    for (const check of this.#checks) {
      if (check.decision) continue;
      const at = !check.opened && check.predicate === "status"
        ? check.afterMs
        : atEndOfWindow(check.predicate)
        ? check.byMs
        : undefined;
      if (at !== undefined) next = Math.min(next ?? Infinity, this.#origin + at);
    }
    this.#deadline = next;
    return next;
  }

  /** Takes in one engine event (its `t` is the run clock). */
  observe(event: EngineEvent): void {
    if (this.#stopped) return;
    if (this.#origin === undefined) {
      this.#origin = timelineStartAfter(undefined, event);
      if (this.#origin !== undefined) {
        this.#deadline = null;
        this.tick(event.t);
        this.#report();
      }
    }
    switch (event.type) {
      case "peer-status": {
        const shown = event.status === "failed" && event.address !== undefined
          ? `failed|${event.address}`
          : event.status;
        this.#status.set(event.peer, shown);
        for (const check of this.#open("status", event.peer, event.t, event.status)) {
          this.#meet(check, event.peer, event.t);
        }
        return;
      }
      case "peer-log": {
        const lines = this.#lines.get(event.peer) ?? [];
        lines.push(`${event.level} ${event.message}`);
        if (lines.length > EVIDENCE_LINES) lines.shift();
        this.#lines.set(event.peer, lines);
        // Checks sharing a pattern share a bucket: the line is matched once per distinct one.
        const matches = (source: string) => compileLogPattern(source).test(event.message);
        for (const check of this.#open("log", event.peer, event.t, matches)) {
          this.#meet(check, event.peer, event.t);
        }
        const severity = severityOf(event.level);
        const reported = (level: string) => isReported(severity, level as Severity);
        for (const check of this.#open("no_log", event.peer, event.t, reported)) {
          this.#decide(check, false, event.t, [
            `${event.peer} logged at ${event.level}: ${event.message}`,
            ...this.#lastLines(event.peer),
          ]);
        }
        return;
      }
    }
  }

  /** Decides what the clock decides at `t` (run clock): windows that opened or closed. */
  tick(t: number): void {
    if (this.#origin === undefined || this.#stopped) return;
    const now = t - this.#origin;
    for (const check of this.#checks) {
      if (check.decision) continue;
      if (!check.opened && check.afterMs !== undefined && now >= check.afterMs) {
        check.opened = true;
        this.#deadline = null;
        for (const peer of check.peers) {
          if (this.#status.get(peer)?.split("|")[0] === check.config.status) {
            this.#meet(check, peer, t);
          }
        }
      }
      if (check.decision || check.byMs === undefined || now < check.byMs) continue;
      if (atEndOfWindow(check.predicate)) this.#closeWindow(check, t);
    }
  }

  /**
   * The run went to its end: every check still open is decided now, `restarts` and `exit_code`
   * from the peers' final summaries; every outcome is reported.
   */
  finish(t: number, peers: readonly PeerSummary[]): void {
    if (this.#stopped) return;
    const byName = new Map(peers.map((peer) => [peer.peer, peer]));
    for (const check of this.#checks) {
      if (check.decision) continue;
      if (check.predicate === "restarts" || check.predicate === "exit_code") {
        const wrong = check.peers.flatMap((name) => {
          const peer = byName.get(name);
          const seen = peer && endState(check.config, peer);
          return seen?.ok ? [] : [seen?.text ?? `${name} was not part of the run`];
        });
        this.#decide(check, wrong.length === 0, t, limited(wrong));
      } else {
        this.#closeWindow(check, t);
      }
    }
    this.stop(t);
  }

  /**
   * No more decisions (the run halted, or finished): what is decided but not reported yet is
   * reported now, with `t` standing for the timeline's 0 if the timeline never started.
   */
  stop(t: number): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#origin ??= t;
    this.#report();
  }

  /**
   * The checks of `predicate` about `peer`, undecided and not met by it, whose window holds `t`
   * (run clock) and whose value (status, pattern, level) the event `fits`.
   */
  #open(
    predicate: ExpectPredicate,
    peer: string,
    t: number,
    fits: string | ((value: string) => boolean),
  ): Pending[] {
    const now = this.#origin === undefined ? -Infinity : t - this.#origin;
    const inWindow = (check: Pending) =>
      (check.afterMs === undefined || now >= check.afterMs) &&
      (check.byMs === undefined || now <= check.byMs);
    return this.#index.find(predicate, peer, fits).filter(inWindow);
  }

  #meet(check: Pending, peer: string, t: number): void {
    check.met.add(peer);
    this.#index.met(check, peer);
    if (check.met.size === check.wanted.size) this.#decide(check, true, t);
  }

  /** The window of a `status`, `log` or `no_log` check closed with it still undecided. */
  #closeWindow(check: Pending, t: number): void {
    if (check.predicate === "no_log") return this.#decide(check, true, t);
    if (check.met.size === check.wanted.size) return this.#decide(check, true, t);
    const missing = check.peers.filter((name) => !check.met.has(name));
    const evidence = missing.slice(0, EVIDENCE_PEERS).flatMap((peer) => [
      `${peer}: last status ${this.#status.get(peer) ?? "none"}`,
      ...this.#lastLines(peer),
    ]);
    if (missing.length > EVIDENCE_PEERS) {
      evidence.push(`… and ${missing.length - EVIDENCE_PEERS} more peers`);
    }
    this.#decide(check, false, t, evidence);
  }

  #lastLines(peer: string): string[] {
    return (this.#lines.get(peer) ?? []).map((line) => `  ${line}`);
  }

  #decide(check: Pending, passed: boolean, t: number, evidence?: string[]): void {
    if (check.decision) return;
    check.decision = { passed, t, ...(passed ? {} : { evidence: evidence ?? [] }) };
    this.#deadline = null;
    this.#unreported.push(check);
    this.#index.remove(check);
    if (!passed) {
      const { atMs: _, ...outcome } = this.#outcome(check);
      this.#options.failed?.(outcome);
    }
    this.#report();
  }

  /** Reports the decisions taken, once the timeline's 0 is known. */
  #report(): void {
    if (this.#origin === undefined) return;
    // In file order, as before the timeline's 0 was known; one at a time once it is.
    const due = this.#unreported.sort((a, b) => a.index - b.index);
    this.#unreported = [];
    for (const check of due) {
      if (check.reported) continue;
      check.reported = true;
      this.#options.decided(this.#outcome(check));
    }
  }

  #outcome(check: Pending): CheckOutcome {
    const decision = check.decision!;
    return {
      index: check.index,
      description: check.description,
      peers: [...check.peers],
      passed: decision.passed,
      atMs: decision.t - (this.#origin ?? decision.t),
      ...(decision.evidence ? { evidence: decision.evidence } : {}),
      ...(check.config.known !== undefined ? { known: check.config.known } : {}),
    };
  }
}

/** Where a check is filed: `"*"` for every peer (one entry, not one per peer). */
const EVERY_PEER = "*";

/**
 * The undecided event-driven checks by predicate, peer (or `"*"`) and value (the status, the
 * pattern's source, the level): an event costs the distinct values open for its peer plus the
 * checks it meets, never the check count (10,000 checks on a run's main thread).
 */
class CheckIndex {
  readonly #buckets = new Map<ExpectPredicate, Map<string, Map<string, Set<Pending>>>>();

  add(check: Pending): void {
    const byPeer = this.#buckets.get(check.predicate) ?? new Map();
    this.#buckets.set(check.predicate, byPeer);
    for (const peer of filedUnder(check)) {
      const byValue = byPeer.get(peer) ?? new Map<string, Set<Pending>>();
      byPeer.set(peer, byValue);
      const value = valueOf(check);
      const bucket = byValue.get(value);
      if (bucket) bucket.add(check);
      else byValue.set(value, new Set([check]));
    }
  }

  /**
   * The checks filed for `peer` whose value `fits` (one value, or a test run once per value),
   * not met by `peer` yet.
   */
  find(
    predicate: ExpectPredicate,
    peer: string,
    fits: string | ((value: string) => boolean),
  ): Pending[] {
    const found: Pending[] = [];
    for (const who of [peer, EVERY_PEER]) {
      const byValue = this.#buckets.get(predicate)?.get(who);
      if (!byValue) continue;
      const buckets = typeof fits === "string"
        ? [byValue.get(fits)]
        : [...byValue].flatMap(([value, bucket]) => fits(value) ? [bucket] : []);
      for (const bucket of buckets) {
        for (const check of bucket ?? []) {
          if (check.wanted.has(peer) && !check.met.has(peer)) found.push(check);
        }
      }
    }
    return found;
  }

  /** `peer` met `check`: a check naming peers stops being looked up for it. */
  met(check: Pending, peer: string): void {
    if (check.config.peer !== EVERY_PEER) this.#delete(check, peer);
  }

  /** `check` was decided. */
  remove(check: Pending): void {
    for (const peer of filedUnder(check)) this.#delete(check, peer);
  }

  #delete(check: Pending, peer: string): void {
    const byValue = this.#buckets.get(check.predicate)?.get(peer);
    const value = valueOf(check);
    const bucket = byValue?.get(value);
    if (!bucket) return;
    bucket.delete(check);
    if (bucket.size === 0) byValue!.delete(value);
  }
}

function filedUnder(check: Pending): Iterable<string> {
  return check.config.peer === EVERY_PEER ? [EVERY_PEER] : check.wanted;
}

function valueOf(check: Pending): string {
  return check.config.status ?? check.config.log ?? check.config.no_log ?? "";
}

/** How a run's verdict names a failed check: `check #2 failed: bob reports status connected`. */
export function failedCheck(check: Pick<CheckOutcome, "index" | "description">): string {
  return `check #${check.index} failed: ${check.description}`;
}

/** The predicate a validated check carries. */
export function predicateOf(check: ExpectConfig): ExpectPredicate {
  if (check.status !== undefined) return "status";
  if (check.log !== undefined) return "log";
  if (check.no_log !== undefined) return "no_log";
  if (check.restarts !== undefined) return "restarts";
  return "exit_code";
}

/** Whether a check's `by` deadline decides it (the others wait for the run's end). */
function atEndOfWindow(predicate: ExpectPredicate): boolean {
  return predicate === "status" || predicate === "log" || predicate === "no_log";
}

/** A peer's end state against a `restarts` or `exit_code` check, as one evidence line. */
function endState(check: ExpectConfig, peer: PeerSummary): { ok: boolean; text: string } {
  const { peer: name } = peer;
  if (check.restarts !== undefined) {
    return {
      ok: peer.restarts === check.restarts,
      text: `${name} restarted ${peer.restarts} time${peer.restarts === 1 ? "" : "s"}`,
    };
  }
  const ok = peer.exitCode === check.exit_code;
  if (peer.exitCode === undefined) {
    return { ok, text: `${name} did not exit on its own (tm's cleanup ended it)` };
  }
  if (peer.exitCode === null) return { ok, text: `${name} was killed by a signal` };
  return { ok, text: `${name} exited with code ${peer.exitCode}` };
}

/** At most EVIDENCE_PEERS lines, the rest counted. */
function limited(lines: string[]): string[] {
  if (lines.length <= EVIDENCE_PEERS) return lines;
  return [
    ...lines.slice(0, EVIDENCE_PEERS),
    `… and ${lines.length - EVIDENCE_PEERS} more peers`,
  ];
}

/**
 * One line saying what a check expects: `bob reports status connected by 12 s`,
 * `alice and bob each exit with code 0`, `every peer logs nothing at error or worse`.
 */
export function describeCheck(check: ExpectConfig): string {
  const list = typeof check.peer === "string" ? [check.peer] : check.peer;
  const many = check.peer !== "*" && list.length > 1;
  const who = check.peer === "*"
    ? "every peer"
    : many
    ? `${list.slice(0, -1).join(", ")} and ${list.at(-1)} each`
    : list[0];
  const verb = (word: string) => many ? word : `${word}s`;
  const window = check.after !== undefined && check.by !== undefined
    ? ` between ${formatSeconds(check.after)} and ${formatSeconds(check.by)}`
    : check.by !== undefined
    ? ` by ${formatSeconds(check.by)}`
    : check.after !== undefined
    ? ` after ${formatSeconds(check.after)}`
    : "";
  switch (predicateOf(check)) {
    case "status":
      return `${who} ${verb("report")} status ${check.status}${window}`;
    case "log":
      return `${who} ${verb("log")} a line matching /${check.log}/${window}`;
    case "no_log":
      return `${who} ${verb("log")} nothing at ${check.no_log} or worse${window}`;
    case "restarts":
      return `${who} ${verb("restart")} exactly ${check.restarts} time${
        check.restarts === 1 ? "" : "s"
      }`;
    case "exit_code":
      return `${who} ${verb("exit")} with code ${check.exit_code}`;
  }
}
