/**
 * The view model of a run, folded from engine events: what the console and the TUI show.
 *
 * `applyEvent(state, event)` is deterministic and does no I/O; it updates `state` in place (and
 * returns it) so that 50,000 log lines per second do not copy buffers. Views re-render from the
 * state on a throttled schedule (see `run_store.ts`).
 */
import type {
  CheckOutcome,
  EngineEvent,
  EventOf,
  PeerSummary,
  Phase,
  TimelineCommand,
  Verdict,
} from "../engine/events.ts";
import { batchTimeline } from "../engine/timeline.ts";
import {
  applyPeerEvent,
  newPeerFacts,
  type PeerFacts,
  timelineStartAfter,
} from "../history/peer_facts.ts";
import type { PlacedPeer } from "../plan/placement.ts";
import { severityOf } from "../text/severity.ts";
import { escapeControlsIn } from "../text/terminal_text.ts";
import { LineBuffer } from "./line_buffer.ts";
import { eventSentence, faultSentence, shipLabel } from "../text/event_text.ts";
import { formatDuration, formatRate, rate } from "../text/quantities.ts";

/** What a permanent line is about; views pick colours and markers from it. */
export type LineKind =
  | "run"
  | "phase"
  | "redis"
  | "host"
  | "image"
  | "peer" // peer lifecycle seen by the orchestrator: starting, launched, exited
  | "status"
  | "command"
  | "fault" // a fault tm did (or failed to do): delay, partition, pause, kill, ...
  | "log"
  | "warning"
  | "error"
  | "trace"
  | "check" // an expectation decided
  | "output"; // a line of a crashed peer's stdout/stderr, or a failed check's evidence

/**
 * Who sees a line: `always` everywhere; `verbose` only with --verbose in the console (the TUI
 * shows everything); `progress` is a milestone the interactive console shows as a live bar instead.
 */
export type LineAudience = "always" | "verbose" | "progress";

/** One permanent line of what happened. */
export interface RunLine {
  seq: number;
  /** Run time, ms. */
  t: number;
  kind: LineKind;
  /** The peer the line is about; absent for orchestrator lines. */
  peer?: string;
  /** `debug`, `info`, `warn`, `error`, or a peer's own level verbatim. */
  level: string;
  /** What happened (`eventSentence`): no time, peer name or marker (`<`, `>` are the views'). */
  text: string;
  audience: LineAudience;
}

/** Where a peer is in its life, as far as the orchestrator knows. */
export type PeerLifecycle = "pending" | "starting" | "running" | "exited";

export interface PeerView {
  name: string;
  host: string;
  port: number;
  image: string;
  state: PeerLifecycle;
  /** Last status the peer SET (`started`, `connected`, …), null before the first. */
  status: string | null;
  /** Bootstrap address from `started|<address>`. */
  address?: string;
  /** Run time of the last state or status change, ms. */
  since: number;
  restarts: number;
  warnings: number;
  errors: number;
  lastLog?: { t: number; level: string; message: string };
  /** Set once the container exited. */
  exit?: { code: number | null; expected: boolean };
  /** What the events say of it, by the rules every view shares (history/peer_facts.ts). */
  facts: PeerFacts;
}

export interface HostView {
  name: string;
  address: string;
  /** `lost`: the connection dropped mid-run and tm is reconnecting (or gave up). */
  state: "connecting" | "connected" | "lost";
  since: number;
  /** Connection time once connected. */
  ms?: number;
}

export interface PullView {
  image: string;
  state: "started" | "done" | "failed";
  since: number;
  detail?: string;
}

export interface TransferView {
  image: string;
  host: string;
  state: "started" | "progress" | "done" | "failed" | "skipped";
  bytes: number;
  total?: number;
  startedAt: number;
  updatedAt: number;
  /** Average rate since the start, bytes/s. */
  rate: number;
  detail?: string;
  /** Quarter milestones already reported (0..3 for 25/50/75 %). */
  quarters: number;
}

