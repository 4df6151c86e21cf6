/**
 * Placement: which host and UDP port each peer gets (docs/config.md, Placement). Pure and
 * deterministic.
 */
import { type Config, hostName } from "./schema.ts";

/** One peer's place in the run. */
export interface PlacedPeer {
  /** Peer name (unique). */
  peer: string;
  /** Index of the host in `config.hosts`. */
  hostIndex: number;
  /** Host display name (`name`, else `address`). */
  host: string;
  /** Host address as written in the config (what SSH connects to). */
  address: string;
  /** UDP port on the host, published 1:1 into the container. */
  port: number;
  image: string;
  /** `/ip4/0.0.0.0/udp/<port>/quic-v1` */
  listenAddr: string;
  /** The peers whose addresses it is sent at bootstrap; absent when none. */
  bootstrap?: string[];
  /** The `count:` entry (group) the peer belongs to, if any. */
  group?: string;
}

/** No host carries every tag of some peers' `runs_on`. */
export class PlacementError extends Error {
  constructor(
    /** The sorted tag set nobody satisfies. */
    readonly tags: string[],
    /** The peers asking for it, in name order. */
    readonly peers: string[],
  ) {
    super(
      `no host has all of the tags [${tags.join(", ")}] required by ${
        peers.length === 1 ? "peer" : "peers"
      } ${peers.join(", ")}`,
    );
    this.name = "PlacementError";
  }
}

/** Element-by-element comparison, a shorter prefix first: [] < [a] < [a, b] < [b]. */
export function compareTagLists(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

export function listenAddr(port: number): string {
  return `/ip4/0.0.0.0/udp/${port}/quic-v1`;
}

/**
 * Assigns every peer a host and port:
 * peers sorted by name, grouped by their sorted `runs_on` set, groups taken in
 * lexicographic order of their tag lists (untagged first), each group round-robin over the
 * hosts carrying all its tags (config order), one port counter per host shared by all groups.
 *
 * @returns the placements sorted by peer name
 * @throws PlacementError for the first group (in group order) no host satisfies
 */
export function place(config: Pick<Config, "hosts" | "peers">): PlacedPeer[] {
  const peers = [...config.peers].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const groups = new Map<string, { tags: string[]; peers: typeof peers }>();
  for (const peer of peers) {
    const tags = [...new Set(peer.runs_on)].sort();
    const key = JSON.stringify(tags);
    const group = groups.get(key) ?? { tags, peers: [] };
    group.peers.push(peer);
    groups.set(key, group);
  }
  const nextPort = config.hosts.map((host) => host.base_port);
  const placed: PlacedPeer[] = [];
  for (const group of [...groups.values()].sort((a, b) => compareTagLists(a.tags, b.tags))) {
    const eligible = config.hosts
      .map((host, index) => ({ host, index }))
      .filter(({ host }) => group.tags.every((tag) => host.tags.includes(tag)));
    if (eligible.length === 0) {
      throw new PlacementError(group.tags, group.peers.map((peer) => peer.name));
    }
    group.peers.forEach((peer, i) => {
      const { host, index } = eligible[i % eligible.length];
      const port = nextPort[index]++;
      placed.push({
        peer: peer.name,
        hostIndex: index,
        host: hostName(host),
        address: host.address,
        port,
        image: peer.image,
        listenAddr: listenAddr(port),
        ...(peer.bootstrap.length > 0 ? { bootstrap: peer.bootstrap } : {}),
        ...(peer.group !== undefined ? { group: peer.group } : {}),
      });
    });
  }
  return placed.sort((a, b) => a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0);
}
