/**
 * The console at scale (plain, and the lines above the live area): a run of 1,000 peers would
 * print 1,000 `started` lines, 1,000 commands and 1,000 `stopped` lines, phase after phase, and
 * bury what went wrong. With more peers than `peerLinesUpTo`, each phase's routine peer lines (a
 * status set, a launch, a bootstrap or shutdown command, an expected exit) are counted instead of
 * printed, and the phase ends with one line of counts (`starting done in 6.0s: 1000/1000
 * started`). Printed one by one, up to `listed` of each kind a phase, then counted (`… and 2980
 * more peer warnings in timeline`): a peer's warnings, its errors (a crash with its output, an
 * error it logged, a `failed` status), and the timeline's commands (the test's own steps). Each kind has its own
 * bound, so a flood of warnings cannot hide a crash. Lines about no single peer (phases, hosts,
 * images, faults, checks) pass unchanged. The log file and the run record keep every line.
 * Pure: it only sees the events and the lines they made.
 */
import type { EngineEvent, Phase } from "../engine/events.ts";
import { severityOf } from "../text/severity.ts";
import { formatDuration, plural } from "../text/quantities.ts";
import type { RunLine } from "./run_state.ts";

/** Options of `PhaseDigest`. */
export interface PhaseDigestOptions {
  /** A run with at most this many peers prints every peer line (default 40). */
  peerLinesUpTo?: number;
  /**
   * Peer warning lines, peer error lines and timeline commands printed per phase, each, before
   * they are only counted (default 20).
   */
  listed?: number;
}

/** The kinds of peer line listed up to a bound: warnings, errors, timeline commands. */
type Listed = "warn" | "error" | "command";

/** What one phase saw, counted. */
interface PhaseTally {
  phase: Phase | null;
  since: number;
  /** Per status word (`started` of `started|<address>`), the peers that set it, in first order. */
  statuses: Map<string, Set<string>>;
  launched: number;
  sent: number;
  undelivered: number;
  exited: number;
  crashed: number;
  warnings: number;
  errors: number;
  /** Lines printed, and those only counted, of each kind listed up to a bound. */
  shown: Record<Listed, number>;
  hidden: Record<Listed, number>;
}

function newTally(phase: Phase | null, since: number): PhaseTally {
  return {
    phase,
    since,
    statuses: new Map(),
    launched: 0,
    sent: 0,
    undelivered: 0,
    exited: 0,
    crashed: 0,
    warnings: 0,
    errors: 0,
    shown: { warn: 0, error: 0, command: 0 },
    hidden: { warn: 0, error: 0, command: 0 },
  };
}

/** Folds events and their lines into the lines a plain console prints at scale. */
export class PhaseDigest {
  readonly #peerLinesUpTo: number;
  readonly #listed: number;
  #peers = 0;
  #tally = newTally(null, 0);
  /** Whether the last peer problem was printed: a crash's output lines follow its crash line. */
  #lastProblemShown = true;

  constructor(options: PhaseDigestOptions = {}) {
    this.#peerLinesUpTo = options.peerLinesUpTo ?? 40;
    this.#listed = options.listed ?? 20;
  }

  /** Whether the run is large enough to be digested (known from `run-started`). */
  get active(): boolean {
    return this.#peers > this.#peerLinesUpTo;
  }

