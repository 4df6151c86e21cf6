/**
 * Fault lateness, as the engines themselves clock it: in one real run on the two-host test bed
 * (the Docker runtime over SSH on both hosts, Redis in a container, four reference peers, two per
 * host), the timeline pauses and resumes one peer at a time, alternating hosts, and sends a `pull`
 * to another peer at each of those instants.
 *
 * Fault lateness = the time the peer's engine stamped on its `pause`/`unpause` event (`/events`,
 * `timeNano`) − the fault's due time, on the machine's wall clock (host B is a network namespace
 * of this machine: one clock). The due time is the injector's (`performance.timeOrigin` + the
 * monotonic due instant, `lateMs` back from its `fault-applied`).
 *
 * Baseline, interleaved in the same run, from the same process: the bare API call. Half a period
 * after each fault, a `pause` or `unpause` of a throwaway container on the same host, through a
 * DockerEngine on an SSH connection of its own, due on the same kind of timer and measured the
 * same way (the engine's event time − its due time). Commands: Redis's acknowledgement − due time (`ackLateMs`),
 * beside a bare ioredis client sending an RPUSH to the same Redis at the baseline's instants
 * (written before the bare API call starts, as tm writes a batch's commands before its faults).
 *
 * Targets (issue 16): fault lateness p50 ≤ 20 ms and p99 ≤ 100 ms; command lateness p99 within
 * 1.2× the bare client's.
 */
import { Redis } from "ioredis";
import { newRunId, run } from "../src/engine/run.ts";
import type { EngineEvent } from "../src/engine/events.ts";
import { ConfigSchema } from "../src/plan/schema.ts";
import { planConfig } from "../src/plan/plan_config.ts";
import { place } from "../src/plan/placement.ts";
import { createRuntime } from "../src/runtimes/registry.ts";
import { DockerRedis } from "../src/runtimes/docker/docker_redis.ts";
import { DockerEngine, engineSocketOf } from "../src/runtimes/docker/engine_api.ts";
import type { DockerEvent } from "../src/runtimes/docker/docker.ts";
import { containerName } from "../src/runtimes/docker/container_names.ts";
import { SshRemote } from "../src/transport/ssh.ts";
import { currentOwner } from "../src/coordination/run_owner.ts";
import { sshOptions, testbed, type TestbedHost } from "../tests/support/testbed.ts";
import { freePort } from "../tests/support/redis_server.ts";
import { testbedHostEntry } from "../tests/support/e2e.ts";
import { distribution, met, ms, ratio } from "./support/distribution.ts";

/**
 * Pause/resume pairs on the timeline: one fault every PERIOD_S (200 faults on two hosts, over
 * 80 s). 200, so that p99 is the 99th percentile (nearest rank: the 3rd largest), not the
 * largest, which it is for 100 samples or fewer; a pause or unpause takes ~20 ms, so the bare
 * call half a period later never overlaps a fault.
 */
const PAIRS = 100;
const PERIOD_S = 0.4;
const TARGET_P50_MS = 20;
const TARGET_P99_MS = 100;
const TARGET_COMMANDS = 1.2;

