/**
 * Fault lateness: how late faults take effect after their due time, beside how late the
 * commands of the same timeline are acknowledged, in one real run on the two-host test bed.
 * `run()` drives the Docker runtime over SSH on both hosts, Redis in a container, four reference
 * peers (two per host); the timeline pauses and resumes one peer at a time, alternating hosts,
 * and sends a `pull` to another peer at each of those instants.
 *
 * Fault lateness = the FaultControl operation (`docker pause`/`unpause` on the peer's host, over
 * tm's SSH connection) returned − due time, on the monotonic clock (`lateMs` of each
 * `fault-applied` event). Command lateness = Redis's acknowledgement − due time (`ackLateMs` of
 * `commands-acknowledged`), on the same clock from the same timer.
 *
 * Baseline, in the same run: the same `docker pause` and `docker unpause` run by the docker CLI
 * on this machine straight against each host's engine (no SSH, no tm), timed around the CLI,
 * on a container of the peer image: what the operation itself costs on this machine.
 */
import { run } from "../src/engine/run.ts";
import type { EngineEvent } from "../src/engine/events.ts";
import { ConfigSchema } from "../src/plan/schema.ts";
import { planConfig } from "../src/plan/plan_config.ts";
import { place } from "../src/plan/placement.ts";
import { createRuntime } from "../src/runtimes/registry.ts";
import { DockerRedis } from "../src/runtimes/docker/docker_redis.ts";
import { newRunId } from "../src/engine/run.ts";
import { currentOwner } from "../src/coordination/run_owner.ts";
import { hostDocker, testbed, type TestbedHost } from "../tests/support/testbed.ts";
import { freePort } from "../tests/support/redis_server.ts";
import { testbedHostEntry } from "../tests/support/e2e.ts";
import { distribution, ms, ratio } from "./support/distribution.ts";

/** Pause/resume pairs on the timeline: one fault every PERIOD_S. */
const PAIRS = 15;
const PERIOD_S = 1;
/** Pause/unpause pairs timed for the baseline, per host. */
const BASELINE_PAIRS = 15;

const bed = await testbed();
Deno.env.set("TM_KNOWN_HOSTS", bed.knownHostsPath);

const peers = [
  { name: "a0", runs_on: "a" },
  { name: "b0", runs_on: "b" },
  { name: "a1", runs_on: "a" },
  { name: "b1", runs_on: "b" },
];
/** Peer k is paused at 2k·PERIOD and resumed one PERIOD later; peer k+1 gets a pull meanwhile. */
const commands = Array.from({ length: PAIRS }, (_, k) => {
  const peer = peers[k % peers.length].name;
  const other = peers[(k + 1) % peers.length].name;
  const at = (1 + 2 * k) * PERIOD_S;
  return [
    { time: at, fault: "pause", peer },
    { time: at, peer: other, command: "pull" },
    { time: at + PERIOD_S, fault: "resume", peer },
    { time: at + PERIOD_S, peer: other, command: "pull" },
  ];
}).flat();

const host = (h: TestbedHost, tag: string) => testbedHostEntry(h, { tags: [tag] });
const config = planConfig(ConfigSchema.parse({
  name: `bench-faults-${crypto.randomUUID().slice(0, 8)}`,
  timeout: { startup: 60, shutdown: 30 },
  redis: { port: freePort(), image: bed.redisImage },
  hosts: [host(bed.hostA, "a"), host(bed.hostB, "b")],
  peers: peers.map((peer) => ({ ...peer, image: bed.peerImage })),
  commands,
}));

/** Times `docker pause` and `docker unpause` on a throwaway container of the peer image. */
async function baseline(h: TestbedHost): Promise<number[]> {
  const started = await hostDocker(h, [
    "run",
    "-d",
    "--rm",
    "--entrypoint",
    "/bin/sh",
    bed.peerImage,
    "-c",
    "sleep 600",
  ]);
  if (started.code !== 0) throw new Error(`docker run on ${h.name}: ${started.stderr.trim()}`);
  const id = started.stdout.trim();
  const times: number[] = [];
  try {
    for (let i = 0; i < BASELINE_PAIRS; i++) {
      for (const verb of ["pause", "unpause"]) {
        const t0 = performance.now();
        const done = await hostDocker(h, [verb, id]);
        times.push(performance.now() - t0);
        if (done.code !== 0) throw new Error(`docker ${verb} on ${h.name}: ${done.stderr.trim()}`);
      }
    }
  } finally {
    await hostDocker(h, ["rm", "-f", id]);
  }
  return times;
}

const bare = [...await baseline(bed.hostA), ...await baseline(bed.hostB)];

const events: EngineEvent[] = [];
const plan = place(config);
const runId = newRunId();
const result = await run({
  config,
  plan,
  runtime: createRuntime({ config, plan, runId }),
  redis: new DockerRedis({
    redis: config.redis,
    runId,
    test: config.name,
    owner: currentOwner(runId, config.name),
  }),
  emit: (event) => events.push(event),
  runId,
});
if (result.verdict !== "passed") {
  console.error(`the run ${result.verdict}: ${result.reason}`);
  Deno.exit(1);
}

const faultLate = events.flatMap((e) =>
  e.type === "fault-applied" && e.index !== undefined && e.lateMs !== undefined ? [e.lateMs] : []
);
const commandLate = events.flatMap((e) => e.type === "commands-acknowledged" ? [e.ackLateMs] : []);
const faults = distribution(faultLate);
const acks = distribution(commandLate);
const ops = distribution(bare);
console.error(
  `faults p50 ${ms(faults.p50)}, max ${ms(faults.max)}; commands p50 ${ms(acks.p50)}, max ${
    ms(acks.max)
  }; bare docker p50 ${ms(ops.p50)}`,
);

console.log(`## Fault lateness

${
  PAIRS * 2
} faults (\`pause\` and \`resume\`, one peer at a time, alternating host A and host B) and as many \`pull\` commands due at the same instants, over ${
  PAIRS * 2 * PERIOD_S
} s, in one run of \`run()\` with the Docker runtime on the two-host test bed (four reference peers, two per host, Redis in a container). Fault lateness = the \`docker pause\`/\`unpause\` over tm's SSH connection returned − due time (\`lateMs\` of \`fault-applied\`); command lateness = Redis's acknowledgement − due time (\`ackLateMs\` of \`commands-acknowledged\`), both on the monotonic clock from the same timer. Faults run one after another on their own queue, so a command never waits for a fault. Baseline: the same \`docker pause\`/\`unpause\` by the docker CLI on this machine straight against each host's engine (no SSH, no tm), ${
  BASELINE_PAIRS * 2
} per host, timed around the CLI.

| Figure | Faults (pause/resume) | Commands (same timeline) | Bare docker CLI (baseline) | faults / bare |
| --- | --- | --- | --- | --- |
| lateness, p50 | ${ms(faults.p50)} | ${ms(acks.p50)} | ${ms(ops.p50)} | ${
  ratio(faults.p50, ops.p50)
} |
| lateness, max | ${ms(faults.max)} | ${ms(acks.max)} | ${ms(ops.max)} | ${
  ratio(faults.max, ops.max)
} |
| count | ${faults.count} / ${PAIRS * 2} | ${acks.count} batches | ${ops.count} | — |`);
