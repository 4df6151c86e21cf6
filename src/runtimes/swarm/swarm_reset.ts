/**
 * `--reset-hosts[-all]` on a swarm: this test's services, of any run, are removed on the manager
 * (found by their `tm.test` label), then each node is reset as a Docker host (the config's
 * `images` removed, or `docker system prune -af`).
 */
import { hostName } from "../../plan/schema.ts";
import type { ResetOptions } from "../registry.ts";
import { LABELS } from "../docker/container_names.ts";
import { resetHosts } from "../docker/reset.ts";
import { connectHost } from "../../transport/connect.ts";
import { SwarmManager } from "./swarm_api.ts";
import { findSwarmHosts, swarmEntryOf } from "./swarm_runtime.ts";

/** Resets a swarm; throws naming what failed (after trying every node). */
export async function resetSwarm({ config, all, print }: ResetOptions): Promise<void> {
  const signal = new AbortController().signal;
  const swarm = swarmEntryOf(config);
  const name = hostName(swarm);
  const manager = await SwarmManager.connect(swarm, signal);
  try {
    await manager.nodeId(signal);
    const services = await manager.services([`${LABELS.test}=${config.name}`], signal);
    const failed = await manager.removeServices(services.map((s) => s.id), signal);
    for (const service of services) {
      if (!failed.has(service.id)) print(`${name}: removed service ${service.name}`);
    }
    if (failed.size > 0) {
      throw new Error(`${name}: could not remove services: ${[...failed.values()].join("; ")}`);
    }
  } finally {
    await manager.close();
  }
  const nodes = await findSwarmHosts(config, signal);
  await resetHosts({ config: nodes, connect: connectHost, all, print, signal });
}