  /**
   * The lines to print for `event`, given the lines it made (`lines`, in order): at a phase's
   * start or the run's end, the closing line of the phase before comes first.
   */
  take(event: EngineEvent, lines: readonly RunLine[]): RunLine[] {
    if (event.type === "run-started") this.#peers = event.plan.length;
    if (!this.active) return [...lines];
    const out: RunLine[] = [];
    if (event.type === "phase" || event.type === "run-finished") {
      out.push(...this.close(event.t));
      this.#tally = newTally(event.type === "phase" ? event.phase : null, event.t);
    }
    this.#count(event);
    for (const line of lines) {
      if (line.peer === undefined) {
        out.push(line);
        continue;
      }
      const severity = severityOf(line.level);
      if (line.kind === "output") {
        if (this.#lastProblemShown) out.push(line);
      } else if (severity === "warn" || severity === "error") {
        this.#lastProblemShown = this.#list(severity, line, out);
      } else if (event.type === "peer-status" && statusWord(event.status) === "failed") {
        // A peer reporting `failed` fails the run: listed with the errors, not only counted.
        this.#lastProblemShown = this.#list("error", line, out);
      } else if (event.type === "command-sent" && event.index !== undefined) {
        this.#list("command", line, out);
      }
      // Anything else about one peer is routine: counted in the phase's line, not printed.
    }
    return out;
  }

  /** Prints `line` if its kind is still under the bound this phase, else counts it. */
  #list(kind: Listed, line: RunLine, out: RunLine[]): boolean {
    const shown = this.#tally.shown[kind] < this.#listed;
    if (shown) {
      this.#tally.shown[kind]++;
      out.push(line);
    } else {
      this.#tally.hidden[kind]++;
    }
    return shown;
  }

  #count(event: EngineEvent): void {
    const tally = this.#tally;
    switch (event.type) {
      case "peer-status": {
        const word = statusWord(event.status);
        let peers = tally.statuses.get(word);
        if (!peers) tally.statuses.set(word, peers = new Set());
        peers.add(event.peer);
        break;
      }
      case "peer-launched":
        tally.launched++;
        break;
      case "command-sent":
        tally.sent++;
        break;
      case "command-undeliverable":
        tally.undelivered++;
        break;
      case "peer-exited":
        if (event.expected) tally.exited++;
        else tally.crashed++;
        break;
      case "peer-log": {
        const severity = severityOf(event.level);
        if (severity === "warn") tally.warnings++;
        else if (severity === "error") tally.errors++;
        break;
      }
    }
  }

  /**
   * The closing lines of the phase that ends at `t`: what was not listed, then its counts. Called
   * by `take` at each phase and at `run-finished`; a console closed before then calls it itself.
   * Idempotent: a phase is closed once.
   */
  close(t: number): RunLine[] {
    const tally = this.#tally;
    this.#tally = newTally(tally.phase, t);
    if (!this.active) return [];
    const counts = [
      ...[...tally.statuses].map(([word, peers]) => `${peers.size}/${this.#peers} ${word}`),
      ...(tally.launched ? [`${tally.launched} launched`] : []),
      ...(tally.sent ? [`${tally.sent} ${tally.sent === 1 ? "command" : "commands"} sent`] : []),
      ...(tally.undelivered ? [`${tally.undelivered} not delivered`] : []),
      ...(tally.exited ? [`${tally.exited} exited`] : []),
      ...(tally.crashed ? [`${tally.crashed} crashed`] : []),
      ...(tally.warnings ? [plural(tally.warnings, "warning")] : []),
      ...(tally.errors ? [plural(tally.errors, "error")] : []),
    ];
    const name = tally.phase ?? "run";
    const out: RunLine[] = [];
    const line = (text: string, level: string): RunLine => ({
      seq: -1,
      t,
      kind: "run",
      level,
      text,
      audience: "always",
    });
    const { warn, error, command } = tally.hidden;
    if (warn + error + command > 0) {
      const more = [
        ...(error ? [plural(error, "more peer error")] : []),
        ...(warn ? [plural(warn, "more peer warning")] : []),
        ...(command ? [plural(command, "more timeline command")] : []),
      ];
      out.push(line(
        `… and ${more.join(", ")} in ${name} (the log file has each)`,
        error ? "error" : "warn",
      ));
    }
    if (counts.length > 0) {
      out.push(
        line(`${name} done in ${formatDuration(t - tally.since)}: ${counts.join(", ")}`, "info"),
      );
    }
    return out;
  }
}

/** `failed` of `failed|<reason>`: the status word before the first `|`. */
function statusWord(status: string): string {
  return status.split("|")[0];
}
