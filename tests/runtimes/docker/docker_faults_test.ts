/**
 * DockerFaults (the Docker runtime's FaultControl) on the two-host test bed, driven through a
 * real DockerRuntime with real Redis and reference peers that measure what they see: each peer
 * runs a UDP echo, and `probe|<ip>:<port>|<n>` times round trips to another peer's address as
 * advertised (its host's address and published port). alice and bob run on host A, carol and
 * dave on host B.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { type Config, ConfigSchema } from "../../../src/plan/schema.ts";
import { planConfig } from "../../../src/plan/plan_config.ts";
import { RedisCoordination } from "../../../src/coordination/redis_coordination.ts";
import type { LogEntry } from "../../../src/coordination/coordination.ts";
import {
  type FaultName,
  FaultTargetGoneError,
  FaultToolError,
} from "../../../src/engine/runtime.ts";
import type { RunningPeer } from "../../../src/engine/runtime.ts";
import { peerEnvironment } from "../../../src/plan/environment.ts";
import { DockerRuntime } from "../../../src/runtimes/docker/docker_runtime.ts";
import { DockerFaults } from "../../../src/runtimes/docker/docker_faults.ts";
import type { DockerEngine } from "../../../src/runtimes/docker/engine_api.ts";
import type { HostCommands } from "../../../src/transport/host_shell.ts";
import { connectHost } from "../../../src/transport/connect.ts";
import { LocalRemote } from "../../../src/transport/local.ts";
import { checkFaultTools } from "../../../src/runtimes/docker/fault_preflight.ts";
import { place, type PlacedPeer } from "../../../src/plan/placement.ts";
import { testbedHostEntry, uniqueTestName } from "../../support/e2e.ts";
import { type LocalRedis, startRedisServer } from "../../support/redis_server.ts";
import { kernelHasNetem, type Testbed, testbed } from "../../support/testbed.ts";
import { until } from "../../support/until.ts";

const PEERS = { alice: "a", bob: "a", carol: "b", dave: "b" } as const;
type Peer = keyof typeof PEERS;
const STARTED_WITHIN_MS = 60_000;

const NETEM = await kernelHasNetem();

/** A DockerRuntime with the four peers started and reporting, their logs collected. */
class FaultBed implements AsyncDisposable {
  readonly running = new Map<string, RunningPeer>();
  readonly #logs = new Map<string, LogEntry[]>();
  readonly #stop = new AbortController();
  #reading: Promise<void> = Promise.resolve();

  private constructor(
    readonly bed: Testbed,
    readonly config: Config,
    readonly plan: Map<string, PlacedPeer>,
    readonly runtime: DockerRuntime,
    readonly redis: LocalRedis,
    readonly coordination: RedisCoordination,
  ) {}

