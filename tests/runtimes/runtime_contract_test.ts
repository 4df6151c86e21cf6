/**
 * The PeerRuntime contract (tests/support/runtime_contract.ts), run against every runtime: local
 * processes, Docker on this machine (`connection: local`) and Docker over SSH (testbed hosts A
 * and B: both engines), and the swarm runtime, with `nodes:` and with `registry:`.
 * The Docker runtimes are built through the registry, as the CLI builds them.
 */
import { ProcessRuntime } from "../../src/runtimes/process/process_runtime.ts";
import { RUNTIME_OF_CONNECTION, RUNTIMES } from "../../src/runtimes/registry.ts";
import { alive } from "../support/process_output.ts";
import { runtimeContract } from "../support/runtime_contract.ts";
import { hostDocker, testbed } from "../support/testbed.ts";
import { formSwarm, swarmBusy, swarmEntry, type TestbedSwarm } from "../support/testbed_swarm.ts";
import { registryMissing, startTestRegistry, type TestRegistry } from "../support/test_registry.ts";
import { eventually } from "../support/until.ts";

const REFERENCE_PEER = new URL("../../lib/typescript/reference_peer.ts", import.meta.url).pathname;

/** Names of the containers of run `runId` on an engine (`docker` with `args` before `ps`). */
async function containersOfRun(
  docker: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>,
  runId: string,
): Promise<string[]> {
  const result = await docker([
    "ps",
    "-a",
    "--filter",
    `label=tm.run=${runId}`,
    "--format",
    "{{.Names}}",
  ]);
  if (result.code !== 0) throw new Error(`docker ps failed: ${result.stderr}`);
  return result.stdout.split("\n").filter((line) => line !== "");
}

