/**
 * The engine's event union: everything a run reports, for the console, the TUI and the log file.
 *
 * The engine never prints; it calls the `EventSink` it was given. Every event carries `t`,
 * milliseconds since the run started on a monotonic clock, stamped by the engine.
 */
import type { PlacedPeer } from "../plan/placement.ts";
import type { FaultName, NetworkShaping } from "./runtime.ts";

/** Phases of a run, in order (docs/architecture.md, "A run, step by step"). */
export type Phase =
  | "redis" // starting Redis (or connecting to --redis-url), enabling notifications
  | "hosts" // connecting to every host
  | "images" // pulling and shipping images
  | "starting" // starting containers, waiting for every `started`
  | "bootstrap" // sending `peer|<address>` commands
  | "timeline" // sending the timed commands
  | "shutdown" // `shutdown` sent, waiting for every `stopped`
  | "cleanup"; // removing containers, images, Redis

/** Peer log levels as peers send them; anything else is kept verbatim as the level. */
export type PeerLogLevel = "debug" | "info" | "warn" | "error" | (string & Record<never, never>);

export type Verdict = "passed" | "failed" | "interrupted";

/** One timeline entry, as the run will send it. */
export interface TimelineCommand {
  /** Index in the sorted timeline. */
  index: number;
  /** Seconds after the timeline starts. */
  time: number;
  peer: string;
  command: string;
}

/** A fault tm does itself (docs/config.md, "Faults"), as the engine runs it. */
export interface FaultAction {
  fault: FaultName;
  /** The peers it acts on, `"*"` expanded (a `heal` without targets: every peer). */
  peers: string[];
  /** `partition` only: the groups, no traffic between them. */
  groups?: string[][];
  /** `delay`, `loss` and `rate`: what it sets. */
  shaping?: NetworkShaping;
}

/** One fault entry of the timeline; `index` shares the numbering of the timeline's commands. */
export interface TimelineFault extends FaultAction {
  /** Index in the sorted timeline (commands and faults together). */
  index: number;
  /** Seconds after the timeline starts. */
  time: number;
}

/**
 * One expectation of the test file's `expect:` list, once decided (docs/config.md, "Expectations").
 * Decided as soon as its outcome is certain; a check with no `by` is decided at the end of the run.
 */
export interface CheckOutcome {
  /** Position in the config's `expect:` list. */
  index: number;
  /** One line saying what was expected, e.g. `bob reports status connected by 12 s`. */
  description: string;
  /** The peers it is about, `"*"` expanded. */
  peers: string[];
  passed: boolean;
  /**
   * When it was decided, ms on the timeline clock (the clock of `commands[].time`: 0 when the
   * timeline starts; negative before it).
   */
  atMs: number;
  /** For a failure: what was seen instead (the last status, the last lines of a peer's log). */
  evidence?: string[];
  /** The check's `known:` (a link or text): a known failure (src/engine/known_failures.ts). */
  known?: string;
}

/** Final state of one peer, for summaries. */
export interface PeerSummary {
  peer: string;
  host: string;
  status: string | null;
  restarts: number;
  warnings: number;
  errors: number;
  /** Exit code if the peer's process/container exited on its own. */
  exitCode?: number | null;
  /** The reason of a `failed|<reason>` status (`""` for a bare `failed`); absent if it never failed. */
  failure?: string;
  /** A `kill` fault ended it and no `start` ran it again: not asked to stop, not a failure. */
  killedByFault?: true;
}

