/**
 * Test support: the contract every PeerRuntime keeps (`src/engine/runtime.ts`), as one set of
 * tests run against each runtime with real Redis and real peers (the reference peer). A new
 * runtime (Kubernetes, Swarm) passes it before the engine may drive it.
 *
 * The contract: a started peer runs with the environment it was given (it reports `started`
 * through Redis); its exit is reported once, with its code and its last output lines; `id`
 * names it; events carry no time of their own (the engine stamps them); `teardown` ends and
 * removes every peer, resolves every `exited`, is idempotent, refuses later starts, and hands
 * each peer's whole output to `collectOutput` first; a forced teardown does the same without
 * waiting for a polite stop.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { settledWithin } from "../../src/base/async.ts";
import { type Config, ConfigSchema } from "../../src/plan/schema.ts";
import { planConfig } from "../../src/plan/plan_config.ts";
import type { Coordination } from "../../src/coordination/coordination.ts";
import { RedisCoordination } from "../../src/coordination/redis_coordination.ts";
import type { UnstampedEvent } from "../../src/engine/events.ts";
import { exitOutput, type PeerRuntime, type RunningPeer } from "../../src/engine/runtime.ts";
import { peerEnvironment } from "../../src/plan/environment.ts";
import { place, type PlacedPeer } from "../../src/plan/placement.ts";
import { startRedisServer } from "./redis_server.ts";
import { nextBasePort, uniqueTestName } from "./e2e.ts";

/** One runtime under the contract. */
export interface RuntimeUnderTest {
  /** Test name prefix: `ProcessRuntime`, `DockerRuntime (connection: local)`. */
  name: string;
  /** What the tests need, for their names: `[integration: redis-server, docker]`. */
  needs: string;
  /** The one host entry of the config (without `base_port`). */
  host(): Promise<Record<string, unknown>>;
  /** The peers' image (the process runtime ignores it). */
  image(): Promise<string>;
  /**
   * A runtime whose hosts are found at run time (the registry's `hosts` step): the config with
   * its hosts found, before placement. Default: the config's hosts are the hosts.
   */
  hosts?(config: Config): Promise<Config>;
  /** Why the runtime cannot be tested here; its tests are then ignored. Default: none. */
  ignore?: string;
  /** Builds the runtime for one run. */
  create(options: { config: Config; plan: PlacedPeer[]; runId: string }): PeerRuntime;
  /** What run `runId` left running or present (container names, pids); empty when clean. */
  leftovers(runId: string, peers: RunningPeer[]): Promise<string[]>;
}

/** How long a peer gets to report `started` (a cold container start over SSH included). */
const STARTED_WITHIN_MS = 60_000;

/** Registers the contract's tests for `subject`. */
export function runtimeContract(subject: RuntimeUnderTest): void {
  const test = (what: string, body: (run: ContractRun) => Promise<void>) =>
    Deno.test({
      name: `${subject.name} ${what} ${subject.needs}${
        subject.ignore ? ` (ignored: ${subject.ignore})` : ""
      }`,
      ignore: subject.ignore !== undefined,
    }, async () => {
      await using run = await ContractRun.open(subject);
      await body(run);
    });

  test("runs a peer that reports started through Redis, and reports its exit with code and output", async (run) => {
    const alice = await run.start("alice");
    assertEquals(alice.name, "alice");
    assert(alice.id.length > 0, "RunningPeer.id names the peer");
    await run.startedReported("alice");
    await run.coordination.send([{ peer: "alice", command: "exit|3" }]);
    const exit = await alice.exited;
    assertEquals(exit.code, 3);
    const { output } = await exitOutput(exit);
    assert(
      output.some((line) => line.includes("alice starting")),
      `the exit report carries the peer's output, got ${JSON.stringify(output)}`,
    );
  });

  test("emits events without a time of their own (the engine stamps them)", async (run) => {
    await run.start("alice");
    await run.startedReported("alice");
    await run.runtime.teardown();
    assert(run.events.length > 0, "setup or teardown reported something");
    for (const event of run.events) {
      assert(!("t" in event), `${event.type} carries t: the engine stamps events, not runtimes`);
    }
  });

  test("teardown() ends and removes every peer, resolves every exit, is idempotent and refuses later starts", async (run) => {
    const peers = [await run.start("alice"), await run.start("bob")];
    await Promise.all([run.startedReported("alice"), run.startedReported("bob")]);
    const first = run.runtime.teardown();
    assert(run.runtime.teardown() === first, "a second teardown() returns the first one's promise");
    await first;
    for (const peer of peers) {
      assert(await settledWithin(peer.exited, 0), `${peer.name}'s exit resolved by teardown`);
    }
    assertEquals(await subject.leftovers(run.runId, peers), []);
    await run.runtime.teardown();
    await assertRejects(() => run.start("carol"), Error);
    assertEquals(await subject.leftovers(run.runId, peers), []);
  });

  test("teardown({ collectOutput }) streams every peer's whole output, a crashed peer's too, each line with its time, before removing it", async (run) => {
    const alice = await run.start("alice");
    const bob = await run.start("bob");
    await Promise.all([run.startedReported("alice"), run.startedReported("bob")]);
    await run.coordination.send([{ peer: "bob", command: "exit|3" }]);
    assertEquals((await bob.exited).code, 3);
    const collected = new Map<string, string>();
    const untimed: string[] = [];
    await run.runtime.teardown({
      collectOutput: async (peer, lines) => {
        const texts: string[] = [];
        for await (const { at, text } of lines) {
          texts.push(text);
          if (!Number.isFinite(Date.parse(at))) untimed.push(`${peer}: ${JSON.stringify(at)}`);
        }
        collected.set(peer, texts.join("\n"));
      },
    });
    assertEquals([...collected.keys()].sort(), ["alice", "bob"]);
    for (const peer of ["alice", "bob"]) {
      assert(collected.get(peer)!.includes(`${peer} starting`), `${peer}: ${collected.get(peer)}`);
    }
    assertEquals(untimed, []);
    assertEquals(await subject.leftovers(run.runId, [alice, bob]), []);
  });

  test("teardown({ force }) escalates a teardown under way: it ends every peer and leaves nothing", async (run) => {
    const alice = await run.start("alice");
    await run.startedReported("alice");
    const polite = run.runtime.teardown();
    await run.runtime.teardown({ force: true });
    await polite;
    assert(await settledWithin(alice.exited, 0), "alice's exit resolved by teardown");
    assertEquals(await subject.leftovers(run.runId, [alice]), []);
  });

  test("teardown({ force }) ends every peer at once and leaves nothing", async (run) => {
    const alice = await run.start("alice");
    await run.startedReported("alice");
    await run.runtime.teardown({ force: true });
    assert(await settledWithin(alice.exited, 0), "alice's exit resolved by teardown");
    assertEquals(await subject.leftovers(run.runId, [alice]), []);
    assert(
      !run.events.some((e) => e.type === "warning" && e.message.includes("did not exit within")),
      "a forced teardown does not wait for a polite stop",
    );
  });
}

