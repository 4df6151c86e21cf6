/**
 * A swarm's nodes as the run's hosts (docs/config.md, "Docker Swarm"): one host entry per ready,
 * active node, named by its label `tm.name` (else its hostname, with its short ID when two share
 * it), tagged by its labels `tm.tag.<tag>` (and the swarm entry's `tags`), its peers advertising
 * the node's own address (`Status.Addr`). tm drives each node's engine (image shipping, exits,
 * faults), reached as the `nodes:` map says, or as the manager when the node is the manager's own;
 * with `registry:`, a node it cannot reach is used too, watched through the manager. Pure: the nodes come from the manager's `GET /nodes` (`swarm_api.ts`).
 */
import {
  type HostConfig,
  hostName,
  type SwarmHostConfig,
  type SwarmNodeConfig,
  TAG_PATTERN,
} from "../../plan/schema.ts";

/** The label that names a node for tm. */
export const NAME_LABEL = "tm.name";
/** A node label `tm.tag.<tag>` (any value) gives the node the tag `<tag>`. */
export const TAG_LABEL_PREFIX = "tm.tag.";

/** What tm reads of a node (`GET /nodes`). */
export interface SwarmNode {
  id: string;
  hostname: string;
  /** The node's address in the swarm (`Status.Addr`; a manager's from `ManagerStatus.Addr`). */
  address: string;
  labels: Record<string, string>;
  /** `Status.State` is `ready` and `Spec.Availability` is `active`. */
  schedulable: boolean;
}

/** The swarm's nodes as hosts: `hosts[i]` is node `nodeIds[i]`. */
export interface SwarmHosts {
  hosts: HostConfig[];
  nodeIds: string[];
  /**
   * By host index: tm cannot reach the node's engine (no `nodes:` entry, allowed with
   * `registry:`); its peers' exits and output come from the manager, and faults there are
   * refused. Its host entry is then only for placement and the plan (never connected).
   */
  viaManager: boolean[];
}

/** A node tm must run peers on, but cannot reach the engine of. */
export class UnreachableNodeError extends Error {
  constructor(readonly swarm: string, readonly nodes: string[]) {
    super(
      `${swarm}: tm cannot reach the engine of node${nodes.length > 1 ? "s" : ""} ` +
        `${nodes.join(", ")} (it ships the images and watches the peers there): give ` +
        `${nodes.length > 1 ? "each" : "it"} under nodes: (its SSH fields, or local for this ` +
        `machine), give the swarm a registry: its nodes pull from, or drain ` +
        `${nodes.length > 1 ? "them" : "it"} (docker node update --availability drain)`,
    );
    this.name = "UnreachableNodeError";
  }
}

/** The swarm has no node to run peers on. */
export class NoNodesError extends Error {
  constructor(readonly swarm: string) {
    super(`${swarm}: the swarm has no ready, active node to run peers on`);
    this.name = "NoNodesError";
  }
}

/** One node of `GET /nodes` as tm reads it. */
export function readNode(raw: {
  ID?: string;
  Description?: { Hostname?: string };
  Spec?: { Labels?: Record<string, string>; Availability?: string };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Addr?: string };
}): SwarmNode {
  let address = raw.Status?.Addr ?? "";
  // A swarm's first manager may report 0.0.0.0; its ManagerStatus has the advertised address.
  if ((address === "" || address === "0.0.0.0") && raw.ManagerStatus?.Addr) {
    address = raw.ManagerStatus.Addr.replace(/:\d+$/, "");
  }
  return {
    id: raw.ID ?? "",
    hostname: raw.Description?.Hostname ?? "",
    address,
    labels: raw.Spec?.Labels ?? {},
    schedulable: raw.Status?.State === "ready" && raw.Spec?.Availability === "active",
  };
}

/** Each node's name for tm: `tm.name`, else its hostname; a shared one gets the short ID. */
export function nodeNames(nodes: readonly SwarmNode[]): string[] {
  const base = nodes.map((node) => node.labels[NAME_LABEL] || node.hostname || node.id);
  const counts = new Map<string, number>();
  for (const name of base) counts.set(name, (counts.get(name) ?? 0) + 1);
  return base.map((name, i) =>
    counts.get(name)! > 1 && !nodes[i].labels[NAME_LABEL]
      ? `${name}.${nodes[i].id.slice(0, 12)}`
      : name
  );
}

/** A node's tags: its `tm.tag.<tag>` labels (invalid tag names ignored), sorted. */
export function nodeTags(node: SwarmNode): string[] {
  return Object.keys(node.labels)
    .filter((key) => key.startsWith(TAG_LABEL_PREFIX))
    .map((key) => key.slice(TAG_LABEL_PREFIX.length))
    .filter((tag) => TAG_PATTERN.test(tag))
    .sort();
}

/**
 * The host entries of a swarm's schedulable nodes, sorted by name (placement's host order).
 * @param managerNodeId the node ID of the manager tm talks to (its engine's `Swarm.NodeID`)
 * @throws NoNodesError, UnreachableNodeError
 */
export function swarmHosts(
  swarm: SwarmHostConfig,
  nodes: readonly SwarmNode[],
  managerNodeId: string,
): SwarmHosts {
  const label = hostName(swarm);
  const usable = nodes.filter((node) => node.schedulable);
  if (usable.length === 0) throw new NoNodesError(label);
  const names = nodeNames(usable);
  const order = usable.map((_, i) => i).sort((a, b) =>
    names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0
  );
  const hosts: HostConfig[] = [];
  const nodeIds: string[] = [];
  const viaManager: boolean[] = [];
  const unreachable: string[] = [];
  for (const i of order) {
    const node = usable[i];
    const name = names[i];
    const reach = swarm.nodes[name] ?? swarm.nodes[node.id] ??
      managerReach(swarm, node, managerNodeId);
    if (reach === undefined && swarm.registry === undefined) {
      unreachable.push(name);
      continue;
    }
    const common = {
      name,
      base_port: swarm.base_port,
      tags: [...new Set([...swarm.tags, ...nodeTags(node)])].sort(),
      ...(node.address !== "" ? { advertise: node.address } : {}),
    };
    hosts.push(
      reach === undefined || reach === "local"
        ? { connection: "local", address: node.address || "localhost", ...common }
        : { connection: "ssh", ...reach, ...common },
    );
    nodeIds.push(node.id);
    viaManager.push(reach === undefined);
  }
  if (unreachable.length > 0) throw new UnreachableNodeError(label, unreachable);
  return { hosts, nodeIds, viaManager };
}

/** How the manager's own node is reached: as the manager is; other nodes: not known. */
function managerReach(
  swarm: SwarmHostConfig,
  node: SwarmNode,
  managerNodeId: string,
): SwarmNodeConfig | undefined {
  if (node.id !== managerNodeId) return undefined;
  if (swarm.manager === "local") return "local";
  return {
    address: swarm.address,
    ssh_user: swarm.ssh_user!,
    ssh_auth: swarm.ssh_auth!,
    ssh_port: swarm.ssh_port,
    host_key_check: swarm.host_key_check,
  };
}