/**
 * One timeline entry as the views show it. A fault's `peer` is empty and its `command` is what
 * it does (`faultSentence`), marked by `fault`.
 */
export interface TimelineEntryView extends TimelineCommand {
  /** A fault tm does itself, not a command sent to a peer. */
  fault?: boolean;
  /** Run time it was sent, ms. */
  sentAt?: number;
  /** Send time minus due time, ms. */
  lateMs?: number;
  /** Why it could not be delivered. */
  undeliverable?: string;
  /** Typed by hand while the run went (the TUI's `:` prompt), not in the test file. */
  manual?: boolean;
}

/** A batch of the engine's timeline (`batchTimeline`): commands due at the same instant. */
export interface TimelineBatchView {
  /** Due time in ms after the timeline starts, as the engine sends it. */
  dueMs: number;
  entries: TimelineEntryView[];
}

export interface RunFinished {
  verdict: Verdict;
  exitCode: number;
  reason?: string;
  durationMs: number;
  peers: PeerSummary[];
  /** Every check decided, in file order. */
  checks: CheckOutcome[];
  /** Run time of the event. */
  t: number;
}

export interface RunState {
  test: string;
  runId: string;
  /** The test's seed, printed in the summary so the run can be repeated. */
  seed?: number;
  logFile?: string;
  /** The run record's directory, if one is written. */
  recordDir?: string;
  /** What each chaos entry drew, and from which seed (run-started); absent without chaos. */
  chaos?: { seed: number; faults: number }[];
  plan: PlacedPeer[];
  /** Width of the longest peer name in the plan, for alignment. */
  nameWidth: number;
  phase: Phase | null;
  phaseSince: number;
  redisUrl?: string;
  hosts: HostView[];
  pulls: PullView[];
  transfers: TransferView[];
  /** In plan order (sorted by name). */
  peers: PeerView[];
  /** The same peers by name. */
  peersByName: Map<string, PeerView>;
  batches: TimelineBatchView[];
  /** Run time the timeline started (phase `timeline`, refined by the first send), ms. */
  timelineStart?: number;
  /** Index of the first batch not completely sent (== batches.length when all are). */
  nextBatch: number;
  /** The timeline entries indexed, so each send is found in O(1) (1,000 in a batch). */
  timelineIndex: TimelineIndex;
  lines: LineBuffer<RunLine>;
  /** Run time of the newest event, ms. */
  lastT: number;
  /** Warnings and errors, orchestrator and peers together. */
  warnings: number;
  errors: number;
  /** Containers cleanup could not remove, per host, with why (`left-behind` events). */
  leftBehind: { host: string; containers: string[]; reason: string; remove?: string }[];
  /** The checks decided so far (`check-decided`), in the order they were decided. */
  checks: CheckOutcome[];
  /** Timeline entries typed by hand (`manual-entry`): a steered run says so in its summary. */
  manualEntries: number;
  /** Set by `run-finished`. */
  finished?: RunFinished;
}

/** A timeline entry and the batch it is in. */
interface PlacedEntry {
  entry: TimelineEntryView;
  batch: number;
}

/** The timeline entries by index and by `peer`+`command`, and each batch's open entries. */
export interface TimelineIndex {
  byIndex: Map<number, PlacedEntry>;
  /** Keyed `<peer>\0<command>`, in batch order (for sends reported without an index). */
  byCommand: Map<string, PlacedEntry[]>;
  /** Per batch, the entries neither sent nor undeliverable yet. */
  open: number[];
}

function indexTimeline(batches: TimelineBatchView[]): TimelineIndex {
  const index: TimelineIndex = { byIndex: new Map(), byCommand: new Map(), open: [] };
  batches.forEach((batch, b) => {
    index.open.push(batch.entries.filter(isOpen).length);
    for (const entry of batch.entries) {
      const placed = { entry, batch: b };
      index.byIndex.set(entry.index, placed);
      const key = `${entry.peer}\0${entry.command}`;
      let same = index.byCommand.get(key);
      if (!same) index.byCommand.set(key, same = []);
      same.push(placed);
    }
  });
  return index;
}

