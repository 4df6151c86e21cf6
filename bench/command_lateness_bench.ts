/**
 * Command lateness: 1,000 timeline commands to 100 peers within 10 s, sent by the real run
 * engine (`run()`) through RedisCoordination to a local redis-server, with the log file being
 * written as in a real run. Lateness = the time tm received Redis's acknowledgement of the
 * batch's RPUSH pipeline − the due time, on the monotonic clock (`ackLateMs` of each
 * `commands-acknowledged` event). Targets (issue 3): p99 ≤ 2 ms, max ≤ 10 ms, on tm's figure.
 *
 * Baseline, in the same run: a bare ioredis client sending the same RPUSH pipelines on the
 * same schedule with the same timer (the engine's `monotonicClock`: a timeout, then a short
 * busy-wait), to the same simulated peers, so `tm / bare` tells tm's cost from the machine's.
 * Rounds alternate (bare, tm, tm, bare) so a drift in load hits both.
 *
 * The 100 peers are real clients of `lib/typescript`, spread over PROCESSES child processes
 * (so they do not share tm's event loop): each reports `started`, pops its commands and
 * reports `stopped` on `shutdown`. What each received is compared with the config's commands
 * for that peer in timeline order, so a lost, duplicated or misrouted command shows.
 */
import { Redis } from "ioredis";
import { run } from "../src/engine/run.ts";
import type { EngineEvent } from "../src/engine/events.ts";
import type { PeerExit, PeerLaunch, PeerRuntime, RunningPeer } from "../src/engine/runtime.ts";
import { batchTimeline, buildTimeline, monotonicClock } from "../src/engine/timeline.ts";
import { ConfigSchema } from "../src/plan/schema.ts";
import { planConfig } from "../src/plan/plan_config.ts";
import { place } from "../src/plan/placement.ts";
import { openLogFile } from "../src/record/log_file.ts";
import { startRedisServer } from "../tests/support/redis_server.ts";
import { lines } from "../tests/support/process_output.ts";
import { until } from "../tests/support/until.ts";
import { distribution, met, ms, ratio } from "./support/distribution.ts";

const PEERS = 100;
const PROCESSES = 4;
const COMMANDS = 1_000;
const SPAN_S = 10;
const ROUNDS = ["bare", "tm", "tm", "bare"] as const;
const TARGETS = { p99: 2, max: 10 };

const CLIENT = new URL("../lib/typescript/mod.ts", import.meta.url).href;

/** The simulated peers: argv = peer names; env REDIS_URL. Prints `done <peer> <commands…>`. */
const PEERS_SCRIPT = `
import { MuleClientBuilder } from ${JSON.stringify(CLIENT)};
const url = Deno.env.get("REDIS_URL");
await Promise.all(Deno.args.map(async (name, i) => {
  const client = await new MuleClientBuilder().redisUrl(url).peerName(name).build();
  await client.sendStatus("started|vlad-" + name + "|/ip4/127.0.0.1/udp/" + (30000 + i) + "/quic-v1");
  const received = [];
  for await (const command of client) {
    if (command === "shutdown") break;
    received.push(command);
  }
  // Said before "stopped": once every peer stopped, the engine may tear the processes down.
  console.log("done " + name + " " + JSON.stringify(received));
  await client.sendStatus("stopped");
  await client.close();
}));
`;

/**
 * The peers, spread over PROCESSES child processes spawned together. Serves as tm's
 * PeerRuntime (spawned at the first `start()`) and, through `spawn()`, as the baseline's peers.
 */
class SimulatedPeers implements PeerRuntime {
  readonly kind = "simulated";
  #children: Deno.ChildProcess[] = [];
  #exits = new Map<string, PromiseWithResolvers<PeerExit>>();
  /** What each peer received before `shutdown`, once it stopped. */
  readonly received = new Map<string, string[]>();

  constructor(readonly names: string[]) {
    for (const name of names) this.#exits.set(name, Promise.withResolvers());
  }

  setup(): Promise<void> {
    return Promise.resolve();
  }

  redisUrlFor(_placement: unknown, url: string): string {
    return url;
  }

