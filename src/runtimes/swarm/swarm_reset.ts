/**
 * `--reset-hosts[-all]` on a swarm: this test's services, of any run, are removed on the manager
 * (found by their `tm.test` label); with `--reset-hosts-all` also every other tm service (label
 * `tm.run`) whose task ended, the swarm's counterpart of the stopped containers `docker system
 * prune` removes (a service whose task still runs may be a live run's: it is kept, and named).
 * Then each node tm reaches is reset as a Docker host (the config's `images` removed, or
 * `docker system prune -af`); a node it cannot reach (with `registry:`) is named and skipped.
 */
import { hostName } from "../../plan/schema.ts";
import type { ResetOptions } from "../registry.ts";
import { LABELS } from "../docker/container_names.ts";
import { resetHosts } from "../docker/reset.ts";
import { connectHost } from "../../transport/connect.ts";
import { ENDED_TASK_STATES, type ServiceSummary, SwarmManager } from "./swarm_api.ts";
import { clusterOf, findSwarmHosts, swarmEntryOf } from "./swarm_runtime.ts";

/** Resets a swarm; throws naming what failed (after trying every node). */
export async function resetSwarm({ config, all, print }: ResetOptions): Promise<void> {
  const signal = new AbortController().signal;
  const swarm = swarmEntryOf(config);
  const name = hostName(swarm);
  const manager = await SwarmManager.connect(swarm, signal);
  try {
    await manager.nodeId(signal);
    const ours = await manager.services([`${LABELS.test}=${config.name}`], signal);
    const ended = all ? await endedServicesOfOtherTests(manager, config.name, print, signal) : [];
    const services = [...ours, ...ended];
    const failed = await manager.removeServices(services.map((s) => s.id), signal);
    for (const service of services) {
      if (failed.has(service.id)) continue;
      const test = service.labels[LABELS.test];
      print(
        `${name}: removed service ${service.name}` +
          (test === config.name ? "" : ` (test ${test ?? "?"}, its task ended)`),
      );
    }
    if (failed.size > 0) {
      throw new Error(`${name}: could not remove services: ${[...failed.values()].join("; ")}`);
    }
  } finally {
    await manager.close();
  }
  const nodes = await findSwarmHosts(config, signal);
  // A node tm cannot reach (allowed with `registry:`) lost its task containers with the services.
  const { viaManager } = clusterOf(nodes);
  for (const [i, host] of nodes.hosts.entries()) {
    if (viaManager[i]) print(`${hostName(host)}: not reset (tm cannot reach its engine)`);
  }
  const reached = { ...nodes, hosts: nodes.hosts.filter((_, i) => !viaManager[i]) };
  await resetHosts({ config: reached, connect: connectHost, all, print, signal });
}

/** tm's services of other tests whose tasks all ended; those still running are named, kept. */
async function endedServicesOfOtherTests(
  manager: SwarmManager,
  test: string,
  print: (line: string) => void,
  signal: AbortSignal,
): Promise<ServiceSummary[]> {
  const others = (await manager.services([LABELS.run], signal))
    .filter((service) => service.labels[LABELS.test] !== test);
  if (others.length === 0) return [];
  const tasks = Map.groupBy(
    await manager.tasks({ service: others.map((s) => s.id) }, signal),
    (task) => task.serviceId,
  );
  return others.filter((service) => {
    const ended = (tasks.get(service.id) ?? []).every((task) => ENDED_TASK_STATES.has(task.state));
    if (!ended) {
      print(
        `${manager.name}: kept service ${service.name} of test ` +
          `${service.labels[LABELS.test] ?? "?"}: its task is still running`,
      );
    }
    return ended;
  });
}