/** Options of `createRunState`. */
export interface RunStateOptions {
  /** How many lines are kept (default 10,000). */
  lineCapacity?: number;
}

export function createRunState(options: RunStateOptions = {}): RunState {
  return {
    test: "",
    runId: "",
    plan: [],
    nameWidth: 0,
    phase: null,
    phaseSince: 0,
    hosts: [],
    pulls: [],
    transfers: [],
    peers: [],
    peersByName: new Map(),
    batches: [],
    nextBatch: 0,
    timelineIndex: indexTimeline([]),
    lines: new LineBuffer<RunLine>(options.lineCapacity ?? 10_000),
    lastT: 0,
    warnings: 0,
    errors: 0,
    leftBehind: [],
    checks: [],
    manualEntries: 0,
  };
}

/** Folds a list of events into a fresh state (tests and replays). */
export function foldEvents(events: Iterable<EngineEvent>, options?: RunStateOptions): RunState {
  const state = createRunState(options);
  for (const event of events) applyEvent(state, event);
  return state;
}

/**
 * Applies one event to `state` (in place) and returns it. Text from outside (statuses, log lines,
 * docker output, messages quoting them) is stored escaped, so no view can print it raw.
 */
export function applyEvent(state: RunState, unsafe: EngineEvent): RunState {
  const event = escapeControlsIn(unsafe);
  state.lastT = Math.max(state.lastT, event.t);
  state.timelineStart = timelineStartAfter(state.timelineStart, event);
  if (event.type !== "run-started") applyPeerEvent(event, (name) => peerOf(state, name).facts);
  const line = (
    kind: LineKind,
    level: string,
    text: string = eventSentence(event),
    extra: { peer?: string; audience?: LineAudience } = {},
  ) =>
    state.lines.push({
      t: event.t,
      kind,
      level,
      text,
      peer: extra.peer,
      audience: extra.audience ?? "always",
    });

  switch (event.type) {
    case "run-started": {
      state.test = event.test;
      state.runId = event.runId;
      state.seed = event.seed;
      state.logFile = event.logFile;
      state.recordDir = event.recordDir;
      state.chaos = event.chaos;
      state.plan = event.plan;
      state.nameWidth = Math.max(0, ...event.plan.map((p) => p.peer.length));
      state.peers = event.plan.map((p) => ({
        name: p.peer,
        host: p.host,
        port: p.port,
        image: p.image,
        state: "pending",
        status: null,
        since: event.t,
        restarts: 0,
        warnings: 0,
        errors: 0,
        facts: newPeerFacts(),
      }));
      state.peersByName = new Map(state.peers.map((p) => [p.name, p]));
      // The engine's batches, so the views group commands exactly as they are sent.
      const entries = [...event.timeline, ...(event.faults ?? [])].sort((a, b) =>
        a.index - b.index
      );
      state.batches = batchTimeline(entries).map((batch) => ({
        dueMs: batch.dueMs,
        entries: [
          ...batch.commands.map((command): TimelineEntryView => ({ ...command })),
          ...batch.faults.map(({ index, time, ...action }): TimelineEntryView => ({
            index,
            time,
            peer: "",
            command: faultSentence(action),
            fault: true,
          })),
        ].sort((a, b) => a.index - b.index),
      }));
      state.nextBatch = 0;
      state.timelineIndex = indexTimeline(state.batches);
      line("run", "info");
      break;
    }
    case "phase":
      state.phase = event.phase;
      state.phaseSince = event.t;
      line("phase", "info");
      break;
    case "redis-ready":
      state.redisUrl = event.url;
      line("redis", "info");
      break;
    case "host-connecting": {
      const host = findOrAdd(state.hosts, (h) => h.name === event.host, () => ({
        name: event.host,
        address: event.address,
        state: "connecting" as const,
        since: event.t,
      }));
      host.state = "connecting";
      host.since = event.t;
      line("host", "info", undefined, { audience: "verbose" });
      break;
    }
    case "host-connected": {
      const host = findOrAdd(state.hosts, (h) => h.name === event.host, () => ({
        name: event.host,
        address: event.address,
        state: "connected" as const,
        since: event.t,
      }));
      host.state = "connected";
      host.since = event.t;
      host.ms = event.ms;
      line("host", "info");
      break;
    }
    case "host-lost": {
      const host = state.hosts.find((h) => h.name === event.host);
      if (host) {
        host.state = "lost";
        host.since = event.t;
      }
      state.warnings++;
      line("warning", "warn");
      break;
    }
    case "host-reconnected": {
      const host = state.hosts.find((h) => h.name === event.host);
      if (host) {
        host.state = "connected";
        host.since = event.t;
      }
      line("host", "info");
      break;
    }
    case "left-behind":
      state.errors++;
      state.leftBehind.push({
        host: event.host,
        containers: event.containers,
        reason: event.reason,
        ...(event.remove !== undefined ? { remove: event.remove } : {}),
      });
      line("error", "error");
      break;
    case "image-pull": {
      const pull = findOrAdd(state.pulls, (p) => p.image === event.image, () => ({
        image: event.image,
        state: event.state,
        since: event.t,
      } as PullView));
      const startedAt = pull.since;
      pull.state = event.state;
      pull.detail = event.detail;
      if (event.state === "started") {
        pull.since = event.t;
        line("image", "info", undefined, { audience: "progress" });
      } else if (event.state === "done") {
        line("image", "info", `${eventSentence(event)} (${formatDuration(event.t - startedAt)})`);
      } else {
        line("image", "error");
      }
      break;
    }
    case "image-transfer":
      applyTransfer(state, event, line);
      break;
    case "image-skipped": {
      const transfer = findOrAdd(
        state.transfers,
        (x) => x.image === event.image && x.host === event.host,
        () => newTransfer(event.image, event.host, event.t),
      );
      transfer.state = "skipped";
      transfer.detail = event.reason;
      // Said at normal verbosity, as a shipment is: one line per image and host.
      line("image", "info");
      break;
    }
    case "image-shipped":
      line("image", "info");
      break;
    case "peer-starting": {
      const peer = peerOf(state, event.peer, event.host);
      peer.state = "starting";
      peer.since = event.t;
      line("peer", "info", undefined, { peer: event.peer, audience: "verbose" });
      break;
    }
    case "peer-launched": {
      const peer = peerOf(state, event.peer, event.host);
      if (peer.state === "pending") peer.state = "starting";
      line("peer", "info", undefined, { peer: event.peer, audience: "verbose" });
      break;
    }
    case "peer-status": {
      const peer = peerOf(state, event.peer);
      peer.state = "running";
      peer.status = event.status;
      peer.since = event.t;
      if (event.address !== undefined) peer.address = event.address;
      peer.restarts = peer.facts.restarts;
      peer.exit = undefined;
      line("status", event.status === "restarting" ? "warn" : "info", undefined, {
        peer: event.peer,
      });
      break;
    }
    case "peer-log": {
      const peer = peerOf(state, event.peer);
      peer.lastLog = { t: event.t, level: event.level, message: event.message };
      const severity = severityOf(event.level);
      if (severity === "warn") {
        peer.warnings++;
        state.warnings++;
      } else if (severity === "error") {
        peer.errors++;
        state.errors++;
      }
      line("log", event.level, undefined, {
        peer: event.peer,
        audience: severity === "warn" || severity === "error" ? "always" : "verbose",
      });
      break;
    }
    case "peer-exited": {
      const peer = peerOf(state, event.peer);
      peer.state = "exited";
      peer.since = event.t;
      peer.exit = { code: event.code, expected: event.expected };
      if (event.expected) {
        line("peer", "info", undefined, { peer: event.peer, audience: "verbose" });
      } else {
        line("peer", "error", undefined, { peer: event.peer });
        for (const output of event.output ?? []) {
          line("output", "error", output, { peer: event.peer });
        }
      }
      break;
    }
    case "command-sent": {
      if (event.index !== undefined) markSent(state, event);
      const bulkShutdown = event.index === undefined && event.command === "shutdown";
      line("command", "info", undefined, {
        peer: event.peer,
        audience: bulkShutdown ? "verbose" : "always",
      });
      break;
    }
    case "command-undeliverable": {
      markUndeliverable(state, event);
      state.warnings++;
      peerOf(state, event.peer).warnings++;
      line("command", "warn", undefined, { peer: event.peer });
      break;
    }
    case "manual-entry": {
      state.manualEntries++;
      insertManual(state, event.entry);
      line("fault" in event.entry ? "fault" : "command", "info");
      break;
    }
    case "fault-applied": {
      const placed = event.index === undefined
        ? undefined
        : state.timelineIndex.byIndex.get(event.index);
      if (placed) {
        settle(state, placed, (entry) => {
          entry.sentAt = event.t;
          entry.lateMs = event.lateMs;
        });
      }
      line("fault", "info");
      break;
    }
    case "fault-failed": {
      const placed = event.index === undefined
        ? undefined
        : state.timelineIndex.byIndex.get(event.index);
      if (placed) settle(state, placed, (entry) => entry.undeliverable = event.reason);
      if (event.targetGone) state.warnings++;
      else state.errors++;
      line("fault", event.targetGone ? "warn" : "error");
      break;
    }
    case "warning":
      state.warnings++;
      if (event.peer !== undefined) peerOf(state, event.peer).warnings++;
      line("warning", "warn", undefined, { peer: event.peer });
      break;
    case "error":
      state.errors++;
      if (event.peer !== undefined) peerOf(state, event.peer).errors++;
      line("error", "error", undefined, { peer: event.peer });
      break;
    case "trace":
      line("trace", "debug", undefined, { audience: "verbose" });
      break;
    case "check-decided":
      state.checks.push(event.check);
      line("check", event.check.passed ? "info" : "error");
      for (const evidence of event.check.evidence ?? []) line("output", "error", evidence);
      break;
    case "run-finished":
      state.finished = {
        verdict: event.verdict,
        exitCode: event.exitCode,
        reason: event.reason,
        durationMs: event.durationMs,
        peers: event.peers,
        checks: event.checks,
        t: event.t,
      };
      break;
  }
  return state;
}

