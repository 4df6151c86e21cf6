/**
 * Starting 50 peers on one host: DockerRuntime from construction to "all launched" (connect,
 * docker version, leftover check, config dirs, exit watcher, then 50 `start()` calls issued at
 * once as the engine does) versus the same engine running the same 50 `docker run -d` command
 * lines (same ports, env, mounts) as many at a time as DockerRuntime keeps in flight per host.
 * Host: this machine's engine through LocalRemote.
 * Target (issue 4): ≤ 1.5× the baseline. Median of 3 alternating rounds.
 */
import { ConfigSchema } from "../src/plan/schema.ts";
import { planConfig } from "../src/plan/plan_config.ts";
import { peerEnvironment } from "../src/plan/environment.ts";
import { place } from "../src/plan/placement.ts";
import { runArgs } from "../src/runtimes/docker/docker.ts";
import {
  configDir,
  DEFAULT_STARTS_PER_HOST,
  DockerRuntime,
} from "../src/runtimes/docker/docker_runtime.ts";
import { LocalRemote } from "../src/transport/local.ts";
import { containerName, peerLabels } from "../src/runtimes/docker/container_names.ts";
import { currentOwner } from "../src/coordination/run_owner.ts";
import {
  buildBusyboxImage,
  removeImages,
  removeLabelled,
  uniqueId,
} from "../tests/support/scratch_images.ts";

const PEERS = 50;
const PARALLEL = DEFAULT_STARTS_PER_HOST;
const ROUNDS = 3;
const TARGET = 1.5;

const id = uniqueId("tm-bench-start");
const image = `${id}:peer`;
const basePort = 40_000 + Math.floor(Math.random() * 10_000);
const config = planConfig(ConfigSchema.parse({
  name: id,
  redis: { port: 6399, image: "unused" },
  hosts: [{
    address: "127.0.0.1",
    name: "local",
    ssh_user: "root",
    ssh_auth: "agent",
    base_port: basePort,
  }],
  peers: Array.from({ length: PEERS }, (_, i) => ({
    name: `peer${String(i).padStart(2, "0")}`,
    image,
    environment: { GREETING: "hello world", MODE: "bench" },
  })),
  commands: [],
}));
const plan = place(config);
const home = Deno.env.get("HOME") ?? "/root";
const redisUrl = "redis://host.docker.internal:6399";

async function runtimeRound(round: number): Promise<number> {
  const runId = `${id}-rt${round}`;
  const started = performance.now();
  const runtime = new DockerRuntime({
    config,
    plan,
    runId,
    connect: (host) => Promise.resolve(new LocalRemote({ name: host.name })),
  });
  const signal = new AbortController().signal;
  try {
    await runtime.setup({ emit: () => {}, signal });
    await Promise.all(plan.map((placement) =>
      runtime.start({
        placement,
        env: peerEnvironment(
          config,
          placement,
          runtime.redisUrlFor(placement, "redis://127.0.0.1:6399"),
        ),
      }, signal)
    ));
    return performance.now() - started;
  } finally {
    await runtime.teardown();
  }
}

async function baselineRound(round: number): Promise<number> {
  const runId = `${id}-bl${round}`;
  const commands = plan.map((placement) => {
    const name = containerName(config.name, placement.peer);
    return runArgs({
      image,
      name,
      labels: peerLabels(currentOwner(runId, config.name), placement.peer),
      ports: [{ host: placement.port, container: placement.port, protocol: "udp" }],
      env: peerEnvironment(config, placement, redisUrl),
      volumes: [{ source: configDir(home, name), target: "/config" }],
      addHosts: ["host.docker.internal:host-gateway"],
    });
  });
  const started = performance.now();
  try {
    let next = 0;
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (next < commands.length) {
        const args = commands[next++];
        const out = await new Deno.Command("docker", { args, stdout: "null", stderr: "piped" })
          .output();
        if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
      }
    }));
    return performance.now() - started;
  } finally {
    await removeLabelled(`tm.run=${runId}`);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

try {
  await buildBusyboxImage(image, ["sleep", "600"]);
  // Warm-up: first container creation on a fresh image pays one-time costs.
  await baselineRound(0);
  const runtimeMs: number[] = [];
  const baselineMs: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    baselineMs.push(await baselineRound(round));
    runtimeMs.push(await runtimeRound(round));
    console.error(
      `round ${round}: baseline ${baselineMs.at(-1)!.toFixed(0)} ms, runtime ${
        runtimeMs.at(-1)!.toFixed(0)
      } ms`,
    );
  }
  const ratio = median(runtimeMs) / median(baselineMs);
  console.log(`## Starting ${PEERS} containers on one host

DockerRuntime (setup + ${PEERS} \`start()\` issued at once, ${PARALLEL} \`docker run -d\` in flight
per host) versus the same ${PEERS} \`docker run -d\` command lines run ${PARALLEL} at a time by a
plain loop, on this machine's engine through LocalRemote. Median of ${ROUNDS} alternating rounds.

| Measure | Baseline (docker run -d ×${PEERS}, ${PARALLEL} parallel) | DockerRuntime | Ratio | Target | Met |
| --- | --- | --- | --- | --- | --- |
| invocation → all launched | ${median(baselineMs).toFixed(0)} ms | ${
    median(runtimeMs).toFixed(0)
  } ms | ${ratio.toFixed(2)}× | ≤ ${TARGET}× | ${ratio <= TARGET ? "met" : "missed"} |
`);
} finally {
  await removeLabelled(`tm.test=${id}`);
  await removeImages(image);
  for (const placement of plan) {
    await Deno.remove(configDir(home, containerName(config.name, placement.peer)), {
      recursive: true,
    }).catch(() => {});
  }
}
