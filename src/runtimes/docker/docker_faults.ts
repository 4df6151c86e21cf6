/**
 * DockerFaults: the Docker runtime's `FaultControl` (docs/config.md, "Faults"). Container faults
 * are Engine API calls on the peer's host (`pause`, `unpause`, `kill` with SIGKILL, `start`): one
 * round trip on a kept-alive channel. Network faults are a `tc` tree (traffic_control.ts) on the
 * peer container's interface, built from the host by `nsenter -t <pid> -n` in one script per peer
 * through the host's long-lived shell (the pid from the API): the image needs no tools and no
 * capabilities, and the tree dies with the container's namespace, so nothing is left on a host.
 *
 * The faults in force (each peer's shaping, the partition's groups) are kept here, and every
 * change rebuilds the whole tree of each peer it touches from them: `shape` merges with what
 * was set before, `partition` replaces the last one, `heal` forgets a peer's faults, and a peer
 * started again after `kill` (a new namespace, a new container address) gets them back. Network
 * faults on different peers (on different hosts) run at once; one peer's run in the order they
 * were asked, and a partition or heal, which rewrites the trees of every peer it groups, waits
 * for all the others before it and holds them all (`KeyedOrder`), so no rebuilds interleave.
 */
import { KeyedOrder } from "../../base/keyed_order.ts";
import {
  type FaultControl,
  type FaultName,
  FaultTargetGoneError,
  type NetworkShaping,
  type RunningPeer,
} from "../../engine/runtime.ts";
import { errorMessage } from "../../base/errors.ts";
import { type DockerEngine, EngineApiError } from "./engine_api.ts";
import type { HostCommands } from "../../transport/host_shell.ts";
import { preflightFaults, PRIVILEGE_PRELUDE } from "./fault_preflight.ts";
import {
  type HostAddress,
  parseHostAddresses,
  partitionBlocks,
  type PeerEndpoint,
} from "./partition_rules.ts";
import { RemoteError } from "../../transport/remote.ts";
import { type BlockedDestination, egressBatch, PEER_DEVICE } from "./traffic_control.ts";

/** A started peer, as the faults need it. */
export interface FaultPeer {
  peer: string;
  /** Its host's display name. */
  host: string;
  container: string;
  /** The UDP port published on its host. */
  port: number;
  /** The TCP port of the Redis it reports to (kept out of network faults). */
  redisPort: number;
  /** The address it advertises to other peers (its ADVERTISE_IP); null when it has none. */
  advertised: string | null;
  /** Its host's Engine API. */
  engine: DockerEngine;
  /** Its host's shell, for the network faults' tools. */
  shell: HostCommands;
}

/** What DockerFaults needs of the runtime. */
export interface DockerFaultSeam {
  /** The peer as started; undefined when it never started or its host is not connected. */
  locate(peer: string): FaultPeer | undefined;
  /** The shell of each connected host, by display name. */
  hosts(): ReadonlyMap<string, HostCommands>;
  /** Starts a killed peer's container again, its exit watched as at its first start. */
  startAgain(peer: string, signal: AbortSignal): Promise<RunningPeer>;
  /** Reports a problem that does not undo what was done (a warning event). */
  warn(message: string, host: string): void;
}

/** A network fault command failed on a host for another reason than a gone container. */
export class NetworkFaultError extends Error {
  constructor(
    readonly host: string,
    /** What failed: `the network faults of alice`, `listing the host's addresses`. */
    readonly action: string,
    /** What the host printed on stderr, trimmed. */
    readonly stderr: string,
  ) {
    super(`${host}: ${action} failed: ${stderr || "no output"}`);
    this.name = "NetworkFaultError";
  }
}

/** Exit code of the fault script when the container is gone or not running. */
const GONE = 3;

/**
 * Rebuilds a peer's tree. `$1`: the container's pid on the host (from the Engine API), `$2`: the
 * `tc -batch` lines (empty: only remove). A root qdisc that is not there makes `del` fail: that
 * is the healed state, so it is ignored. A pid gone meanwhile (the container died) is `GONE`.
 */
