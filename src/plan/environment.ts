/**
 * The environment of one peer's container (docs/config.md, environment; docs/protocol.md,
 * Environment): `peer_environment`, then the peer's `environment`, then the system variables
 * nobody can override.
 */
import type { Config, PeerConfig } from "./schema.ts";
import type { PlacedPeer } from "./placement.ts";

/** Variables tm sets on every peer; config values with these names are overridden. */
export const SYSTEM_VARIABLES = [
  "REDIS_URL",
  "PEER_NAME",
  "LISTEN_ADDR",
  "HOST_NAME",
  "ADVERTISE_IP",
] as const;

/** Each config's peers by name, built once: a lookup per peer, not a scan (10,000 peers). */
const byName = new WeakMap<readonly PeerConfig[], Map<string, PeerConfig>>();

/**
 * @param advertiseIp the IPv4 address peers on other hosts reach this peer's host at (the
 *   runtime's `advertiseIpFor`); ADVERTISE_IP is left out when the runtime has none
 */
export function peerEnvironment(
  config: Pick<Config, "peer_environment" | "peers">,
  placement: PlacedPeer,
  redisUrl: string,
  advertiseIp?: string,
): Record<string, string> {
  let peers = byName.get(config.peers);
  if (!peers) byName.set(config.peers, peers = new Map(config.peers.map((p) => [p.name, p])));
  const peer = peers.get(placement.peer);
  const env: Record<string, string> = {
    ...config.peer_environment,
    ...peer?.environment,
    REDIS_URL: redisUrl,
    PEER_NAME: placement.peer,
    LISTEN_ADDR: placement.listenAddr,
    HOST_NAME: placement.host,
  };
  if (advertiseIp !== undefined) env.ADVERTISE_IP = advertiseIp;
  else delete env.ADVERTISE_IP;
  return env;
}