/** Run time, ms, a timeline batch is due; undefined before the timeline started. */
export function batchDueAt(state: RunState, batch: TimelineBatchView): number | undefined {
  return state.timelineStart === undefined ? undefined : state.timelineStart + batch.dueMs;
}

function markSent(state: RunState, event: EventOf<"command-sent">) {
  const placed = event.index === undefined
    ? undefined
    : state.timelineIndex.byIndex.get(event.index);
  if (!placed) return;
  settle(state, placed, (entry) => {
    entry.sentAt = event.t;
    entry.lateMs = event.lateMs;
  });
}

function markUndeliverable(state: RunState, event: EventOf<"command-undeliverable">) {
  const { byIndex, byCommand } = state.timelineIndex;
  const placed = event.index !== undefined
    ? byIndex.get(event.index)
    : byCommand.get(`${event.peer}\0${event.command}`)?.find(({ entry }) => isOpen(entry));
  if (!placed) return;
  settle(state, placed, (entry) => entry.undeliverable = event.reason);
}

/**
 * A manual entry as a batch of its own, in due-time order among the scripted ones. Typed by
 * hand, so rare: the index is rebuilt around it.
 */
function insertManual(state: RunState, entry: EventOf<"manual-entry">["entry"]) {
  const dueMs = Math.round(entry.time * 1_000);
  const view: TimelineEntryView = "fault" in entry
    ? {
      index: entry.index,
      time: entry.time,
      peer: "",
      command: faultSentence(entry),
      fault: true,
      manual: true,
    }
    : { ...entry, manual: true };
  let at = state.batches.findIndex((batch) => batch.dueMs > dueMs);
  if (at < 0) at = state.batches.length;
  state.batches.splice(at, 0, { dueMs, entries: [view] });
  if (at < state.nextBatch) state.nextBatch++;
  state.timelineIndex = indexTimeline(state.batches);
}