const REBUILD_SCRIPT = `${PRIVILEGE_PRELUDE}
[ "$S" != none ] || { echo "network faults need root or passwordless sudo -n" >&2; exit 4; }
[ -e "/proc/$1/ns/net" ] || { echo "the container is not running" >&2; exit ${GONE}; }
$S nsenter -t "$1" -n tc qdisc del dev ${PEER_DEVICE} root 2>/dev/null
[ -z "$2" ] || printf '%s\\n' "$2" | $S nsenter -t "$1" -n tc -batch -`;

export class DockerFaults implements FaultControl {
  readonly #seam: DockerFaultSeam;
  /** Each peer's shaping in force. */
  readonly #shaping = new Map<string, NetworkShaping>();
  /** The partition in force; empty when none. */
  #groups: string[][] = [];
  /** Peers whose tree may hold something: what `heal("all")` clears. */
  readonly #touched = new Set<string>();
  /**
   * Each running peer's bridge address and gateway, asked once per container run (a partition
   * after the first then costs one round trip per host); forgotten at `kill` and `start`.
   */
  readonly #networks = new Map<string, ContainerNetwork>();
  /** Each host's own addresses, asked once per run. */
  readonly #hostAddresses = new Map<string, Promise<HostAddress[]>>();
  /** Orders the rebuilds: by peer, a partition or heal over all of them. */
  readonly #order = new KeyedOrder();

  constructor(seam: DockerFaultSeam) {
    this.#seam = seam;
  }

  preflight(
    needs: ReadonlyMap<string, ReadonlySet<FaultName>>,
    signal: AbortSignal,
  ): Promise<void> {
    return preflightFaults(this.#seam.hosts(), needs, signal);
  }

  pause(peer: string, signal: AbortSignal): Promise<void> {
    return this.#container(peer, (engine, container) => engine.pause(container, signal));
  }

  resume(peer: string, signal: AbortSignal): Promise<void> {
    return this.#container(peer, (engine, container) => engine.unpause(container, signal));
  }

  kill(peer: string, signal: AbortSignal): Promise<void> {
    this.#networks.delete(peer);
    return this.#container(peer, (engine, container) => engine.kill(container, "KILL", signal));
  }

  async start(peer: string, signal: AbortSignal): Promise<RunningPeer> {
    const target = this.#locate(peer);
    this.#networks.delete(peer);
    let running: RunningPeer;
    try {
      running = await this.#seam.startAgain(peer, signal);
    } catch (error) {
      throw this.#gone(target, error) ?? error;
    }
    // A new namespace: the faults in force apply to it again (and its new container address
    // to the partition rules of the others). The peer runs whatever happens here: a failure is
    // a warning, and a peer gone meanwhile has nothing to apply.
    const inPartition = this.#groups.some((group) => group.includes(peer));
    if (inPartition || this.#shaping.has(peer)) {
      try {
        await (inPartition
          ? this.#order.run("all", () => this.#rebuildPartition([], signal), signal)
          : this.#order.run([peer], () => this.#rebuild([peer], signal), signal));
      } catch (error) {
        if (!(error instanceof FaultTargetGoneError)) {
          this.#seam.warn(
            `${peer} started again, but the network faults in force could not be applied to ` +
              `it: ${errorMessage(error)}`,
            target.host,
          );
        }
      }
    }
    return running;
  }

  async shape(peer: string, shaping: NetworkShaping, signal: AbortSignal): Promise<void> {
    this.#locate(peer);
    await this.#order.run([peer], async () => {
      const merged = { ...this.#shaping.get(peer) };
      for (const [key, value] of Object.entries(shaping) as [keyof NetworkShaping, number][]) {
        if (value !== undefined) merged[key] = value;
      }
      this.#shaping.set(peer, merged);
      const blocks = this.#groups.length > 0 ? await this.#blocks(signal) : new Map();
      await this.#rebuild([peer], signal, blocks);
    }, signal);
  }

