/**
 * Test support: a two-node Docker Swarm of the test bed's engines, formed for a test and left
 * as found. Host A's engine (this machine's, shared) is initialised as the manager, advertising
 * the address host B reaches it at; host B's engine joins. The nodes are labelled `tm.name` a/b
 * and `tm.tag.a`/`tm.tag.b`. `leave()` makes both engines leave and removes what `swarm init`
 * created (`docker_gwbridge`; the ingress network goes with the swarm). An engine already in a
 * swarm is not touched: `form` then says why the test must be skipped.
 */
import { hostDocker, type Testbed } from "./testbed.ts";
import { eventually } from "./until.ts";
import { killServing } from "./host_b_sshd.ts";

/**
 * Why a swarm cannot be formed here (this machine's engine is already in a swarm, or there is
 * none), for a test's `ignore`; undefined when it can. Asked synchronously, at registration.
 */
export function swarmBusy(): string | undefined {
  const state = new Deno.Command("docker", {
    args: ["info", "--format", "{{.Swarm.LocalNodeState}}"],
    stdin: "null",
    stderr: "null",
  }).outputSync();
  const text = new TextDecoder().decode(state.stdout).trim();
  if (state.code !== 0) return "no docker engine here";
  if (text !== "inactive") {
    return `this machine's engine is already in a swarm (${text}): it is not touched`;
  }
  return undefined;
}

/**
 * The `connection: swarm` host entry of the test bed's swarm (without `base_port`): this
 * machine's engine the manager, node b reached over SSH.
 */
export function swarmEntry(bed: Testbed, extra: Record<string, unknown> = {}) {
  return {
    connection: "swarm",
    manager: "local",
    nodes: {
      b: {
        address: bed.hostB.address,
        ssh_port: bed.hostB.port,
        ssh_user: bed.hostB.user,
        ssh_auth: bed.hostB.key,
      },
    },
    ...extra,
  };
}

export interface TestbedSwarm {
  /** Node ID of host A's engine (manager) and host B's (worker). */
  readonly nodes: { a: string; b: string };
  /** Leaves the swarm on both engines and removes what it created; idempotent. */
  leave(): Promise<void>;
}

async function docker(dockerHost: string, args: string[]): Promise<string> {
  const result = await hostDocker({ dockerHost }, args);
  if (result.code !== 0) {
    throw new Error(`docker ${args.join(" ")} (${dockerHost}): ${result.stderr.trim()}`);
  }
  return result.stdout.trim();
}

/** Times `docker swarm leave --force` is tried on one engine. */
const LEAVE_ATTEMPTS = 4;

/**
 * Makes an engine leave its swarm; undefined once it is out, else why not. A loaded machine was
 * seen to fail the leave with `context deadline exceeded` and keep the engine in the swarm, which
 * then refused every later swarm test: it is tried again while the engine says it is still in.
 */
async function leaveSwarm(host: string): Promise<string | undefined> {
  let last = "";
  for (let attempt = 0; attempt < LEAVE_ATTEMPTS; attempt++) {
    try {
      await docker(host, ["swarm", "leave", "--force"]);
    } catch (error) {
      last = String(error);
    }
    const state = await docker(host, ["info", "--format", "{{.Swarm.LocalNodeState}}"])
      .catch(() => "");
    if (state === "inactive") return undefined;
  }
  return last || `${host}: still in the swarm after ${LEAVE_ATTEMPTS} leaves`;
}

/** Forms the swarm, or returns why it cannot (an engine already in a swarm). */
export async function formSwarm(bed: Testbed): Promise<TestbedSwarm | string> {
  const a = bed.hostA.dockerHost;
  const b = bed.hostB.dockerHost;
  for (const [name, host] of [["A", a], ["B", b]] as const) {
    const state = await docker(host, ["info", "--format", "{{.Swarm.LocalNodeState}}"]);
    if (state !== "inactive") return `host ${name}'s engine is already in a swarm (${state})`;
  }
  const networks = async (host: string) =>
    new Set((await docker(host, ["network", "ls", "--format", "{{.Name}}"])).split("\n"));
  const before = { a: await networks(a), b: await networks(b) };
  let left = false;
  const leave = async () => {
    if (left) return;
    left = true;
    const problems: string[] = [];
    for (const [host, found] of [[b, before.b], [a, before.a]] as const) {
      const failed = await leaveSwarm(host);
      if (failed) problems.push(failed);
      for (const network of ["docker_gwbridge", "ingress"]) {
        if (found.has(network) || !(await networks(host)).has(network)) continue;
        await docker(host, ["network", "rm", network]).catch((e) => problems.push(String(e)));
      }
    }
    if (problems.length > 0) throw new Error(problems.join("\n"));
  };
  try {
    const address = bed.hostB.orchestratorAddress;
    await docker(a, ["swarm", "init", "--advertise-addr", address]);
    const token = await docker(a, ["swarm", "join-token", "-q", "worker"]);
    await docker(b, ["swarm", "join", "--token", token, `${address}:2377`]);
    const nodes = {
      a: await docker(a, ["info", "--format", "{{.Swarm.NodeID}}"]),
      b: await docker(b, ["info", "--format", "{{.Swarm.NodeID}}"]),
    };
    for (const which of ["a", "b"] as const) {
      await docker(a, [
        "node",
        "update",
        "--label-add",
        `tm.name=${which}`,
        "--label-add",
        `tm.tag.${which}=1`,
        nodes[which],
      ]);
    }
    // The worker is listed ready once its first heartbeat reached the manager.
    await eventually(
      "host B's engine listed ready in the swarm",
      async () =>
        await docker(a, ["node", "inspect", nodes.b, "--format", "{{.Status.State}}"]) ===
          "ready",
    );
    return { nodes, leave };
  } catch (error) {
    await leave().catch(() => {});
    throw error;
  }
}

/**
 * Kills the sshd processes on host A (this machine's network namespace) serving the connections
 * from `clientPorts` (this machine's ends, as `sshClientEnds` lists them), as a dropped
 * connection would end them; host A's sshd itself stays up. Returns the pids killed.
 */
export function killHostASessions(bed: Testbed, clientPorts: number[]): Promise<number[]> {
  const server = `${bed.hostA.address}:${bed.hostA.port}`;
  const clients = new Set(clientPorts.map((port) => `${bed.hostA.orchestratorAddress}:${port}`));
  return killServing(null, (local, peer) => local === server && clients.has(peer));
}
