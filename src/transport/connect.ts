/**
 * How tm reaches a host, chosen by the host's `connection` in the config: one entry per kind,
 * each opening a `Remote` (Jepsen's control layer). The Docker code above it is the same for all.
 */
import { type HostConfig, hostName } from "../plan/schema.ts";
import { LocalRemote } from "./local.ts";
import type { Remote } from "./remote.ts";
import { SshRemote } from "./ssh.ts";

/** Opens a `Remote` for one kind of host. */
type Connector<K extends HostConfig["connection"]> = (
  host: Extract<HostConfig, { connection: K }>,
  signal: AbortSignal,
) => Promise<Remote>;

/** Every kind of host connection, by the `connection` value that selects it. */
export const CONNECTORS: { [K in HostConfig["connection"]]: Connector<K> } = {
  ssh: (host, signal) =>
    SshRemote.connect({
      name: hostName(host),
      address: host.address,
      port: host.ssh_port,
      user: host.ssh_user,
      auth: host.ssh_auth,
      hostKeyCheck: host.host_key_check,
      signal,
    }),
  // A swarm is not one host: its runtime (src/runtimes/swarm/) connects its manager and nodes.
  swarm: (host) =>
    Promise.reject(
      new Error(`${hostName(host)}: a swarm is reached through its nodes, not as a host`),
    ),
  local: (host, signal) => {
    signal.throwIfAborted();
    return Promise.resolve(new LocalRemote({ name: hostName(host) }));
  },
};

/** Opens the connection to one host of the config, as its `connection` says. */
export function connectHost(
  host: HostConfig,
  _index: number,
  signal: AbortSignal,
): Promise<Remote> {
  // The table is typed per kind; TypeScript cannot pair `host` with its entry on its own.
  const connector = CONNECTORS[host.connection] as Connector<HostConfig["connection"]>;
  return connector(host as never, signal);
}