/** One contract test's Redis, config and runtime; `await using` tears all of it down. */
class ContractRun implements AsyncDisposable {
  readonly events: UnstampedEvent[] = [];
  readonly #plan: Map<string, PlacedPeer>;

  private constructor(
    readonly runId: string,
    readonly config: Config,
    readonly runtime: PeerRuntime,
    readonly coordination: Coordination,
    readonly redisUrl: string,
    readonly stopRedis: () => Promise<void>,
  ) {
    this.#plan = new Map(place(config).map((p) => [p.peer, p]));
  }

  static async open(subject: RuntimeUnderTest): Promise<ContractRun> {
    // Peers in containers reach it through the host's bridge or the testbed's link.
    const redis = await startRedisServer({
      extraArgs: ["--bind", "0.0.0.0", "--protected-mode", "no"],
    });
    try {
      const image = await subject.image();
      const written = planConfig(ConfigSchema.parse({
        name: uniqueTestName("contract"),
        redis: { port: 6399, image: "unused" },
        peer_environment: { ADVERTISE_IP: "127.0.0.1" },
        hosts: [{ ...await subject.host(), base_port: nextBasePort() }],
        peers: ["alice", "bob", "carol"].map((name) => ({ name, image })),
        commands: [],
      }));
      const config = subject.hosts ? await subject.hosts(written) : written;
      const plan = place(config);
      const runId = crypto.randomUUID().slice(0, 8);
      const runtime = subject.create({ config, plan, runId });
      const coordination = await RedisCoordination.open(redis.url, {
        signal: AbortSignal.timeout(10_000),
      });
      const run = new ContractRun(runId, config, runtime, coordination, redis.url, redis.stop);
      try {
        await runtime.setup({
          emit: (event) => run.events.push(event),
          signal: new AbortController().signal,
        });
      } catch (error) {
        await run[Symbol.asyncDispose]();
        throw error;
      }
      return run;
    } catch (error) {
      await redis.stop();
      throw error;
    }
  }

  /** Starts one peer of the config with the environment the engine would give it. */
  start(peer: string): Promise<RunningPeer> {
    const placement = this.#plan.get(peer)!;
    const env = peerEnvironment(
      this.config,
      placement,
      this.runtime.redisUrlFor(placement, this.redisUrl),
    );
    return this.runtime.start({ placement, env }, new AbortController().signal);
  }

  /** Resolves once `peer` reported `started` through Redis. */
  async startedReported(peer: string): Promise<void> {
    const signal = AbortSignal.timeout(STARTED_WITHIN_MS);
    for await (const update of this.coordination.statuses([peer], signal)) {
      if (update.status === "started") return;
    }
    throw new Error(`${peer} did not report started within ${STARTED_WITHIN_MS / 1_000} s`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.runtime.teardown({ force: true });
    } finally {
      await this.coordination.close().catch(() => {});
      await this.stopRedis();
    }
  }
}
