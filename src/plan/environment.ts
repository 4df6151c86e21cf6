/**
 * The environment of one peer's container (docs/config.md, environment; docs/protocol.md,
 * Environment): `peer_environment`, then the peer's `environment`, then the system variables
 * nobody can override.
 */
import type { Config } from "./schema.ts";
import type { PlacedPeer } from "./placement.ts";

/** Variables tm sets on every peer; config values with these names are overridden. */
export const SYSTEM_VARIABLES = ["REDIS_URL", "PEER_NAME", "LISTEN_ADDR", "HOST_NAME"] as const;

export function peerEnvironment(
  config: Pick<Config, "peer_environment" | "peers">,
  placement: PlacedPeer,
  redisUrl: string,
): Record<string, string> {
  const peer = config.peers.find((p) => p.name === placement.peer);
  return {
    ...config.peer_environment,
    ...peer?.environment,
    REDIS_URL: redisUrl,
    PEER_NAME: placement.peer,
    LISTEN_ADDR: placement.listenAddr,
    HOST_NAME: placement.host,
  };
}
