/**
 * Which destinations each peer's traffic must not reach under a partition (docs/config.md,
 * "Faults"). Pure.
 *
 * Each side drops what it SENDS to the other side, so the partition holds both ways whatever
 * the network between them rewrites: Docker masquerades a container's traffic to another host
 * and relays traffic between containers of one host through docker-proxy, so a receiver cannot
 * tell which peer a datagram came from, but a sender always knows where it sends.
 *
 * A peer Y is reached on its published UDP port at EVERY address of its host, whatever the
 * interface: Linux accepts a datagram for any of its own addresses on any interface, and Docker
 * publishes the port on all of them. So the address it is configured with, the one another host
 * sees it as (the test bed's host A is 127.0.0.1 to tm and 10.231.7.1 to host B), and the
 * address of each of its Docker bridges (host A's 172.17.0.1, routed to it from host B) all lead
 * to Y. Left out: loopback (never another host), and, for a sender on another host, the
 * addresses that host owns itself (a second machine's own 172.17.0.1 leads to itself). Y's
 * container address is cut too (from a container on its bridge, or routed to its host), except
 * where it lies inside one of the sender's host's own networks, which it then stands for. And Y's
 * advertised address (ADVERTISE_IP) on its port: what the other peers were told to dial, which a
 * host's `advertise` may set to an address none of its interfaces has (a NAT's).
 */
import type { BlockedDestination } from "./traffic_control.ts";

/** One IPv4 address of a host, with the length of its network's prefix. */
export interface HostAddress {
  address: string;
  /** `24` for `10.0.0.5/24`. */
  prefixLength: number;
}

/** Where one peer can be reached, as its host and Docker report it. */
export interface PeerEndpoint {
  /** The host's display name. */
  host: string;
  /** Every IPv4 address of the host but loopback, Docker's bridges included. */
  hostAddresses: readonly HostAddress[];
  /** The UDP port published 1:1 on the host. */
  port: number;
  /** The container's address on its bridge; null while it is not running. */
  containerAddress: string | null;
  /** The container's bridge gateway (its host, seen from the container); null when unknown. */
  gateway: string | null;
  /**
   * The address the peer advertises (ADVERTISE_IP: a host's `advertise`, e.g. a NAT's public
   * address that is none of its host's own); null when none. Default: null.
   */
  advertised?: string | null;
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
  const sameHost = to.host === from.host;
  const own = new Set(from.hostAddresses.map((a) => a.address));
  const found: BlockedDestination[] = to.hostAddresses
    .filter(({ address }) => sameHost || !own.has(address))
    .map(({ address }) => ({ address, port: to.port }));
  if (sameHost && from.gateway) found.push({ address: from.gateway, port: to.port });
  // What other peers were told to dial, wherever it leads (a NAT forwarding to Y's host).
  if (to.advertised && (sameHost || !own.has(to.advertised))) {
    found.push({ address: to.advertised, port: to.port });
  }
  const container = to.containerAddress;
  if (container && (sameHost || !from.hostAddresses.some((a) => inNetwork(container, a)))) {
    found.push({ address: container });
  }
  return found;
}

/** Whether `address` lies in the network of `host` (its prefix). */
export function inNetwork(address: string, host: HostAddress): boolean {
  if (host.prefixLength <= 0) return true;
  const mask = host.prefixLength >= 32 ? 0xffff_ffff : (~0 << (32 - host.prefixLength)) >>> 0;
  return ((ipv4(address) & mask) >>> 0) === ((ipv4(host.address) & mask) >>> 0);
}

function ipv4(address: string): number {
  return address.split(".").reduce((value, part) => ((value << 8) | Number(part)) >>> 0, 0);
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
 * A host's IPv4 addresses from `ip -o -4 addr show`, every interface and scope but loopback
 * (`127.0.0.0/8`), in the order listed, each once.
 */
export function parseHostAddresses(ipOutput: string): HostAddress[] {
  const addresses: HostAddress[] = [];
  for (const line of ipOutput.split("\n")) {
    // `2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\       valid_lft …`
    const match = /^\d+:\s+\S+\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line);
    if (!match) continue;
    const [, address, prefix] = match;
    if (address.startsWith("127.") || addresses.some((a) => a.address === address)) continue;
    addresses.push({ address, prefixLength: Number(prefix) });
  }
  return addresses;
}