  start(launch: PeerLaunch): Promise<RunningPeer> {
    if (this.#children.length === 0) this.spawn(launch.env.REDIS_URL);
    const name = launch.placement.peer;
    return Promise.resolve({ name, id: name, exited: this.#exits.get(name)!.promise });
  }

  /** Starts every peer against `redisUrl`. */
  spawn(redisUrl: string): void {
    const per = Math.ceil(this.names.length / PROCESSES);
    for (let i = 0; i < this.names.length; i += per) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["eval", "--ext=js", PEERS_SCRIPT, ...this.names.slice(i, i + per)],
        env: { REDIS_URL: redisUrl },
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      this.#children.push(child);
      this.#watch(child);
    }
  }

  async #watch(child: Deno.ChildProcess): Promise<void> {
    for await (const line of lines(child.stdout)) {
      const match = /^done (\S+) (.*)$/.exec(line);
      if (!match) continue;
      this.received.set(match[1], JSON.parse(match[2]));
      this.#exits.get(match[1])?.resolve({ code: 0, output: [] });
    }
    const status = await child.status;
    for (const exit of this.#exits.values()) exit.resolve({ code: status.code, output: [] });
  }

  /** Resolves once every peer stopped (or its process ended). */
  async stopped(): Promise<void> {
    await Promise.all([...this.#exits.values()].map((exit) => exit.promise));
  }

  async teardown(): Promise<void> {
    await Promise.all(this.#children.map(async (child) => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.status;
    }));
    await this.stopped();
  }
}

/** A deterministic generator (mulberry32), so every run sends the same timeline. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const names = Array.from({ length: PEERS }, (_, i) => `peer-${String(i).padStart(3, "0")}`);
const rand = random(42);
const commands = Array.from({ length: COMMANDS }, (_, i) => ({
  // Millisecond times spread over the span: some instants get several commands (bursts).
  time: Math.floor(rand() * SPAN_S * 1_000) / 1_000,
  peer: names[Math.floor(rand() * PEERS)],
  command: i % 3 === 0
    ? `push|${names[i % PEERS]}|message ${i}`
    : i % 3 === 1
    ? "pull"
    : "rotate-key",
}));
const config = planConfig(ConfigSchema.parse({
  name: "command-lateness-bench",
  timeout: { startup: 60, shutdown: 30 },
  redis: { port: 6399, image: "redis:7-alpine" },
  hosts: [{ address: "127.0.0.1", ssh_user: "bench", ssh_auth: "agent", base_port: 30000 }],
  peers: names.map((name) => ({ name, image: "simulated" })),
  commands,
}));

/** The config's commands for each peer in timeline order (by time; equal times in file order). */
const expected = new Map<string, string[]>(names.map((name) => [name, []]));
for (
  const { peer, command } of commands
    .map((entry, order) => ({ ...entry, order }))
    .sort((a, b) => a.time - b.time || a.order - b.order)
) expected.get(peer)!.push(command);

/** One round's figures: lateness per command, ms, and the peers' deliveries. */
interface Round {
  /** Acknowledged − due, per command. */
  ack: number[];
  /** Released by the timer − due, per command (before the RPUSH is written). */
  dispatch: number[];
  /** Peers whose received commands equal the config's, in order. */
  delivered: number;
}

/** Peers that received exactly their expected commands; each other one is named on stderr. */
function deliveredCount(peers: SimulatedPeers): number {
  return names.filter((name) => {
    const got = JSON.stringify(peers.received.get(name));
    const want = JSON.stringify(expected.get(name));
    if (got !== want) console.error(`${name} received ${got}, expected ${want}`);
    return got === want;
  }).length;
}

/** tm: the whole run through `run()`, with the log file written. */
async function tmRound(): Promise<Round> {
  const dir = await Deno.makeTempDir({ prefix: "tm-lateness-bench-" });
  const log = openLogFile(`${dir}/bench.log`);
  const round: Round = { ack: [], dispatch: [], delivered: 0 };
  const peers = new SimulatedPeers(names);
  try {
    const result = await run({
      config,
      plan: place(config),
      runtime: peers,
      redis: { start: () => startRedisServer() },
      emit: (event: EngineEvent) => {
        log.sink(event);
        if (event.type === "commands-acknowledged") {
          for (const _ of event.indexes) round.ack.push(event.ackLateMs);
        } else if (event.type === "command-sent" && event.lateMs !== undefined) {
          round.dispatch.push(event.lateMs);
        }
      },
    });
    if (result.exitCode !== 0) throw new Error(`the run failed: ${result.reason}`);
  } finally {
    await log.close();
    await Deno.remove(dir, { recursive: true });
  }
  round.delivered = deliveredCount(peers);
  return round;
}

/**
 * The baseline: the same peers, the same batches at the same due times with the same timer,
 * each batch one RPUSH pipeline (consecutive commands to one peer share an RPUSH, as tm's
 * do) from a plain ioredis client, not awaited before the next batch.
 */
async function bareRound(): Promise<Round> {
  await using redis = await startRedisServer();
  const client = new Redis(redis.url);
  const peers = new SimulatedPeers(names);
  const round: Round = { ack: [], dispatch: [], delivered: 0 };
  try {
    peers.spawn(redis.url);
    const statusKeys = names.map((name) => `${name}_status`);
    await until("every simulated peer started", async () => {
      const statuses = await client.mget(statusKeys);
      return statuses.every((status) => status?.startsWith("started|")) || undefined;
    }, 60_000);
    const signal = new AbortController().signal;
    const acks: Promise<void>[] = [];
    const start = monotonicClock.now();
    for (const batch of batchTimeline(buildTimeline(config.commands))) {
      const due = start + batch.dueMs;
      await monotonicClock.sleepUntil(due, signal);
      const late = monotonicClock.now() - due;
      const pipeline = client.pipeline();
      for (let i = 0; i < batch.commands.length;) {
        const peer = batch.commands[i].peer;
        const values: string[] = [];
        for (; i < batch.commands.length && batch.commands[i].peer === peer; i++) {
          values.push(batch.commands[i].command);
        }
        pipeline.rpush(`${peer}_command`, ...values);
      }
      acks.push(
        pipeline.exec().then(() => {
          const ackLate = monotonicClock.now() - due;
          for (const _ of batch.commands) round.ack.push(ackLate);
        }),
      );
      for (const _ of batch.commands) round.dispatch.push(late);
    }
    await Promise.all(acks);
    await client.pipeline(names.map((name) => ["rpush", `${name}_command`, "shutdown"])).exec();
    await peers.stopped();
  } finally {
    client.disconnect();
    await peers.teardown();
  }
  round.delivered = deliveredCount(peers);
  return round;
}

const rounds = { tm: [] as Round[], bare: [] as Round[] };
for (const which of ROUNDS) {
  const round = await (which === "tm" ? tmRound() : bareRound());
  const { p50, p99, max } = distribution(round.ack);
  console.error(`${which}: to the ack p50 ${ms(p50, 3)}, p99 ${ms(p99, 3)}, max ${ms(max, 3)}`);
  rounds[which].push(round);
}

const pooled = (which: "tm" | "bare", key: "ack" | "dispatch") =>
  distribution(rounds[which].flatMap((round) => round[key]));
const ack = { tm: pooled("tm", "ack"), bare: pooled("bare", "ack") };
const dispatch = { tm: pooled("tm", "dispatch"), bare: pooled("bare", "dispatch") };
const perRound = ROUNDS.length / 2;
const commandsSent = perRound * COMMANDS;
const delivered = (which: "tm" | "bare") => rounds[which].reduce((n, r) => n + r.delivered, 0);
const batches = batchTimeline(buildTimeline(config.commands)).length;
const row = (
  name: string,
  tm: number,
  bare: number,
  target = "—",
  result = "—",
) => `| ${name} | ${ms(tm, 3)} | ${ms(bare, 3)} | ${ratio(tm, bare)} | ${target} | ${result} |`;
console.log(`## Command lateness

${
  COMMANDS.toLocaleString("en")
} timeline commands (${batches} distinct due times) to ${PEERS} peers over ${SPAN_S} s. tm: sent by \`run()\` through RedisCoordination to a local redis-server while the log file is written. Baseline: a bare ioredis client sending the same RPUSH pipelines on the same schedule with the same timer (\`monotonicClock\`: a timeout, then a busy-wait) to the same peers on a fresh redis-server. Lateness = Redis's acknowledgement of the batch's pipeline received − due time, on the monotonic clock (tm: \`ackLateMs\` of \`commands-acknowledged\`). ${ROUNDS.length} rounds (${
  ROUNDS.join(", ")
}), pooled per side. The peers are ${PEERS} \`lib/typescript\` clients in ${PROCESSES} child processes; what each received is compared with the config's commands for it, in timeline order.

| Figure | tm | bare ioredis (baseline) | tm / bare | Target | Result |
| --- | --- | --- | --- | --- | --- |
${row("lateness to the ack, p50", ack.tm.p50, ack.bare.p50)}
${
  row(
    "lateness to the ack, p99",
    ack.tm.p99,
    ack.bare.p99,
    `≤ ${TARGETS.p99} ms (tm)`,
    met(ack.tm.p99 <= TARGETS.p99),
  )
}
${
  row(
    "lateness to the ack, max",
    ack.tm.max,
    ack.bare.max,
    `≤ ${TARGETS.max} ms (tm)`,
    met(ack.tm.max <= TARGETS.max),
  )
}
${row("timer → dispatch (before the RPUSH is written), p99", dispatch.tm.p99, dispatch.bare.p99)}
| commands acknowledged | ${ack.tm.count} / ${commandsSent} | ${ack.bare.count} / ${commandsSent} | — | all (tm) | ${
  met(ack.tm.count === commandsSent)
} |
| peers that received exactly the config's commands, in order | ${delivered("tm")} / ${
  perRound * PEERS
} | ${delivered("bare")} / ${perRound * PEERS} | — | all (tm) | ${
  met(delivered("tm") === perRound * PEERS)
} |`);
