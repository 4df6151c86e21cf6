/**
 * The `ADVERTISE_IP` of each host's peers (docs/protocol.md, Environment): the IPv4 address
 * peers on the other hosts reach this host's peers at, through the ports published 1:1.
 *
 * - a host's `advertise` field, resolved, wins;
 * - an SSH host: its `address`, resolved once (DNS names through the system resolver, as ssh
 *   itself would, so /etc/hosts counts);
 * - this machine (a `local` host, or an SSH address that is loopback): the address the other
 *   hosts see it at (their `$SSH_CONNECTION`, as for REDIS_URL: `redis_address.ts`), else its
 *   first non-loopback IPv4 (a physical interface before a Docker bridge).
 *
 * A container's own address is never right: it is a bridge address no other host can route to.
 */
import { lookup } from "node:dns/promises";
import type { HostConfig } from "../../plan/schema.ts";
import { hostName } from "../../plan/schema.ts";
import { isLoopback } from "./redis_address.ts";

/** No IPv4 address could be found for a host's peers; the message names the host and the fix. */
export class AdvertiseAddressError extends Error {
  constructor(readonly host: string, reason: string, options?: ErrorOptions) {
    super(
      `${host}: cannot tell the address other hosts reach its peers at (ADVERTISE_IP): ` +
        `${reason}; set advertise: <IPv4 address> on the host`,
      options,
    );
    this.name = "AdvertiseAddressError";
  }
}

/** What deciding one host's address needs. */
export interface AdvertiseHost {
  config: HostConfig;
  /** How the host sees the orchestrator (`Remote.orchestratorAddress()`); null for this machine. */
  orchestratorAddress: string | null;
}

/** The ways of learning addresses, injectable for tests. */
export interface AddressSources {
  /** A name or IPv4 literal to an IPv4 address. Default: the system resolver (getaddrinfo). */
  resolve(name: string): Promise<string>;
  /** This machine's interfaces. Default: `Deno.networkInterfaces()`. */
  interfaces(): { name: string; family: string; address: string }[];
}

const systemSources: AddressSources = {
  resolve: async (name) => (await lookup(name, { family: 4 })).address,
  interfaces: () => Deno.networkInterfaces(),
};

/** The ADVERTISE_IP for each host's peers, in the order of `hosts`. */
export async function advertiseAddresses(
  hosts: readonly AdvertiseHost[],
  sources: AddressSources = systemSources,
): Promise<string[]> {
  const resolved = new Map<string, Promise<string>>();
  const resolveOnce = (name: string) => {
    let address = resolved.get(name);
    if (!address) resolved.set(name, address = sources.resolve(name));
    return address;
  };
  return await Promise.all(hosts.map(async ({ config }) => {
    const named = config.advertise ??
      (config.connection === "ssh" && !isLoopback(config.address) ? config.address : undefined);
    if (named === undefined) return thisMachine(config, hosts, sources);
    try {
      return await resolveOnce(named);
    } catch (error) {
      throw new AdvertiseAddressError(
        hostName(config),
        `${named} does not resolve to an IPv4 address`,
        { cause: error },
      );
    }
  }));
}

/** How the other hosts see this machine, else its own first non-loopback IPv4. */
function thisMachine(
  config: HostConfig,
  hosts: readonly AdvertiseHost[],
  sources: AddressSources,
): string {
  for (const host of hosts) {
    const seen = ipv4Of(host.orchestratorAddress);
    if (seen !== undefined && !isLoopback(seen)) return seen;
  }
  const ipv4 = sources.interfaces().filter((i) => i.family === "IPv4" && !isLoopback(i.address));
  const bridge = (name: string) => /^(docker|br-|veth|cni|virbr)/.test(name);
  const found = ipv4.find((i) => !bridge(i.name)) ?? ipv4[0];
  if (found) return found.address;
  throw new AdvertiseAddressError(hostName(config), "this machine has no non-loopback IPv4");
}

/** `10.0.0.1`, or the IPv4 inside `::ffff:10.0.0.1`; undefined for anything else. */
function ipv4Of(address: string | null): string | undefined {
  const match = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address ?? "");
  return match?.[1];
}
