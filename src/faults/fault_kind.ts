/**
 * What a fault kind is: one value of one protocol (as Jepsen's nemeses are), read by every part
 * of tm that deals with faults, so that a kind is added as one file in `kinds/` plus one line in
 * `kinds.ts` (and, if it needs a new primitive, that primitive in each runtime's `FaultControl`):
 * - the test file: its entry's schema (`src/plan/schema.ts` builds the timeline's union from them);
 * - validation: whom it targets and the timeline-order rule (`fault_checks.ts`);
 * - the engine: what it asks the runtime to do (`src/engine/fault_injector.ts`);
 * - the runtimes' preflight: the host tools it needs;
 * - the text: its one-line wording; the docs: docs/config.md's fault table (a test checks it).
 */
import type { z } from "zod";
import type { FaultAction } from "../engine/events.ts";
import type { FaultControl, RunningPeer } from "../engine/runtime.ts";

/** What a peer is at a point of the timeline, as far as faults are concerned. */
export type PeerCondition = "running" | "paused" | "killed";

/** A host tool a fault needs beyond Docker (checked by the runtime's preflight). */
export type FaultTool =
  /** `tc`/`nsenter` in the peer's network namespace (HTB, pfifo, u32, bpf). */
  | "traffic-control"
  /** the kernel's `sch_netem` qdisc. */
  | "netem";

/** The engine's bookkeeping a container fault reports to (`src/engine/fault_injector.ts`). */
export interface FaultHooks {
  /** Before a kill: its exit is expected. */
  killing(peer: string): void;
  /** A kill that failed for another reason than the peer being gone: the exit is not expected. */
  killFailed(peer: string): void;
  /**
   * Before a killed peer is started again: resolves once its kill's exit is recorded, the peer
   * then counting as relaunched, so a `started` it reports before the start returns is its new one.
   */
  starting(peer: string, signal: AbortSignal): Promise<void>;
  /** The start failed: the peer is back to exited. */
  startFailed(peer: string): void;
  /** A killed peer runs again. */
  started(peer: string, running: RunningPeer): void;
}

/** What applying a fault is given. */
export interface FaultApplication {
  control: FaultControl;
  hooks: FaultHooks;
  /** Every peer of the plan (`heal` of all of them heals everything). */
  allPeers: readonly string[];
  signal: AbortSignal;
}

/** How a kind asks the runtime to do it: on each peer at once, or once for the whole action. */
export type FaultApply =
  | {
    scope: "peer";
    /** Does the fault on one peer; throws `FaultTargetGoneError` if it is gone. */
    run(peer: string, action: FaultAction, on: FaultApplication): Promise<void>;
  }
  | {
    scope: "action";
    run(action: FaultAction, on: FaultApplication): Promise<void>;
  };

/** The timeline-order rule: what a peer must be for the fault, and what it is afterwards. */
export interface FaultOrder {
  /**
   * Why the fault cannot act on `peer` in `condition` (set by the entry `by`, e.g.
   * `commands[3] at 5s`), or undefined if it can.
   */
  refuse(peer: string, condition: PeerCondition, by: string): string | undefined;
  /** The peer's condition after it; undefined: unchanged. */
  leaves?: PeerCondition;
}

/** The schema of a fault kind's timeline entry: a strict object with `time` and `fault: <name>`. */
export type FaultEntrySchema = z.ZodObject<{ time: z.ZodNumber; fault: z.ZodLiteral<string> }>;

/** One fault kind; its entry is what `schema` outputs. */
export interface FaultKind<
  Schema extends FaultEntrySchema = FaultEntrySchema,
  Entry extends z.output<Schema> = z.output<Schema>,
> {
  name: Entry["fault"];
  /** Its entry in the test file. */
  schema: Schema;
  /** `network`: done on the peer's traffic and undone by `heal`; `container`: on the peer itself. */
  acts: "network" | "container";
  /**
   * Whom it names: `required` (`peer` or `peers`), `optional` (none means every peer),
   * `groups` (lists of peers, in `groups`).
   */
  targets: "required" | "optional" | "groups";
  /** Host tools it needs. */
  tools: readonly FaultTool[];
  order: FaultOrder;
  /** What the entry sets beyond its targets: `shaping` for the network shapers, `groups`. */
  details(entry: Entry): Pick<FaultAction, "shaping" | "groups">;
  /** What it does, in one line (`on` is its peers, already listed): `loss 5% on bob`. */
  sentence(action: FaultAction, on: string, list: (peers: readonly string[]) => string): string;
  apply: FaultApply;
  /** Undoes every network fault of its peers (the heal guarantee counts on it). */
  heals?: true;
}

/** A kind, typed by its schema: `defineFault({...})` checks the record against its entry. */
export function defineFault<Schema extends FaultEntrySchema>(
  kind: FaultKind<Schema>,
): FaultKind<Schema> {
  return kind;
}