/** The machine's 1-minute load average: the figures depend on what else runs. */
const loadAverage = async () => (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
const loadAtStart = await loadAverage();

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
  const at = Math.round((1 + 2 * k) * PERIOD_S * 1000) / 1000;
  return [
    { time: at, fault: "pause", peer },
    { time: at, peer: other, command: "pull" },
    { time: Math.round((at + PERIOD_S) * 1000) / 1000, fault: "resume", peer },
    { time: Math.round((at + PERIOD_S) * 1000) / 1000, peer: other, command: "pull" },
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
const runId = newRunId();
const hosts = [bed.hostA, bed.hostB];
const label = `tm.bench-fault-lateness=${runId}`;

/** Wall-clock ms of a monotonic instant of this process. */
const wallOf = (monotonic: number) => performance.timeOrigin + monotonic;

/** Per host: its own SSH connection and engine (the baseline's), and its events, all of them. */
const watched = await Promise.all(hosts.map(async (h) => {
  const ssh = await SshRemote.connect(sshOptions(bed, h));
  const engine = new DockerEngine({
    host: h.name,
    dial: (signal) => ssh.dialSocket(engineSocketOf(h.dockerHost)!, signal),
  });
  const events: DockerEvent[] = [];
  const stop = new AbortController();
  const since = String(Math.floor(Date.now() / 1000) - 1);
  const watching = (async () => {
    for await (
      const event of engine.events(["type=container", "event=pause", "event=unpause"], {
        since,
        signal: stop.signal,
      })
    ) events.push(event);
  })().catch(() => {});
  return { h, ssh, engine, events, stop, watching };
}));

/** The bare API calls (baseline): due at (wall clock), host, action. */
const bare: { dueWall: number; host: number; action: string }[] = [];
/** The bare ioredis client's ack lateness, ms. */
const bareAcks: number[] = [];

/** Runs the interleaved baselines once the timeline starts: half a period after each fault. */
async function baselines(timelineStart: number, signal: AbortSignal): Promise<void> {
  const containers = await Promise.all(watched.map(({ engine }) =>
    engine.run({
      image: bed.peerImage,
      name: `${runId}-bare-${engine.host}`,
      labels: { "tm.bench-fault-lateness": runId },
      entrypoint: ["/bin/sh", "-c"],
      command: ["sleep 600"],
    })
  ));
  const redis = new Redis({ port: config.redis.port, host: "127.0.0.1", lazyConnect: true });
  await redis.connect();
  try {
    for (let k = 0; k < PAIRS * 2; k++) {
      const due = timelineStart + ((1 + k) * PERIOD_S + PERIOD_S / 2) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (signal.aborted) return;
      const hostIndex = Math.floor(k / 2) % 2;
      const { engine } = watched[hostIndex];
      const action = k % 2 === 0 ? "pause" : "unpause";
      const container = containers[hostIndex];
      bare.push({ dueWall: wallOf(due), host: hostIndex, action });
      // The RPUSH first, as tm writes a batch's pipeline before its faults' requests start: the
      // other order would hold the bare client's write behind the API call's request work and
      // flatter tm's ratio.
      const acked = redis.rpush(`${runId}-bare`, "x")
        .then(() => bareAcks.push(performance.now() - due));
      await Promise.all([
        action === "pause" ? engine.pause(container) : engine.unpause(container),
        acked,
      ]);
    }
  } finally {
    await redis.del(`${runId}-bare`).catch(() => {});
    redis.disconnect();
    await Promise.all(watched.map(({ engine }) => engine.removeLabelled([label])));
  }
}

const events: EngineEvent[] = [];
/** Each timeline fault's due instant, wall-clock ms, by index. */
const dueWall = new Map<number, { peer: string; fault: string; wall: number }>();
const baselineStop = new AbortController();
let baselineRun: Promise<void> = Promise.resolve();
const plan = place(config);
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
  emit: (event) => {
    events.push(event);
    const now = performance.now();
    if (event.type === "phase" && event.phase === "timeline") {
      baselineRun = baselines(now, baselineStop.signal);
    }
    if (
      event.type === "fault-applied" && event.index !== undefined && event.lateMs !== undefined
    ) {
      dueWall.set(event.index, {
        peer: event.action.peers[0],
        fault: event.action.fault,
        wall: wallOf(now - event.lateMs),
      });
    }
  },
  runId,
});
baselineStop.abort();
await baselineRun.catch((error) => console.error(`baseline: ${error}`));
await new Promise((resolve) => setTimeout(resolve, 500)); // the last events on their way
for (const w of watched) {
  w.stop.abort();
  await w.watching;
  w.engine.close();
  await w.ssh.close();
}
if (result.verdict !== "passed") {
  console.error(`the run ${result.verdict}: ${result.reason}`);
  Deno.exit(1);
}

/** The engine's event time (ms) of the n-th `action` of `container` on any host. */
function engineTimes(container: string, action: string): number[] {
  return watched.flatMap((w) => w.events)
    .filter((e) => e.attributes.name === container && e.action === action)
    .map((e) => e.timeNano / 1e6).sort((a, b) => a - b);
}