function isOpen(entry: TimelineEntryView): boolean {
  return entry.sentAt === undefined && entry.undeliverable === undefined;
}

/** Applies `change` to an entry; when that closes it, its batch has one open entry less. */
function settle(state: RunState, placed: PlacedEntry, change: (entry: TimelineEntryView) => void) {
  const wasOpen = isOpen(placed.entry);
  change(placed.entry);
  if (!wasOpen || isOpen(placed.entry)) return;
  const { open } = state.timelineIndex;
  open[placed.batch]--;
  while (state.nextBatch < state.batches.length && open[state.nextBatch] === 0) {
    state.nextBatch++;
  }
}

function newTransfer(image: string, host: string, t: number): TransferView {
  return {
    image,
    host,
    state: "started",
    bytes: 0,
    startedAt: t,
    updatedAt: t,
    rate: 0,
    quarters: 0,
  };
}

function applyTransfer(
  state: RunState,
  event: EventOf<"image-transfer">,
  line: (kind: LineKind, level: string, text?: string, extra?: { audience?: LineAudience }) => void,
) {
  const transfer = findOrAdd(
    state.transfers,
    (x) => x.image === event.image && x.host === event.host,
    () => newTransfer(event.image, event.host, event.t),
  );
  if (event.state === "started") {
    Object.assign(transfer, newTransfer(event.image, event.host, event.t));
  }
  transfer.state = event.state;
  transfer.bytes = event.bytes;
  if (event.total !== undefined) transfer.total = event.total;
  transfer.updatedAt = event.t;
  transfer.rate = rate(transfer.bytes, event.t - transfer.startedAt);
  transfer.detail = event.detail;
  switch (event.state) {
    case "started":
      line("image", "info", undefined, { audience: "progress" });
      break;
    case "progress": {
      // The console's milestones; the progress events themselves are the live bar.
      if (!transfer.total) break;
      const quarters = Math.min(3, Math.floor((4 * transfer.bytes) / transfer.total));
      while (transfer.quarters < quarters) {
        transfer.quarters++;
        line("image", "info", `${shipLabel(event.image, event.host)}: ${transfer.quarters * 25}%`, {
          audience: "progress",
        });
      }
      break;
    }
    case "done":
      // The shipment's own line (image-shipped) says what was sent at normal verbosity.
      line(
        "image",
        "info",
        `${eventSentence(event)} (${formatDuration(event.t - transfer.startedAt)}${
          transfer.rate > 0 ? `, ${formatRate(transfer.rate)}` : ""
        })`,
        { audience: "verbose" },
      );
      break;
    case "failed":
      line("image", "error");
      break;
  }
}

/** The peer's view; a peer missing from the plan (should not happen) is added at the end. */
function peerOf(state: RunState, name: string, host = "?"): PeerView {
  let peer = state.peersByName.get(name);
  if (!peer) {
    state.nameWidth = Math.max(state.nameWidth, name.length);
    peer = {
      name,
      host,
      port: 0,
      image: "",
      state: "pending" as const,
      status: null,
      since: state.lastT,
      restarts: 0,
      warnings: 0,
      errors: 0,
      facts: newPeerFacts(),
    };
    state.peers.push(peer);
    state.peersByName.set(name, peer);
  }
  return peer;
}

function findOrAdd<T>(items: T[], predicate: (item: T) => boolean, create: () => T): T {
  const found = items.find(predicate);
  if (found) return found;
  const item = create();
  items.push(item);
  return item;
}