  async partition(groups: readonly (readonly string[])[], signal: AbortSignal): Promise<void> {
    for (const peer of groups.flat()) this.#locate(peer);
    await this.#order.run("all", () => {
      const before = this.#groups.flat();
      this.#groups = groups.map((group) => [...group]);
      return this.#rebuildPartition(before, signal);
    }, signal);
  }

  heal(peers: readonly string[] | "all", signal: AbortSignal): Promise<void> {
    return this.#order.run("all", async () => {
      const healed = peers === "all"
        ? [...new Set([...this.#touched, ...this.#shaping.keys(), ...this.#groups.flat()])]
        : [...peers];
      const inPartition = new Set(this.#groups.flat());
      for (const peer of healed) this.#shaping.delete(peer);
      this.#groups = this.#groups.map((group) => group.filter((peer) => !healed.includes(peer)))
        .filter((group) => group.length > 0);
      if (this.#groups.length < 2) this.#groups = [];
      // The others' rules toward a healed peer go too: rebuild every peer the partition held.
      const affected = new Set(healed.filter((peer) => this.#touched.has(peer)));
      if (healed.some((peer) => inPartition.has(peer))) {
        for (const peer of inPartition) affected.add(peer);
      }
      const blocks = this.#groups.length > 0 ? await this.#blocks(signal) : new Map();
      try {
        await this.#rebuild([...affected], signal, blocks);
      } catch (error) {
        // A gone peer has nothing left to heal.
        if (!(error instanceof FaultTargetGoneError)) throw error;
      }
    }, signal);
  }

  /** After `groups` changed: rebuilds the trees of the peers in the old and new partition. */
  async #rebuildPartition(before: string[], signal: AbortSignal): Promise<void> {
    const peers = new Set([...before, ...this.#groups.flat()]);
    const blocks = this.#groups.length > 0 ? await this.#blocks(signal) : new Map();
    await this.#rebuild([...peers], signal, blocks);
  }

  /** What each grouped peer must not reach, from its host's and Docker's answers. */
  async #blocks(signal: AbortSignal): Promise<Map<string, BlockedDestination[]>> {
    // The groups as they are now: a shape running beside this one reads them too.
    const groups = this.#groups;
    const located = groups.flat().map((peer) => this.#seam.locate(peer))
      .filter((found): found is FaultPeer => found !== undefined);
    const byHost = Map.groupBy(located, (found) => found.host);
    const endpoints = new Map<string, PeerEndpoint>();
    await Promise.all([...byHost].map(async ([host, peers]) => {
      const unknown = peers.filter((p) => !this.#networks.has(p.peer));
      const [addresses, inspected] = await Promise.all([
        this.#addressesOf(host, peers[0].shell, signal),
        unknown.length === 0
          ? new Map<string, ContainerNetwork>()
          : inspectNetworks(peers[0].engine, unknown.map((p) => p.container), signal),
      ]);
      for (const found of unknown) {
        const container = inspected.get(found.container);
        if (container?.address) this.#networks.set(found.peer, container);
      }
      for (const found of peers) {
        const container = this.#networks.get(found.peer);
        endpoints.set(found.peer, {
          host,
          hostAddresses: addresses,
          port: found.port,
          containerAddress: container?.address ?? null,
          gateway: container?.gateway ?? null,
          advertised: found.advertised,
        });
      }
    }));
    return partitionBlocks(groups, endpoints);
  }

  #addressesOf(host: string, shell: HostCommands, signal: AbortSignal): Promise<HostAddress[]> {
    let addresses = this.#hostAddresses.get(host);
    if (!addresses) {
      addresses = shell.execute(["ip", "-o", "-4", "addr", "show"], {
        signal,
      }).then((result) => {
        if (result.code !== 0) {
          throw new NetworkFaultError(host, "listing the host's addresses", result.stderr.trim());
        }
        return parseHostAddresses(result.stdout);
      });
      addresses.catch(() => this.#hostAddresses.delete(host));
      this.#hostAddresses.set(host, addresses);
    }
    return addresses;
  }

  /**
   * Rebuilds the tree of each peer from the faults in force, all at once (a host's scripts
   * issued together go out as one). Throws the first failure once all are done, a gone peer's
   * `FaultTargetGoneError` last.
   */
  async #rebuild(
    peers: string[],
    signal: AbortSignal,
    blocks: ReadonlyMap<string, BlockedDestination[]> = new Map(),
  ): Promise<void> {
    const results = await Promise.allSettled(peers.map(async (peer) => {
      const target = this.#locate(peer);
      const batch = egressBatch({
        shaping: this.#shaping.get(peer) ?? {},
        blocked: blocks.get(peer) ?? [],
        redisPort: target.redisPort,
      });
      let result;
      try {
        const { pid, running } = await target.engine.inspect(target.container, signal);
        if (!running || pid <= 0) {
          throw new FaultTargetGoneError(
            peer,
            `${peer}: container ${target.container} is not running`,
          );
        }
        result = await target.shell.execute(
          ["sh", "-c", REBUILD_SCRIPT, "sh", String(pid), batch.join("\n")],
          { signal },
        );
      } catch (error) {
        if (error instanceof FaultTargetGoneError) throw error;
        throw this.#gone(target, error) ?? error;
      }
      if (result.code === GONE) {
        throw new FaultTargetGoneError(peer, `${peer}: ${result.stderr.trim()}`);
      }
      if (result.code !== 0) {
        const action = `the network faults of ${peer}`;
        throw new NetworkFaultError(target.host, action, result.stderr.trim());
      }
      if (batch.length > 0) this.#touched.add(peer);
      else this.#touched.delete(peer);
    }));
    const failures = results.flatMap((r) => r.status === "rejected" ? [r.reason] : []);
    const real = failures.find((error) => !(error instanceof FaultTargetGoneError));
    if (real || failures.length > 0) throw real ?? failures[0];
  }

  /** An Engine API call on a peer's container; a gone container is a `FaultTargetGoneError`. */
  async #container(
    peer: string,
    call: (engine: DockerEngine, container: string) => Promise<void>,
  ): Promise<void> {
    const target = this.#locate(peer);
    try {
      await call(target.engine, target.container);
    } catch (error) {
      throw this.#gone(target, error) ?? error;
    }
  }

  #locate(peer: string): FaultPeer {
    const found = this.#seam.locate(peer);
    if (!found) {
      throw new FaultTargetGoneError(
        peer,
        `${peer}: not running (never started, or its host is lost)`,
      );
    }
    return found;
  }

  /** The error as a `FaultTargetGoneError` when it says the target is gone; else undefined. */
  #gone(target: FaultPeer, error: unknown): FaultTargetGoneError | undefined {
    if (
      error instanceof RemoteError || (error instanceof EngineApiError && error.status === null)
    ) {
      return new FaultTargetGoneError(target.peer, `${target.peer}: ${errorMessage(error)}`);
    }
    if (/no such container|is not running/i.test(errorMessage(error))) {
      return new FaultTargetGoneError(
        target.peer,
        `${target.peer}: container ${target.container} is gone or not running`,
      );
    }
    return undefined;
  }
}

/** A running container's address and gateway on its bridge. */
interface ContainerNetwork {
  address: string | null;
  gateway: string | null;
}

/** The containers' bridge addresses, asked of the Engine API at once; missing ones absent. */
async function inspectNetworks(
  engine: DockerEngine,
  containers: string[],
  signal: AbortSignal,
): Promise<Map<string, ContainerNetwork>> {
  const found = new Map<string, ContainerNetwork>();
  await Promise.all(containers.map(async (container) => {
    try {
      const { address, gateway } = await engine.inspect(container, signal);
      found.set(container, { address, gateway });
    } catch (error) {
      if (!(error instanceof EngineApiError && error.status === 404)) throw error;
    }
  }));
  return found;
}