const faultLate: number[] = [];
for (const peer of peers.map((p) => p.name)) {
  const container = containerName(config.name, peer);
  for (const [fault, action] of [["pause", "pause"], ["resume", "unpause"]]) {
    const due = [...dueWall.values()].filter((d) => d.peer === peer && d.fault === fault)
      .map((d) => d.wall).sort((a, b) => a - b);
    const seen = engineTimes(container, action);
    due.forEach((at, i) => {
      if (seen[i] !== undefined) faultLate.push(seen[i] - at);
    });
  }
}
const bareLate: number[] = [];
for (
  const [hostIndex, action] of [[0, "pause"], [0, "unpause"], [1, "pause"], [1, "unpause"]] as const
) {
  const calls = bare.filter((b) => b.host === hostIndex && b.action === action);
  const seen = engineTimes(`${runId}-bare-${hosts[hostIndex].name}`, action);
  calls.forEach((call, i) => {
    if (seen[i] !== undefined) bareLate.push(seen[i] - call.dueWall);
  });
}
const commandLate = events.flatMap((e) => e.type === "commands-acknowledged" ? [e.ackLateMs] : []);
const faults = distribution(faultLate);
const ops = distribution(bareLate);
const acks = distribution(commandLate);
const bareRedis = distribution(bareAcks);
const okP50 = faults.p50 <= TARGET_P50_MS;
const okP99 = faults.p99 <= TARGET_P99_MS;
const okCommands = acks.p99 <= TARGET_COMMANDS * bareRedis.p99;
console.error(
  `faults p50 ${ms(faults.p50)}, p99 ${ms(faults.p99)} (${faults.count}); bare API p50 ${
    ms(ops.p50)
  } (${ops.count}); commands p99 ${ms(acks.p99)}, bare ioredis p99 ${ms(bareRedis.p99)}`,
);

console.log(`## Fault lateness

${
  PAIRS * 2
} faults (\`pause\` and \`resume\`, one peer at a time, alternating host A and host B) and as many \`pull\` commands due at the same instants, over ${
  PAIRS * 2 * PERIOD_S
} s, in one run of \`run()\` with the Docker runtime on the two-host test bed over SSH (four reference peers, two per host, Redis in a container). Fault lateness = the engine's own time of its \`pause\`/\`unpause\` event (\`/events\` \`timeNano\`) − the fault's due time, on the machine's one wall clock. Baseline, interleaved in the same run from the same process: the bare Engine API call (\`pause\`/\`unpause\` of a throwaway container on the same host, through a DockerEngine on an SSH connection of its own) half a period after each fault, due on its own timer and measured the same way. Commands: Redis's acknowledgement − due time (\`ackLateMs\`), beside a bare ioredis client's RPUSH to the same Redis at the baseline's instants.

| Figure | tm | Baseline | tm / baseline | Target | Result |
| --- | --- | --- | --- | --- | --- |
| fault lateness, p50 (engine clock) | ${ms(faults.p50)} | ${ms(ops.p50)} (bare API call) | ${
  ratio(faults.p50, ops.p50)
} | ≤ ${TARGET_P50_MS} ms | ${met(okP50)} |
| fault lateness, p99 (engine clock) | ${ms(faults.p99)} | ${ms(ops.p99)} (bare API call) | ${
  ratio(faults.p99, ops.p99)
} | ≤ ${TARGET_P99_MS} ms | ${met(okP99)} |
| command lateness, p99 (Redis ack) | ${ms(acks.p99)} | ${ms(bareRedis.p99)} (bare ioredis) | ${
  ratio(acks.p99, bareRedis.p99)
} | ≤ ${TARGET_COMMANDS}× | ${met(okCommands)} |
| fault lateness, max (engine clock) | ${ms(faults.max)} | ${ms(ops.max)} (bare API call) | ${
  ratio(faults.max, ops.max)
} | — | — |
| count | ${faults.count} / ${
  PAIRS * 2
} faults, ${acks.count} batches | ${ops.count} calls, ${bareRedis.count} RPUSHes | — | — | — |

Load average (1 min) at the start and the end of the run: ${loadAtStart} and ${await loadAverage()}, on ${navigator.hardwareConcurrency} cores.`);
