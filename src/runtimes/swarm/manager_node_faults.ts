/**
 * Faults and the nodes tm cannot reach. A peer on a node without a `nodes:` entry (allowed with
 * `registry:`) runs where tm has no engine and no shell: it can be neither paused nor killed nor
 * shaped. A test whose timeline puts a fault on such a peer is refused before anything starts
 * (`refuseFaultsOnManagedNodes`, exit 2, naming the fault and the node), and a fault typed by
 * hand during the run is refused the same way (`NodeBoundFaults`): never a silent no-op. A
 * `heal` is the exception: a peer no fault could reach has nothing to heal.
 */
import type { Config } from "../../plan/schema.ts";
import type { PlacedPeer } from "../../plan/placement.ts";
import { UsageError } from "../../base/errors.ts";
import { buildTimeline, isTimelineFault } from "../../engine/timeline.ts";
import type { FaultControl, FaultName, NetworkShaping, RunningPeer } from "../../engine/runtime.ts";

/** A fault targets a peer on a node tm cannot reach. */
export class FaultOnUnreachableNodeError extends UsageError {
  constructor(readonly fault: FaultName, readonly peer: string, readonly node: string) {
    super(
      `fault ${fault} on ${peer} cannot be done: ${peer} runs on node ${node}, whose engine tm ` +
        `cannot reach (faults need the node's engine and shell): give ${node} under nodes: ` +
        `(its SSH fields), or place ${peer} on a node tm reaches (runs_on)`,
    );
    this.name = "FaultOnUnreachableNodeError";
  }
}

/**
 * Throws for the first timeline fault (in timeline order) acting on a peer placed on one of
 * `unreachable` (host names); a `heal` acts on nothing there.
 * @throws FaultOnUnreachableNodeError
 */
export function refuseFaultsOnManagedNodes(
  config: Config,
  plan: readonly PlacedPeer[],
  unreachable: ReadonlySet<string>,
): void {
  if (unreachable.size === 0) return;
  const hostOf = new Map(plan.map((p) => [p.peer, p.host]));
  const timeline = buildTimeline(config.commands, plan.map((p) => p.peer));
  for (const fault of timeline.filter(isTimelineFault)) {
    if (fault.fault === "heal") continue;
    for (const peer of [...fault.peers, ...(fault.groups ?? []).flat()]) {
      const host = hostOf.get(peer);
      if (host !== undefined && unreachable.has(host)) {
        throw new FaultOnUnreachableNodeError(fault.fault, peer, host);
      }
    }
  }
}

/**
 * A `FaultControl` that refuses every fault on a peer of an unreachable node (a fault typed by
 * hand: the timeline's were refused before the run) and passes the others to `inner`. A heal
 * skips those peers: nothing was ever applied to them.
 */
export class NodeBoundFaults implements FaultControl {
  constructor(
    readonly inner: FaultControl,
    /** The node a peer runs on, if tm cannot reach it; undefined otherwise. */
    readonly unreachableNodeOf: (peer: string) => string | undefined,
  ) {}

  /** `act`, unless one of `peers` is on a node tm cannot reach: then a rejection naming it. */
  async #guard<T>(fault: FaultName, peers: readonly string[], act: () => Promise<T>): Promise<T> {
    for (const peer of peers) {
      const node = this.unreachableNodeOf(peer);
      if (node !== undefined) throw new FaultOnUnreachableNodeError(fault, peer, node);
    }
    return await act();
  }

  preflight(
    needs: ReadonlyMap<string, ReadonlySet<FaultName>>,
    signal: AbortSignal,
  ): Promise<void> {
    return this.inner.preflight(needs, signal);
  }

  pause(peer: string, signal: AbortSignal): Promise<void> {
    return this.#guard("pause", [peer], () => this.inner.pause(peer, signal));
  }

  resume(peer: string, signal: AbortSignal): Promise<void> {
    return this.#guard("resume", [peer], () => this.inner.resume(peer, signal));
  }

  kill(peer: string, signal: AbortSignal): Promise<void> {
    return this.#guard("kill", [peer], () => this.inner.kill(peer, signal));
  }

  start(peer: string, signal: AbortSignal): Promise<RunningPeer> {
    return this.#guard("start", [peer], () => this.inner.start(peer, signal));
  }

  shape(peer: string, shaping: NetworkShaping, signal: AbortSignal): Promise<void> {
    return this.#guard(shapingKind(shaping), [peer], () => this.inner.shape(peer, shaping, signal));
  }

  partition(groups: readonly (readonly string[])[], signal: AbortSignal): Promise<void> {
    return this.#guard("partition", groups.flat(), () => this.inner.partition(groups, signal));
  }

  heal(peers: readonly string[] | "all", signal: AbortSignal): Promise<void> {
    if (peers === "all") return this.inner.heal(peers, signal);
    const reachable = peers.filter((peer) => this.unreachableNodeOf(peer) === undefined);
    return reachable.length > 0 ? this.inner.heal(reachable, signal) : Promise.resolve();
  }
}

/** The fault kind a shaping stands for (the one field it sets), for the refusal's wording. */
function shapingKind(shaping: NetworkShaping): FaultName {
  if (shaping.lossPercent !== undefined) return "loss";
  if (shaping.rateKbit !== undefined) return "rate";
  return "delay";
}