  static async open(): Promise<FaultBed> {
    const bed = await testbed();
    Deno.env.set("TM_KNOWN_HOSTS", bed.knownHostsPath);
    const redis = await startRedisServer({
      extraArgs: ["--bind", "0.0.0.0", "--protected-mode", "no"],
    });
    const host = (h: typeof bed.hostA, tag: string) => testbedHostEntry(h, { tags: [tag] });
    const config = planConfig(ConfigSchema.parse({
      name: uniqueTestName("faults"),
      redis: { port: 6399, image: "unused" },
      peer_environment: { REF_PEER_UDP_ECHO: "1" },
      hosts: [host(bed.hostA, "a"), host(bed.hostB, "b")],
      peers: Object.entries(PEERS).map(([name, tag]) => ({
        name,
        image: bed.peerImage,
        runs_on: [tag],
      })),
      commands: [],
    }));
    const plan = new Map(place(config).map((p) => [p.peer, p]));
    const runtime = new DockerRuntime({
      config,
      plan: [...plan.values()],
      runId: crypto.randomUUID().slice(0, 8),
      connect: connectHost,
    });
    const coordination = await RedisCoordination.open(redis.url, {
      signal: AbortSignal.timeout(10_000),
    });
    const fixture = new FaultBed(bed, config, plan, runtime, redis, coordination);
    try {
      await runtime.setup({ emit: () => {}, signal: new AbortController().signal });
      fixture.#reading = fixture.#read();
      await Promise.all(Object.keys(PEERS).map((peer) => fixture.start(peer)));
      return fixture;
    } catch (error) {
      await fixture[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** Starts `peer` as the engine would, and waits for its `started`. */
  async start(peer: string): Promise<void> {
    const placement = this.plan.get(peer)!;
    const env = peerEnvironment(
      this.config,
      placement,
      this.runtime.redisUrlFor(placement, this.redis.url),
    );
    this.running.set(peer, await this.runtime.start({ placement, env }, this.#stop.signal));
    await this.started(peer);
  }

  /** Resolves at the next `started` of `peer` (or at once if that is its status). */
  async started(peer: string): Promise<void> {
    const signal = AbortSignal.timeout(STARTED_WITHIN_MS);
    for await (const update of this.coordination.statuses([peer], signal)) {
      if (update.status === "started") return;
    }
    throw new Error(`${peer} did not report started within ${STARTED_WITHIN_MS / 1_000} s`);
  }

  /** `<address>:<port>` where peers reach `peer`: its host's test bed address, its port. */
  addressOf(peer: Peer): string {
    const { hostB } = this.bed;
    // Host A as its containers and host B's see it: the end of the test bed's link.
    const address = PEERS[peer] === "a" ? hostB.orchestratorAddress : hostB.address;
    return `${address}:${this.plan.get(peer)!.port}`;
  }

  /** The round-trip times `from` measured to `to`, `count` of them; null for a timeout. */
  async probe(from: Peer, to: Peer, count: number): Promise<(number | null)[]> {
    const target = this.addressOf(to);
    const prefix = `rtt ${target} `;
    const rtts = () => this.logOf(from).filter((m) => m.startsWith(prefix));
    const before = rtts().length;
    await this.coordination.send([{ peer: from, command: `probe|${target}|${count}` }]);
    const lines = await until(`${count} rtt lines from ${from} to ${to}`, () => {
      if (this.logOf(from).some((m) => m.startsWith("unknown command: probe"))) {
        // The test bed image is shared: a checkout without the hook may have rebuilt it.
        throw new Error(
          `${this.bed.peerImage} lacks the probe hook: run scripts/testbed/images.sh`,
        );
      }
      const found = rtts().slice(before);
      return Promise.resolve(found.length >= count ? found.slice(0, count) : undefined);
    }, 30_000);
    return lines.map((line) => {
      const value = line.slice(prefix.length);
      return value === "timeout" ? null : Number(value);
    });
  }

  /** The messages `peer` logged so far. */
  logOf(peer: string): string[] {
    return (this.#logs.get(peer) ?? []).map((entry) => entry.message);
  }

  async #read(): Promise<void> {
    try {
      for await (const entry of this.coordination.logs(Object.keys(PEERS), this.#stop.signal)) {
        const list = this.#logs.get(entry.peer) ?? [];
        list.push(entry);
        this.#logs.set(entry.peer, list);
      }
    } catch {
      // the coordination closed
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.runtime.teardown({ force: true });
    } finally {
      this.#stop.abort();
      await this.coordination.close().catch(() => {});
      await this.#reading;
      await this.redis.stop();
    }
  }
}

/** The qdiscs tm's trees use, on any interface of a host's own namespace. */
async function hostQdiscs(bed: Testbed): Promise<{ hosta: string[]; hostb: string[] }> {
  const show = async (netns?: string) => {
    const args = netns ? ["-n", netns, "qdisc", "show"] : ["qdisc", "show"];
    const output = await new Deno.Command("tc", { args, stdout: "piped" }).output();
    return new TextDecoder().decode(output.stdout).split("\n")
      .filter((line) => /^qdisc (htb|netem|pfifo|tbf) /.test(line));
  };
  return { hosta: await show(), hostb: await show(bed.hostB.netns) };
}

const answered = (rtts: (number | null)[]) => rtts.filter((rtt): rtt is number => rtt !== null);
const median = (values: number[]) => values.toSorted((a, b) => a - b)[values.length >> 1];

Deno.test("DockerFaults shape, partition, heal, pause, resume, kill and start act on real peers across both hosts and leave nothing behind [integration: redis-server, docker, ssh, testbed]", async (t) => {
  const bed = await testbed();
  const before = await hostQdiscs(bed);
  const signal = new AbortController().signal;
  {
    await using run = await FaultBed.open();
    const faults = run.runtime.faults;

    await t.step(
      "peers reach each other across hosts and within one before any fault",
      async () => {
        for (
          const [from, to] of [["alice", "carol"], ["carol", "alice"], ["alice", "bob"]] as const
        ) {
          assertEquals(answered(await run.probe(from, to, 2)).length, 2, `${from} → ${to}`);
        }
      },
    );

    await t.step({
      name: "shape({ delayMs: 200 }) adds at least 200 ms to the round trip, and heal removes it",
      ignore: !NETEM,
      fn: async () => {
        const base = median(answered(await run.probe("alice", "carol", 5)));
        await faults.shape("alice", { delayMs: 200 }, signal);
        const delayed = answered(await run.probe("alice", "carol", 5));
        assertEquals(delayed.length, 5);
        assert(Math.min(...delayed) >= base + 200 - 1, `${delayed} vs base ${base}`);
        await faults.heal(["alice"], signal);
        const healed = answered(await run.probe("alice", "carol", 5));
        assert(median(healed) < 200, `after heal: ${healed}`);
      },
    });

    await t.step(
      "shape({ lossPercent: 100 }) blocks a peer, Redis still carries its logs, heal restores it",
      async () => {
        await faults.shape("bob", { lossPercent: 100 }, signal);
        // bob's echoes are lost, from either host.
        assertEquals(await run.probe("alice", "bob", 2), [null, null]);
        assertEquals(await run.probe("carol", "bob", 2), [null, null]);
        // bob's own probes are lost too, yet their timeouts reach Redis.
        assertEquals(await run.probe("bob", "dave", 1), [null]);
        assertEquals(answered(await run.probe("alice", "carol", 1)).length, 1, "others unaffected");
        await faults.heal(["bob"], signal);
        assertEquals(answered(await run.probe("alice", "bob", 2)).length, 2);
      },
    );

    await t.step(
      "shape({ lossPercent: 50 }) loses some of a peer's datagrams, not all, without netem; heal restores",
      async () => {
        await faults.shape("alice", { lossPercent: 50 }, signal);
        // Only alice's side is shaped: each round trip survives with p = 0.5, so 24 all answered
        // or all lost has a chance of 2 in 2^24.
        const lossy = await run.probe("alice", "carol", 24);
        const through = answered(lossy).length;
        assert(through > 0 && through < 24, `${through} of 24 answered: ${lossy}`);
        await faults.heal(["alice"], signal);
        assertEquals(answered(await run.probe("alice", "carol", 4)).length, 4);
      },
    );

    await t.step(
      "partition() blocks both ways between groups across hosts and within one host; Redis works; heal restores",
      async () => {
        await faults.partition([["alice", "carol"], ["bob", "dave"]], signal);
        // Across hosts and within one, both ways.
        for (
          const [from, to] of [
            ["alice", "dave"], // A → B
            ["dave", "alice"], // B → A
            ["alice", "bob"], // within A
            ["bob", "alice"],
            ["carol", "dave"], // within B
            ["dave", "carol"],
            ["bob", "carol"], // A → B, the other pair
            ["carol", "bob"],
          ] as const
        ) {
          assertEquals(await run.probe(from, to, 1), [null], `${from} → ${to} is cut`);
        }
        // Within a group, across hosts: untouched.
        assertEquals(answered(await run.probe("alice", "carol", 2)).length, 2);
        assertEquals(answered(await run.probe("dave", "bob", 2)).length, 2);
        // A second partition replaces the first.
        await faults.partition([["alice", "bob"], ["carol"]], signal);
        assertEquals(answered(await run.probe("alice", "bob", 1)).length, 1);
        assertEquals(await run.probe("bob", "carol", 1), [null]);
        assertEquals(
          answered(await run.probe("dave", "alice", 1)).length,
          1,
          "dave is in no group",
        );
        await faults.heal("all", signal);
        for (
          const [from, to] of [["alice", "carol"], ["carol", "bob"], ["bob", "alice"]] as const
        ) {
          assertEquals(answered(await run.probe(from, to, 1)).length, 1, `${from} → ${to} healed`);
        }
        await faults.heal("all", signal); // idempotent
      },
    );

    await t.step(
      "pause() freezes a peer (no answers, no logs), its network faults still apply and heal, and resume() thaws it",
      async () => {
        await faults.pause("dave", signal);
        assertEquals(await run.probe("alice", "dave", 1), [null]);
        const logged = run.logOf("dave").length;
        await run.coordination.send([{ peer: "dave", command: "rotate-key" }]);
        assertEquals(await run.probe("alice", "carol", 1).then((r) => answered(r).length), 1);
        assertEquals(run.logOf("dave").length, logged, "a paused peer logs nothing");
        // Network faults reach a frozen peer's namespace (the heal at Ctrl-C may find one).
        await faults.shape("dave", { lossPercent: 100 }, signal);
        await faults.heal(["dave"], signal);
        await faults.resume("dave", signal);
        await until("dave handles the command sent while paused", () =>
          Promise.resolve(
            run.logOf("dave").some((m) => m.startsWith("rotated key")) ? true : undefined,
          ));
        assertEquals(answered(await run.probe("alice", "dave", 1)).length, 1);
      },
    );

    await t.step(
      "kill() ends the peer (exited resolves); start() runs it again, its faults restored, and refuses a running peer",
      async () => {
        const running = await assertRejects(() => faults.start("dave", signal), Error);
        assert(running.message.includes("still running"), running.message);
        await faults.partition([["carol"], ["alice", "bob", "dave"]], signal);
        const first = run.running.get("carol")!;
        await faults.kill("carol", signal);
        const exit = await first.exited;
        assertEquals(exit.code, 137);
        await assertRejects(() => faults.pause("carol", signal), FaultTargetGoneError);
        const startedAgain = run.started("carol");
        const again = await faults.start("carol", signal);
        await startedAgain;
        assertEquals(again.name, "carol");
        // The partition holds for the new container (new namespace, new address).
        assertEquals(await run.probe("carol", "dave", 1), [null]);
        assertEquals(await run.probe("alice", "carol", 1), [null]);
        await faults.heal("all", signal);
        assertEquals(answered(await run.probe("carol", "dave", 1)).length, 1);
        // The new run's exit is reported as such.
        await run.coordination.send([{ peer: "carol", command: "exit|5" }]);
        assertEquals((await again.exited).code, 5);
        await faults.heal(["carol"], signal); // gone: skipped
        await assertRejects(
          () => faults.shape("carol", { rateKbit: 100 }, signal),
          FaultTargetGoneError,
        );
      },
    );
  }
  await t.step("after teardown no qdisc of tm's is left in either host's namespace", async () => {
    assertEquals(await hostQdiscs(bed), before);
  });
});

Deno.test("DockerFaults.preflight passes on both test bed hosts for the faults their kernels support [integration: docker, ssh, testbed]", async () => {
  await using run = await FaultBedLite.open();
  const needs = new Map<string, Set<FaultName>>([
    [run.bed.hostA.name, new Set(["partition", "rate", "pause", "kill"])],
    [run.bed.hostB.name, new Set(["partition", "heal"])],
  ]);
  await run.runtime.faults.preflight(needs, new AbortController().signal);
  const delay = new Map<string, Set<FaultName>>([[run.bed.hostB.name, new Set(["delay"])]]);
  if (NETEM) {
    await run.runtime.faults.preflight(delay, new AbortController().signal);
  } else {
    const error = await assertRejects(
      () => run.runtime.faults.preflight(delay, new AbortController().signal),
      FaultToolError,
    );
    assertEquals([error.host, error.tool], [run.bed.hostB.name, "sch_netem"]);
    assert(error.message.includes("delay"), error.message);
  }
});

Deno.test("checkFaultTools names tc and its Debian package when tc is not on the PATH [integration: processes]", async () => {
  const bin = await Deno.makeTempDir({ prefix: "tm-no-tc-" });
  try {
    for (const tool of ["sh", "id", "nsenter", "unshare", "ip", "tr", "printf"]) {
      const path = await which(tool);
      if (path) await Deno.symlink(path, `${bin}/${tool}`);
    }
    const remote = new LocalRemote({ name: "bare", env: { PATH: bin } });
    const problems = await checkFaultTools(remote, new Set(["partition"]));
    assertEquals(problems.map((p) => p.tool), ["tc"]);
    assert(problems[0].message.includes("iproute2"), problems[0].message);
    assertEquals(await checkFaultTools(remote, new Set(["pause", "kill"])), []);
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});

async function which(tool: string): Promise<string | undefined> {
  const output = await new Deno.Command("sh", {
    args: ["-c", `command -v ${tool}`],
    stdout: "piped",
  }).output();
  const path = new TextDecoder().decode(output.stdout).trim();
  return path.startsWith("/") ? path : undefined;
}

/** A set-up DockerRuntime on both hosts with no peer started (preflight only). */
class FaultBedLite implements AsyncDisposable {
  private constructor(readonly bed: Testbed, readonly runtime: DockerRuntime) {}

  static async open(): Promise<FaultBedLite> {
    const bed = await testbed();
    Deno.env.set("TM_KNOWN_HOSTS", bed.knownHostsPath);
    const config = planConfig(ConfigSchema.parse({
      name: uniqueTestName("preflight"),
      redis: { port: 6399, image: "unused" },
      hosts: [testbedHostEntry(bed.hostA), testbedHostEntry(bed.hostB)],
      peers: [],
      commands: [],
    }));
    const runtime = new DockerRuntime({
      config,
      plan: [],
      runId: crypto.randomUUID().slice(0, 8),
      connect: connectHost,
    });
    await runtime.setup({ emit: () => {}, signal: new AbortController().signal });
    return new FaultBedLite(bed, runtime);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.runtime.teardown({ force: true });
  }
}

/**
 * DockerFaults over a recorded seam (pure ordering logic): each host's shell records the peer
 * whose tree it is asked to rebuild and may hold it; the engine answers each container's pid.
 */
function orderingBed() {
  const hostOf: Record<string, string> = { alice: "a", bob: "a", carol: "b" };
  const pids: Record<string, number> = { alice: 101, bob: 102, carol: 103 };
  const peerOfPid = new Map(Object.entries(pids).map(([peer, pid]) => [String(pid), peer]));
  /** `<peer> <tc lines>` per rebuild, in the order the shells were asked. */
  const rebuilds: string[] = [];
  const held = new Map<string, PromiseWithResolvers<void>>();
  const shell = (host: string): HostCommands => ({
    name: host,
    async execute(args) {
      const peer = peerOfPid.get(args[4]) ?? "?";
      rebuilds.push(`${peer} ${args[5].includes("netem") ? "netem" : args[5] ? "tc" : "clear"}`);
      const gate = held.get(peer);
      held.delete(peer);
      await gate?.promise;
      return { code: 0, stdout: "", stderr: "" };
    },
  });
  const shells = new Map([["a", shell("a")], ["b", shell("b")]]);
  const engine = {
    inspect: (container: string) =>
      Promise.resolve({
        running: true,
        paused: false,
        pid: pids[container],
        exitCode: 0,
        address: `10.0.0.${pids[container]}`,
        gateway: "10.0.0.1",
      }),
  } as unknown as DockerEngine;
  const faults = new DockerFaults({
    locate: (peer) =>
      peer in hostOf
        ? {
          peer,
          host: hostOf[peer],
          container: peer,
          port: 9000 + pids[peer],
          redisPort: 6379,
          advertised: null,
          engine,
          shell: shells.get(hostOf[peer])!,
        }
        : undefined,
    hosts: () => shells,
    startAgain: () => Promise.reject(new Error("not in this test")),
    warn: () => {},
  });
  /** Makes the next rebuild of `peer` wait until the returned function is called. */
  const hold = (peer: string) => {
    const gate = Promise.withResolvers<void>();
    held.set(peer, gate);
    return () => gate.resolve();
  };
  return { faults, rebuilds, hold };
}

Deno.test("DockerFaults.shape rebuilds peers on different hosts at once, one peer's shapes in order, a heal after all", async () => {
  const { faults, rebuilds, hold } = orderingBed();
  const signal = new AbortController().signal;
  const releaseCarol = hold("carol");
  const carol = faults.shape("carol", { delayMs: 100 }, signal);
  const carolAgain = faults.shape("carol", { lossPercent: 5 }, signal);
  const alice = faults.shape("alice", { delayMs: 50 }, signal);
  // Host B's rebuild of carol hangs: alice's on host A goes through meanwhile.
  await until(
    "alice's tree rebuilt while carol's hangs",
    () => Promise.resolve(rebuilds.includes("alice netem") ? true : undefined),
  );
  await alice;
  const heal = faults.heal("all", signal);
  await new Promise((resolve) => setTimeout(resolve, 0));
  // carol's second shape and the heal wait for carol's first.
  assertEquals(rebuilds, ["carol netem", "alice netem"]);
  releaseCarol();
  await Promise.all([carol, carolAgain, heal]);
  assertEquals(rebuilds.slice(0, 3), ["carol netem", "alice netem", "carol netem"]);
  assertEquals(rebuilds.slice(3).toSorted(), ["alice clear", "carol clear"]);
});
