/**
 * Which destinations each peer's traffic must not reach under a partition (docs/config.md,
 * "Faults"). Pure.
 *
 * Each side drops what it SENDS to the other side, so the partition holds both ways whatever
 * the network between them rewrites: Docker masquerades a container's traffic to another host
 * and relays traffic between containers of one host through docker-proxy, so a receiver cannot
 * tell which peer a datagram came from, but a sender always knows where it sends. A peer Y is
 * reached at every address of its host on its published UDP port (the address it advertises, or
 * any other of the host's), at its own container address (from a container on the same bridge),
 * and, from a peer on the same host, at that bridge's gateway on its port.
 */
import type { BlockedDestination } from "./traffic_control.ts";

/** Where one peer can be reached, as its host and Docker report it. */
export interface PeerEndpoint {
  /** The host's display name. */
  host: string;
  /** The host's own IPv4 addresses (not those of Docker's bridges). */
  hostAddresses: readonly string[];
  /** The UDP port published 1:1 on the host. */
  port: number;
  /** The container's address on its bridge; null while it is not running. */
  containerAddress: string | null;
  /** The container's bridge gateway (its host, seen from the container); null when unknown. */
  gateway: string | null;
}

/**
 * The destinations each grouped peer must not reach: every peer of every other group, at each
 * address it can be reached at. Peers in no group (and peers without an endpoint) get none.
 */
export function partitionBlocks(
  groups: readonly (readonly string[])[],
  endpoints: ReadonlyMap<string, PeerEndpoint>,
): Map<string, BlockedDestination[]> {
  const blocks = new Map<string, BlockedDestination[]>();
  groups.forEach((group, index) => {
    for (const peer of group) {
      const from = endpoints.get(peer);
      if (!from) continue;
      const blocked: BlockedDestination[] = [];
      groups.forEach((other, otherIndex) => {
        if (otherIndex === index) return;
        for (const target of other) {
          const to = endpoints.get(target);
          if (to) blocked.push(...destinationsOf(to, from));
        }
      });
      blocks.set(peer, dedupe(blocked));
    }
  });
  return blocks;
}

/** The addresses `from` can reach `to` at. */
function destinationsOf(to: PeerEndpoint, from: PeerEndpoint): BlockedDestination[] {
  const found: BlockedDestination[] = to.hostAddresses.map((address) => ({
    address,
    port: to.port,
  }));
  if (to.containerAddress) found.push({ address: to.containerAddress });
  if (to.host === from.host && from.gateway) found.push({ address: from.gateway, port: to.port });
  return found;
}

function dedupe(blocked: BlockedDestination[]): BlockedDestination[] {
  const seen = new Set<string>();
  return blocked.filter((b) => {
    const key = `${b.address}:${b.port ?? "*"}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * A host's own IPv4 addresses from `ip -o -4 addr show scope global`, without those of Docker's
 * bridges and veths (`docker0`, `br-…`, `veth…`): every host has its own 172.17.0.1, which
 * must not stand for another host.
 */
export function parseHostAddresses(ipOutput: string): string[] {
  const addresses: string[] = [];
  for (const line of ipOutput.split("\n")) {
    // `2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\       valid_lft …`
    const match = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet\s+(\d+\.\d+\.\d+\.\d+)\//.exec(line);
    if (!match) continue;
    const [, device, address] = match;
    if (/^(docker\d*|br-|veth)/.test(device)) continue;
    if (!addresses.includes(address)) addresses.push(address);
  }
  return addresses;
}