export type EngineEvent =
  & { t: number }
  & (
    | {
      type: "run-started";
      test: string;
      runId: string;
      /** The test's seed (docs/config.md, "Groups"): the same file and seed plan the same run. */
      seed?: number;
      plan: PlacedPeer[];
      timeline: TimelineCommand[];
      /** The timeline's faults, their indexes among `timeline`'s; absent when it has none. */
      faults?: TimelineFault[];
      /**
       * Each `chaos` entry: the seed it drew from and how many faults it drew (docs/config.md,
       * "Chaos"); absent when the test has none.
       */
      chaos?: { seed: number; faults: number }[];
      /** Path of the log file, if one is written. */
      logFile?: string;
      /** The run record's directory, if one is written (docs/run-record.md). */
      recordDir?: string;
      /** `--strict-known`: a known failure that passes fails the run. */
      strictKnown?: true;
    }
    | { type: "phase"; phase: Phase }
    /** `url` has its password masked (`redis://user:***@host`). */
    | { type: "redis-ready"; url: string }
    | { type: "host-connecting"; host: string; address: string }
    | { type: "host-connected"; host: string; address: string; ms: number }
    /** A host passed its checks (Docker answers); `docker` is its engine's version. */
    | { type: "host-ready"; host: string; docker: string }
    /** The connection to a host dropped mid-run; tm reconnects for up to `giveUpMs`. */
    | { type: "host-lost"; host: string; reason: string; giveUpMs: number }
    /** Connected again after an outage of `outageMs`; watching resumes where it stopped. */
    | { type: "host-reconnected"; host: string; outageMs: number; attempts: number }
    | { type: "image-pull"; image: string; state: "started" | "done" | "failed"; detail?: string }
    /** Shipping progress of one image to one host; emitted repeatedly, throttled. */
    | {
      type: "image-transfer";
      image: string;
      host: string;
      bytes: number;
      /** Uncompressed image size if known. */
      total?: number;
      state: "started" | "progress" | "done" | "failed";
      detail?: string;
    }
    | { type: "image-skipped"; image: string; host: string; reason: string }
    /**
     * What shipping one image to one host did: `sent` bytes of the archive whose whole (every
     * layer in it) is `total` bytes, `held` of its `layers` left out because the host held them,
     * or `whole`: why it was sent every layer.
     */
    | {
      type: "image-shipped";
      image: string;
      host: string;
      sent: number;
      total: number;
      layers: number;
      held: number;
      ms: number;
      whole?: string;
    }
    | { type: "peer-starting"; peer: string; host: string }
    | {
      type: "peer-launched";
      peer: string;
      host: string;
      id?: string;
      /** ID of the image it runs (`sha256:…`), if the runtime knows it. */
      imageId?: string;
    }
    /** A peer SET its status. `address` is everything after the first `|` of a `started|…`. */
    | {
      type: "peer-status";
      peer: string;
      status: string;
      previous: string | null;
      address?: string;
    }
    | { type: "peer-log"; peer: string; level: PeerLogLevel; message: string }
    /** The peer's process/container ended. `expected` is true after `stopped` during shutdown. */
    | {
      type: "peer-exited";
      peer: string;
      code: number | null;
      expected: boolean;
      /** Last lines of its stdout/stderr (docker logs), oldest first. */
      output?: string[];
      /**
       * When each line of `output` was written (RFC 3339, the engine's clock; "" unknown), so
       * that a report places the output at its time rather than at the exit.
       */
      outputAt?: string[];
    }
    /**
     * The last lines of an expected exit's output, read after `peer-exited` was reported (the
     * Docker runtime reports an exit before it reads them). A crash carries its own.
     */
    | { type: "peer-output"; peer: string; output: string[]; outputAt?: string[] }
    | {
      type: "command-sent";
      peer: string;
      command: string;
      /** Timeline index, absent for bootstrap and shutdown commands. */
      index?: number;
      /** Due time in ms since the timeline started (timeline commands only). */
      dueMs?: number;
      /**
       * Dispatch time minus due time, ms (timeline commands only): taken when the timer (and its
       * busy-wait) released the batch, before its RPUSH is written. The time Redis acknowledged
       * it comes later, in `commands-acknowledged`.
       */
      lateMs?: number;
    }
    /**
     * Redis acknowledged the RPUSH pipeline of one timeline batch (emitted after its
     * `command-sent` events; not for bootstrap and shutdown commands, nor when the send failed).
     */
    | {
      type: "commands-acknowledged";
      /** Timeline indexes of the batch's commands that were sent, in order. */
      indexes: number[];
      /** Due time in ms since the timeline started. */
      dueMs: number;
      /** Acknowledgement received by tm minus due time, ms, on the monotonic clock. */
      ackLateMs: number;
    }
    | {
      type: "command-undeliverable";
      peer: string;
      command: string;
      reason: string;
      /** Timeline index, absent for bootstrap and shutdown commands (lets the TUI mark the entry). */
      index?: number;
    }
    /**
     * A fault took effect: its FaultControl operation returned. From the timeline (`index`,
     * `dueMs`, `lateMs`), or the heal guarantee (no index; `detail` says when: before shutdown,
     * after a failure, on an interrupt).
     */
    | {
      type: "fault-applied";
      action: FaultAction;
      /** Timeline index; absent for the heal guarantee. */
      index?: number;
      /** Due time in ms since the timeline started (timeline faults only). */
      dueMs?: number;
      /** When the operation returned minus the due time, ms, on the monotonic clock. */
      lateMs?: number;
      /** Why tm did it, for faults not on the timeline (`before shutdown`). */
      detail?: string;
    }
    /**
     * A fault could not be done. `targetGone` (its peer's container or host is gone): a warning,
     * the run goes on; otherwise the run fails.
     */
    | {
      type: "fault-failed";
      action: FaultAction;
      index?: number;
      dueMs?: number;
      reason: string;
      targetGone: boolean;
      detail?: string;
    }
    /**
     * A timeline entry typed by hand while the run goes (the TUI's `:` prompt), accepted and
     * dispatched at once through the timeline; `entry.index` follows the scripted entries'.
     */
    | {
      type: "manual-entry";
      manual: true;
      entry: TimelineCommand | TimelineFault;
      /** What was typed. */
      input: string;
    }
    /** An expectation was decided (passed or failed); sent once per check. */
    | { type: "check-decided"; check: CheckOutcome }
    /** Cleanup could not remove these containers of the run: they are still on the host. */
    | {
      type: "left-behind";
      host: string;
      containers: string[];
      reason: string;
      /** The command that removes them; absent: `docker rm -f <containers>` (`removalCommand`). */
      remove?: string;
    }
    /** With `host`, views show `<host>: <message>`: the message itself does not name the host. */
    | { type: "warning"; message: string; peer?: string; host?: string }
    | { type: "error"; message: string; peer?: string; host?: string }
    /**
     * Orchestrator trace: shown with --verbose (on stderr) and written to the log file when
     * `level` (default `info`) is reported at the config's `log_level`.
     */
    | { type: "trace"; message: string; level?: "info" | "debug" | "trace" }
    | {
      type: "run-finished";
      verdict: Verdict;
      exitCode: 0 | 1 | 2 | 130;
      /** Why the run failed or was interrupted; one line. */
      reason?: string;
      durationMs: number;
      peers: PeerSummary[];
      /** Every check of `expect:`, in file order; one never decided (run halted first) is absent. */
      checks: CheckOutcome[];
    }
  );

export type EngineEventType = EngineEvent["type"];

/** Narrow the union to one member by its `type`. */
export type EventOf<K extends EngineEventType> = Extract<EngineEvent, { type: K }>;

/** Distributes an event without its timestamp; the engine stamps `t`. */
export type UnstampedEvent = EngineEvent extends infer E ? E extends unknown ? Omit<E, "t"> : never
  : never;

/** Receives engine events. Must not throw and must not block (do I/O asynchronously). */
export type EventSink = (event: EngineEvent) => void;

/** Sends each event to every sink, in order; a throwing sink does not stop the others. */
export function fanout(...sinks: EventSink[]): EventSink {
  return (event) => {
    for (const sink of sinks) {
      try {
        sink(event);
      } catch (error) {
        try {
          console.error(`event sink failed on ${event.type}:`, error);
        } catch {
          // stderr is gone too (the terminal closed): the other sinks must still get the event.
        }
      }
    }
  };
}