async function localDocker(args: string[]) {
  const output = await new Deno.Command("docker", { args, stdin: "null" }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** The services of run `runId` on the manager (this machine's engine), as `service <name>`. */
async function servicesOfRun(runId: string): Promise<string[]> {
  const listed = await localDocker([
    "service",
    "ls",
    "--filter",
    `label=tm.run=${runId}`,
    "--format",
    "service {{.Name}}",
  ]);
  return listed.stdout.split("\n").filter((line) => line !== "");
}

runtimeContract({
  name: "ProcessRuntime",
  needs: "[integration: redis-server, processes]",
  host: () => Promise.resolve({ connection: "local", name: "local" }),
  image: () => Promise.resolve("reference-peer"),
  create: () =>
    new ProcessRuntime({
      command: () => [Deno.execPath(), "run", "-A", "--no-check", REFERENCE_PEER],
      graceMs: 60_000,
    }),
  leftovers: (_runId, peers) =>
    Promise.resolve(
      peers.map((peer) => Number(peer.id.replace(/^pid /, ""))).filter(alive).map(String),
    ),
});

runtimeContract({
  name: "DockerRuntime (connection: local)",
  needs: "[integration: redis-server, docker, testbed]",
  host: () => Promise.resolve({ connection: "local", name: "local" }),
  image: async () => (await testbed()).peerImage,
  create: (options) => RUNTIMES[RUNTIME_OF_CONNECTION.local].create(options),
  leftovers: (runId) => containersOfRun(localDocker, runId),
});

for (const which of ["hostA", "hostB"] as const) {
  const letter = which.slice(-1);
  runtimeContract({
    name: `DockerRuntime (connection: ssh, testbed host ${letter}, Engine API over SSH)`,
    needs: "[integration: redis-server, docker, ssh, testbed]",
    host: async () => {
      const bed = await testbed();
      const host = bed[which];
      // The SSH connector reads known_hosts from TM_KNOWN_HOSTS, as the CLI does.
      Deno.env.set("TM_KNOWN_HOSTS", bed.knownHostsPath);
      return {
        name: host.name,
        address: host.address,
        ssh_port: host.port,
        ssh_user: host.user,
        ssh_auth: host.key,
      };
    },
    image: async () => (await testbed()).peerImage,
    create: (options) => RUNTIMES[RUNTIME_OF_CONNECTION.ssh].create(options),
    leftovers: async (runId) => {
      const host = (await testbed())[which];
      return containersOfRun((args) => hostDocker(host, args), runId);
    },
  });
}

/**
 * The swarm runtime on a two-node swarm of the test bed's engines (formed here, left at the end
 * of this file): alice and carol on node a (host A, this machine's engine), bob on node b.
 */
const busy = swarmBusy();
let swarm: Promise<TestbedSwarm> | undefined;
const testbedSwarm = () =>
  swarm ??= testbed().then(async (bed) => {
    const formed = await formSwarm(bed);
    if (typeof formed === "string") throw new Error(formed);
    return formed;
  });

runtimeContract({
  name: "SwarmRuntime (connection: swarm, the test bed's engines as a two-node swarm)",
  needs: "[integration: redis-server, docker, ssh, testbed, swarm]",
  ...(busy ? { ignore: busy } : {}),
  host: async () => {
    const bed = await testbed();
    await testbedSwarm();
    Deno.env.set("TM_KNOWN_HOSTS", bed.knownHostsPath);
    return swarmEntry(bed, { name: "swarm" });
  },
  hosts: (config) => RUNTIMES.swarm.hosts(config, AbortSignal.timeout(30_000)),
  image: async () => (await testbed()).peerImage,
  create: (options) => RUNTIMES[RUNTIME_OF_CONNECTION.swarm].create(options),
  leftovers: async (runId) => {
    const bed = await testbed();
    return [
      ...await servicesOfRun(runId),
      ...await containersOfRun(localDocker, runId),
      ...await containersOfRun((args) => hostDocker(bed.hostB, args), runId),
    ];
  },
});

/**
 * The swarm runtime with `registry:` and no `nodes:` entry: bob, on node b, runs from the test's
 * registry and is watched through the manager alone (task state, service logs); node b's agent
 * removes his task container once his service is gone, so its leftovers are awaited a while.
 */
const noRegistry = registryMissing();
let registry: Promise<TestRegistry> | undefined;
const testRegistry = () => registry ??= testbed().then((bed) => startTestRegistry(bed));

runtimeContract({
  name: "SwarmRuntime with registry: (node b reached through the manager and the registry only)",
  needs: "[integration: redis-server, docker, testbed, swarm, docker-registry]",
  ...(busy || noRegistry ? { ignore: busy ?? noRegistry } : {}),
  host: async () => {
    await testbedSwarm();
    return {
      connection: "swarm",
      manager: "local",
      name: "swarm-registry",
      registry: (await testRegistry()).address,
    };
  },
  hosts: (config) => RUNTIMES.swarm.hosts(config, AbortSignal.timeout(30_000)),
  image: async () => (await testbed()).peerImage,
  create: (options) => RUNTIMES[RUNTIME_OF_CONNECTION.swarm].create(options),
  leftovers: async (runId) => {
    const bed = await testbed();
    const onB = () => containersOfRun((args) => hostDocker(bed.hostB, args), runId);
    await eventually(
      "node b's agent removed the run's task containers",
      async () => (await onB()).length === 0,
    ).catch(() => {});
    return [
      ...await servicesOfRun(runId),
      ...await containersOfRun(localDocker, runId),
      ...await onB(),
    ];
  },
});

Deno.test({
  name:
    "SwarmRuntime contract: the test bed's swarm is left, both engines as found [integration: testbed, swarm]",
  ignore: busy !== undefined,
}, async () => {
  await (await swarm)?.leave();
});

Deno.test({
  name: "SwarmRuntime with registry: contract: the test registry is stopped, node b's pulled " +
    "references removed [integration: testbed, docker-registry]",
  ignore: busy !== undefined || noRegistry !== undefined,
}, async () => {
  const started = await registry;
  if (!started) return;
  const bed = await testbed();
  const listed = await hostDocker(bed.hostB, [
    "image",
    "ls",
    "--digests",
    "--format",
    "{{.Repository}}@{{.Digest}}",
  ]);
  for (const reference of listed.stdout.split("\n")) {
    if (reference.startsWith(`${started.address}/`)) {
      await hostDocker(bed.hostB, ["image", "rm", reference]);
    }
  }
  await started.stop();
});
