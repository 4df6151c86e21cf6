/**
 * Which runtime a config selects, known without loading any runtime: each host's `connection`
 * names a runtime kind. The registry (`registry.ts`) holds each kind's implementation; this
 * module is apart so `tm validate` learns what it needs of the runtime without loading Docker's,
 * SSH's and Redis's clients (tens of MiB of modules; docs/architecture.md, Start-up).
 */
import type { Config, HostConfig } from "../plan/schema.ts";

/** The runtime kinds, one entry each in `RUNTIMES` (registry.ts). */
export const RUNTIME_KINDS = ["docker", "swarm"] as const;

/** A runtime's kind: `docker`, `swarm`. */
export type RuntimeKind = typeof RUNTIME_KINDS[number];

/** The runtime each host `connection` selects. */
export const RUNTIME_OF_CONNECTION: { readonly [C in HostConfig["connection"]]: RuntimeKind } = {
  ssh: "docker",
  local: "docker",
  swarm: "swarm",
};

/**
 * The kinds whose hosts are found at run time (a swarm's nodes): exactly those whose registry
 * entry has a `hosts` step (tests/runtimes/registry_test.ts holds them equal).
 */
export const HOSTS_FOUND_AT_RUN_TIME: ReadonlySet<RuntimeKind> = new Set<RuntimeKind>(["swarm"]);

/** The config's hosts select runtimes that one run cannot combine. */
export class MixedRuntimesError extends Error {
  constructor(readonly kinds: RuntimeKind[]) {
    super(
      `the hosts' connections select different runtimes (${kinds.join(", ")}); ` +
        "one test runs on one runtime: give every host a connection of the same runtime",
    );
    this.name = "MixedRuntimesError";
  }
}

/** The runtime the config's hosts select (the kind of every host's `connection`). */
export function runtimeKindOf(config: Config): RuntimeKind {
  const kinds = [...new Set(config.hosts.map((host) => RUNTIME_OF_CONNECTION[host.connection]))];
  if (kinds.length > 1) throw new MixedRuntimesError(kinds);
  return kinds[0] ?? "docker";
}
