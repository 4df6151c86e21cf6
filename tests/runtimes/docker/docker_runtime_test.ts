import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { type Config, ConfigSchema } from "../../../src/plan/schema.ts";
import { planConfig } from "../../../src/plan/plan_config.ts";
import type { UnstampedEvent } from "../../../src/engine/events.ts";
import { exitOutput } from "../../../src/engine/runtime.ts";
import { peerEnvironment } from "../../../src/plan/environment.ts";
import { place } from "../../../src/plan/placement.ts";
import { Docker } from "../../../src/runtimes/docker/docker.ts";
import {
  configDir,
  DockerRuntime,
  HostSetupError,
} from "../../../src/runtimes/docker/docker_runtime.ts";
import { LocalRemote } from "../../../src/transport/local.ts";
import { peerLabels } from "../../../src/runtimes/docker/container_names.ts";
import { currentOwner, type RunOwner } from "../../../src/coordination/run_owner.ts";
import { deadOwner } from "../../support/run_owners.ts";
import type {
  ExecOptions,
  ExecResult,
  Remote,
  RemoteProcess,
} from "../../../src/transport/remote.ts";
import {
  buildBusyboxImage,
  removeImages,
  removeLabelled,
  sh,
  uniqueId,
} from "../../support/scratch_images.ts";
import { startSecondEngine } from "../../support/second_engine.ts";

const docker = new Docker(new LocalRemote());

/** The ID of `image` on this machine's engine, or the one at `dockerHost`; null if absent. */
async function imageId(image: string, dockerHost?: string): Promise<string | null> {
  const env = dockerHost ? `DOCKER_HOST=${dockerHost} ` : "";
  const id = await sh(`${env}docker image inspect -f '{{.Id}}' ${image} 2>/dev/null || true`);
  return id.trim() || null;
}

/** A config whose peers run `$SCRIPT` (from their environment) in the test image. */
function testConfig(
  name: string,
  image: string,
  peers: { name: string; script: string; runs_on?: string }[],
  extra: Record<string, unknown> = {},
): Config {
  const basePort = 20_000 + Math.floor(Math.random() * 30_000);
  return planConfig(ConfigSchema.parse({
    name,
    redis: { port: 6399, image: "unused" },
    hosts: [{
      address: "127.0.0.1",
      name: "host-a",
      ssh_user: "root",
      ssh_auth: "agent",
      base_port: basePort,
      tags: ["a"],
    }],
    peers: peers.map((p) => ({
      name: p.name,
      image,
      environment: { SCRIPT: p.script },
      ...(p.runs_on ? { runs_on: p.runs_on } : {}),
    })),
    commands: [],
    ...extra,
  }));
}

function sink() {
  const events: UnstampedEvent[] = [];
  return { events, emit: (event: UnstampedEvent) => events.push(event) };
}

const localConnect = (host: { name?: string; address: string }) =>
  Promise.resolve(new LocalRemote({ name: host.name ?? host.address }));

async function startAll(runtime: DockerRuntime, config: Config, redisUrl: string) {
  const plan = place(config);
  const signal = new AbortController().signal;
  return await Promise.all(plan.map((placement) =>
    runtime.start({
      placement,
      env: peerEnvironment(config, placement, runtime.redisUrlFor(placement, redisUrl)),
    }, signal)
  ));
}

Deno.test("DockerRuntime starts containers, reports an exit with its code and logs, removes only its run's containers [integration: docker]", async () => {
  const id = uniqueId("hs-rt");
  const image = `${id}:peer`;
  const test = `${id} test`;
  const config = testConfig(test, image, [
    { name: "alice", script: 'echo "url=$REDIS_URL name=$PEER_NAME"; ls -d /config; sleep 600' },
    { name: "crasher", script: "echo starting; echo boom >&2; exit 3" },
  ]);
  const runId = `${id}-run`;
  const runtime = new DockerRuntime({ config, plan: place(config), runId, connect: localConnect });
  const { events, emit } = sink();
  // Another test's container on the same host: teardown must leave it alone.
  let other = "";
  try {
    await buildBusyboxImage(image, ["sh", "-c", 'eval "$SCRIPT"']);
    other = await docker.run({
      image,
      name: `${id}-other-run`,
      labels: { "tm.run": `${id}-other`, "tm.test": `${test} other` },
      env: { SCRIPT: "sleep 600" },
    });
    await runtime.setup({ emit, signal: new AbortController().signal });
    assertEquals(
      events.filter((e) => e.type.startsWith("host-")).map((e) => e.type),
      ["host-connecting", "host-connected", "host-ready"],
    );
    // The host's Docker engine version, for the run record's summary.
    const ready = events.find((e) => e.type === "host-ready");
    assertEquals(
      ready?.type === "host-ready" ? ready.docker : undefined,
      (await sh("docker version --format '{{.Server.Version}}'")).trim(),
    );
    const [alice, crasher] = await startAll(runtime, config, "redis://127.0.0.1:6399");
    assertEquals([alice.name, crasher.name], ["alice", "crasher"]);
    // The image ID the containers run, for the run record.
    assertEquals([alice.imageId, crasher.imageId], Array(2).fill(await imageId(image)));

    const exit = await crasher.exited;
    assertEquals(exit.code, 3);
    // The exit is reported before its last lines are read; they follow.
    assertEquals(exit.output, []);
    const { output, outputAt } = await exitOutput(exit);
    assertEquals([...output].sort(), ["boom", "starting"]);
    // Each line with the engine's time of it, for report.html to place it.
    const times = outputAt ?? [];
    assertEquals(times.length, 2);
    assert(times.every((at) => Number.isFinite(Date.parse(at))), times.join());

    const aliceName = runtime.containerName("alice");
    const [row] = await docker.containers({ names: [`^${aliceName}$`] }, {
      labelKeys: ["tm.run", "tm.test", "tm.peer"],
    });
    assertEquals(row.state, "running");
    assertEquals(row.labels, { "tm.run": runId, "tm.test": test, "tm.peer": "alice" });
    // This machine: Redis through host.docker.internal, which the container can resolve.
    const logs = await waitForLogs(aliceName, 2);
    assertEquals(logs, ["url=redis://host.docker.internal:6399 name=alice", "/config"]);
    const hosts = await docker.call(["exec", aliceName, "cat", "/etc/hosts"]);
    assert(/host\.docker\.internal/.test(hosts), hosts);

    await runtime.teardown();
    await runtime.teardown(); // idempotent
    assertEquals((await alice.exited).code, null);
    assertEquals(await docker.containers({ labels: [`tm.run=${runId}`] }), []);
    const survivors = await docker.containers({ labels: [`tm.run=${id}-other`] });
    assertEquals(survivors.map((c) => c.id), [other]);
  } finally {
    await runtime.teardown();
    await removeLabelled(`tm.run=${runId}`);
    await removeLabelled(`tm.run=${id}-other`);
    await removeImages(image);
    await removeConfigDirs(id);
  }
});

Deno.test("DockerRuntime reports the code the entrypoint wrote to /config/exit-code where the engine reports 255, and a 255 with none as 255 [integration: docker]", async () => {
  const id = uniqueId("hs-rt");
  const image = `${id}:peer`;
  // lost: what a loaded engine did at 1,000 peers (its entrypoint wrote 0, the engine said
  // 255), played by a container that writes 0 and exits 255; real: a 255 of its own.
  const config = testConfig(`${id} test`, image, [
    { name: "lost", script: "echo 0 > /config/exit-code; exit 255" },
    { name: "real", script: "exit 255" },
  ]);
  const runtime = new DockerRuntime({
    config,
    plan: place(config),
    runId: `${id}-run`,
    connect: localConnect,
  });
  const { events, emit } = sink();
  try {
    await buildBusyboxImage(image, ["sh", "-c", 'eval "$SCRIPT"']);
    await runtime.setup({ emit, signal: new AbortController().signal });
    const [lost, real] = await startAll(runtime, config, "redis://127.0.0.1:6399");
    assertEquals([(await lost.exited).code, (await real.exited).code], [0, 255]);
    await runtime.teardown();
    const warnings = events.filter((e) => e.type === "warning").map((e) =>
      e.type === "warning" ? e.message : ""
    );
    assertEquals(warnings.filter((m) => m.includes("/config/exit-code")), [
      "the engine reported exit code 255 for 1 peer whose entrypoint wrote another code to " +
      "/config/exit-code just before it exited (an engine that lost their exit status, as a " +
      "heavily loaded one does): their exits are the entrypoint's codes: lost",
    ]);
  } finally {
    await runtime.teardown();
    await removeLabelled(`tm.run=${id}-run`);
    await removeImages(image);
    await removeConfigDirs(id);
  }
});

Deno.test("DockerRuntime.setup() fails naming the unreachable host before any container starts [integration: docker]", async () => {
  const id = uniqueId("hs-rt");
  const config = testConfig(`${id}`, "unused:1", [{ name: "alice", script: "true" }]);
  config.hosts.push({ ...config.hosts[0], address: "10.255.255.1", name: "host-down" });
  const runtime = new DockerRuntime({
    config,
    plan: place(config),
    runId: id,
    connect: (host, index) =>
      index === 1 ? Promise.reject(new Error("host-down: connection refused")) : localConnect(host),
  });
  try {
    const error = await assertRejects(
      () => runtime.setup({ emit: () => {}, signal: new AbortController().signal }),
      HostSetupError,
    );
    assertEquals(error.message, "host-down: connection refused");
    assertEquals(error.problems.map((p) => p.host), ["host-down"]);
  } finally {
    await runtime.teardown();
  }
  assertEquals(await docker.containers({ labels: [`tm.run=${id}`] }), []);
  // The reachable host's login had created alice's config dir as setup failed: it goes too.
  const dir = configDir(Deno.env.get("HOME")!, `tm-${id}--alice`);
  assertEquals(await Deno.stat(dir).then(() => true, () => false), false, `${dir} is left`);
});

Deno.test("DockerRuntime.setup() removes a dead run's leftover, refuses a live run's and a foreign container of the same name [integration: docker]", async () => {
  const id = uniqueId("hs-rt");
  const image = `${id}:peer`;
  const config = testConfig(id, image, [{ name: "alice", script: "sleep 600" }]);
  const name = `tm-${id}--alice`;
  const setUp = async (runId: string) => {
    const runtime = new DockerRuntime({
      config,
      plan: place(config),
      runId,
      connect: localConnect,
    });
    const { events, emit } = sink();
    try {
      await runtime.setup({ emit, signal: new AbortController().signal });
      return { runtime, events };
    } catch (error) {
      await runtime.teardown();
      throw error;
    }
  };
  const leftover = (owner: RunOwner, labels = peerLabels(owner, "alice")) =>
    docker.run({ image, name, labels, env: { SCRIPT: "sleep 600" } });
  try {
    await buildBusyboxImage(image, ["sh", "-c", 'eval "$SCRIPT"']);
    // Left by a run of this test whose tm is gone (a SIGKILL): removed with a warning.
    await leftover(deadOwner(`${id}-old`, id));
    const { runtime, events } = await setUp(`${id}-new`);
    try {
      assert(
        events.some((e) =>
          e.type === "warning" && e.message.includes(`left by run ${id}-old`) &&
          e.message.includes(name)
        ),
        JSON.stringify(events),
      );
      // Views put the event's host first: a message naming it again showed "b: b: ...".
      const warning = events.find((e) => e.type === "warning" && e.message.includes(name));
      assert(warning?.type === "warning" && warning.host, JSON.stringify(events));
      assert(!warning.message.startsWith(`${warning.host}:`), warning.message);
      assertEquals(await docker.containers({ names: [`^${name}$`] }), []);
      await startAll(runtime, config, "redis://127.0.0.1:6399");
    } finally {
      await runtime.teardown();
    }

    // A run of this test that is still going (this very process): not touched, named.
    await leftover(currentOwner(`${id}-live`, id));
    const live = await assertRejects(() => setUp(`${id}-3`), HostSetupError);
    assert(live.message.includes(`run ${id}-live of test "${id}"`), live.message);
    assert(live.message.includes("is still running here"), live.message);
    assertEquals((await docker.containers({ names: [`^${name}$`] }))[0]?.state, "running");
    await docker.rm([name], { force: true });

    // A container of that name tm did not start for this test is not ours to remove.
    await leftover(currentOwner(`${id}-x`, `${id}-elsewhere`), {});
    const foreign = await assertRejects(() => setUp(`${id}-4`), HostSetupError);
    assert(foreign.message.includes(`${name} exists and tm did not start it`), foreign.message);
    assertEquals((await docker.containers({ names: [`^${name}$`] })).length, 1);
  } finally {
    await docker.rm([name], { force: true });
    await removeImages(image);
    await removeConfigDirs(id);
  }
});

Deno.test("DockerRuntime ships a peer's image to the engine it is placed on only, refuses a peer image that is nowhere, removes images on teardown [integration: docker]", async () => {
  const id = uniqueId("hs-rt");
  const image = `${id}:peer`;
  await using engine = await startSecondEngine();
  const config = testConfig(id, image, [{ name: "alice", script: "sleep 600", runs_on: "b" }], {
    images: [image],
    remove_images: true,
  });
  config.hosts.push({ ...config.hosts[0], address: "10.0.0.2", name: "host-b", tags: ["b"] });
  const connect = (_host: unknown, index: number) =>
    Promise.resolve(index === 0 ? new LocalRemote({ name: "host-a" }) : engine.remote("host-b"));
  const remoteImageId = (image: string) => imageId(image, engine.dockerHost);
  try {
    await buildBusyboxImage(image, ["sh", "-c", 'eval "$SCRIPT"']);
    const runtime = new DockerRuntime({ config, plan: place(config), runId: id, connect });
    const { events, emit } = sink();
    try {
      await runtime.setup({ emit, signal: new AbortController().signal });
      assertEquals(await remoteImageId(image), await imageId(image));
      const types = events.map((e) => `${e.type}:${"host" in e ? e.host : ""}`);
      assert(types.includes("image-transfer:host-b"), types.join());
      // No peer of this image is placed on host A: it is neither asked nor sent.
      assert(!types.some((t) => t.startsWith("image-") && t.endsWith(":host-a")), types.join());
    } finally {
      await runtime.teardown();
    }
    assertEquals(await remoteImageId(image), null); // remove_images
    // A peer image that is not in `images` and not on its host fails setup, naming both.
    const lacking = testConfig(id, `${id}:absent`, [{ name: "bob", script: "true" }]);
    const failing = new DockerRuntime({
      config: lacking,
      plan: place(lacking),
      runId: `${id}-2`,
      connect: localConnect,
    });
    try {
      const error = await assertRejects(
        () => failing.setup({ emit: () => {}, signal: new AbortController().signal }),
        HostSetupError,
      );
      assert(
        error.message.includes(`image ${id}:absent on neither this machine nor the host`),
        error.message,
      );
    } finally {
      await failing.teardown();
    }
  } finally {
    await removeImages(image);
    await removeConfigDirs(id);
  }
});

/** Polls `docker logs` until the container printed `count` lines (it starts asynchronously). */
Deno.test("DockerRuntime.teardown() hands each peer's /config over as a tar stream read by one command per host, skips a never-started peer without a warning, then removes its ~/peer-config dir [integration: docker]", async () => {
  const id = uniqueId("hs-cfg");
  const image = `${id}:peer`;
  const config = testConfig(`${id} test`, image, [
    {
      name: "alice",
      script: "mkdir -p /config/db && echo state > /config/db/state && ln -s /etc /config/etc && " +
        "echo written; sleep 600",
    },
    { name: "bob", script: "echo written; sleep 600" },
    { name: "carol", script: "sleep 600" },
  ]);
  const remote = new RecordingRemote();
  const runtime = new DockerRuntime({
    config,
    plan: place(config),
    runId: `${id}-run`,
    connect: () => Promise.resolve(remote),
  });
  const { events, emit } = sink();
  const home = Deno.env.get("HOME")!;
  const dirs = ["alice", "bob"].map((p) =>
    `${home}/peer-config/${runtime.containerName(p)}-config`
  );
  try {
    await buildBusyboxImage(image, ["sh", "-c", 'eval "$SCRIPT"']);
    await runtime.setup({ emit, signal: new AbortController().signal });
    // carol never starts (a launch cut short at scale): she has no container and no dir.
    const plan = place(config).filter((p) => p.peer !== "carol");
    await Promise.all(plan.map((placement) =>
      runtime.start({
        placement,
        env: peerEnvironment(config, placement, runtime.redisUrlFor(placement, "redis://x:1")),
      }, new AbortController().signal)
    ));
    for (const peer of ["alice", "bob"]) await waitForLogs(runtime.containerName(peer), 1);
    const listed = new Map<string, string[]>();
    await runtime.teardown({
      collectConfig: async (peer, archive) => {
        const bytes = new Uint8Array(await new Response(archive).arrayBuffer());
        const tar = new Deno.Command("tar", {
          args: ["-t", "-f", "-"],
          stdin: "piped",
          stdout: "piped",
        })
          .spawn();
        const writer = tar.stdin.getWriter();
        await writer.write(bytes);
        await writer.close();
        const out = new TextDecoder().decode((await tar.output()).stdout);
        listed.set(peer, out.split("\n").filter((l) => l !== "").sort());
      },
    });
    // Regular files and directories only, under one top-level directory: the symlink a peer
    // made is left out.
    const top = (peer: string) => `${runtime.containerName(peer)}-config/`;
    assertEquals(listed.get("alice"), [
      top("alice"),
      `${top("alice")}db/`,
      `${top("alice")}db/state`,
    ]);
    assertEquals(listed.get("bob"), [top("bob")]);
    assertEquals(listed.has("carol"), false);
    assertEquals(events.filter((e) => e.type === "warning"), []);
    // One command archived the host's dirs: a channel per peer failed at 1,000 peers.
    const archives = remote.log.filter((entry) =>
      entry.startsWith("spawn sh -c") &&
      entry.includes("tar")
    );
    assertEquals(archives.length, 1, remote.log.join("\n"));
    for (const dir of dirs) {
      assertEquals(await Deno.stat(dir).then(() => "left", () => "gone"), "gone", dir);
    }
  } finally {
    await runtime.teardown();
    await removeLabelled(`tm.run=${id}-run`);
    await removeImages(image);
    await removeConfigDirs(id);
  }
});

Deno.test("DockerRuntime.teardown() hands over the output an exit fetched whole without fetching it again; a longer one, or one of a peer run again, is fetched; exited peers' config dirs are collected and removed [integration: docker]", async () => {
  const id = uniqueId("hs-kept");
  const image = `${id}:peer`;
  const config = testConfig(`${id} test`, image, [
    { name: "short", script: "echo one; echo two; echo state > /config/state; exit 0" },
    { name: "long", script: "for i in 1 2 3 4 5; do echo line$i; done; exit 0" },
    { name: "again", script: "echo run; exit 0" },
  ]);
  // Exit reports keep 3 lines: "long" wrote more than its exit fetched.
  const runtime = new DockerRuntime({
    config,
    plan: place(config),
    runId: `${id}-run`,
    connect: localConnect,
    logLines: 3,
  });
  const traces: string[] = [];
  const warnings: string[] = [];
  const home = Deno.env.get("HOME")!;
  try {
    await buildBusyboxImage(image, ["sh", "-c", 'eval "$SCRIPT"']);
    await runtime.setup({
      emit: (event) => {
        if (event.type === "trace") traces.push(event.message);
        if (event.type === "warning") warnings.push(event.message);
      },
      signal: new AbortController().signal,
    });
    const started = await startAll(runtime, config, "redis://127.0.0.1:6399");
    const [short, long, again] = ["short", "long", "again"].map((name) =>
      started.find((peer) => peer.name === name)!
    );
    assertEquals((await exitOutput(await short.exited)).output, ["one", "two"]);
    assertEquals((await exitOutput(await long.exited)).output, ["line3", "line4", "line5"]);
    await again.exited;
    const rerun = await runtime.faults.start("again", new AbortController().signal);
    assertEquals((await exitOutput(await rerun.exited)).output, ["run", "run"]);
    const collected = new Map<string, string[]>();
    const configs = new Map<string, number>();
    await runtime.teardown({
      collectOutput: async (peer, lines) => {
        const texts: string[] = [];
        for await (const line of lines) {
          assert(Number.isFinite(Date.parse(line.at)), `${peer}: ${JSON.stringify(line)}`);
          texts.push(line.text);
        }
        collected.set(peer, texts);
      },
      collectConfig: async (peer, archive) => {
        configs.set(peer, (await new Response(archive).arrayBuffer()).byteLength);
      },
    });
    assertEquals(collected.get("short"), ["one", "two"]);
    assertEquals(collected.get("long"), ["line1", "line2", "line3", "line4", "line5"]);
    assertEquals(collected.get("again"), ["run", "run"]);
    // One logs request for "short" (its exit's); "long" is fetched again at teardown; "again"
    // once per exit, the second of which got both runs' lines: all of it, not fetched again.
    const logRequests = (peer: string, containerId: string) =>
      traces.filter((line) =>
        / API GET \/v1\.\d+\/containers\/\S+\/logs /.test(line) &&
        (line.includes(`/${containerId}/logs`) ||
          line.includes(`/${runtime.containerName(peer)}/logs`))
      ).length;
    assertEquals(logRequests("short", short.id), 1, traces.join("\n"));
    assertEquals(logRequests("long", long.id), 2, traces.join("\n"));
    assertEquals(logRequests("again", again.id), 2, traces.join("\n"));
    assert((configs.get("short") ?? 0) > 0, `short's config: ${[...configs]}`);
    assertEquals(warnings, []);
    assertEquals(await docker.containers({ labels: [`tm.run=${id}-run`] }), []);
    for (const peer of ["short", "long", "again"]) {
      const dir = `${home}/peer-config/${runtime.containerName(peer)}-config`;
      assertEquals(await Deno.stat(dir).then(() => "left", () => "gone"), "gone", dir);
    }
  } finally {
    await runtime.teardown();
    await removeLabelled(`tm.run=${id}-run`);
    await removeImages(image);
    await removeConfigDirs(id);
  }
});

async function waitForLogs(container: string, count: number): Promise<string[]> {
  for (let i = 0; i < 200; i++) {
    const logs = await docker.logs(container, 50);
    if (logs.length >= count) return logs;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${container} did not print ${count} lines`);
}

/** The peer config dirs (`~/peer-config/tm-<test>--<peer>-config`) of tests named after `id`. */
async function removeConfigDirs(id: string): Promise<void> {
  await sh(`rm -rf "$HOME"/peer-config/tm-${id}*`);
}

/**
 * A remote host as the runtime sees one over SSH (not a LocalRemote, whose commands it does not
 * coalesce), running on this machine, that records in order each command and stream it starts.
 */
class RecordingRemote implements Remote {
  readonly log: string[] = [];
  readonly #local = new LocalRemote({ name: "host-a" });
  readonly name = "host-a";
  get disconnected(): AbortSignal {
    return this.#local.disconnected;
  }
  orchestratorAddress(): Promise<string | null> {
    return Promise.resolve(null);
  }
  execute(argv: string[], options?: ExecOptions): Promise<ExecResult> {
    this.log.push(`execute ${argv.join(" ")}`);
    return this.#local.execute(argv, options);
  }
  spawn(argv: string[], options?: { signal?: AbortSignal }): RemoteProcess {
    this.log.push(`spawn ${argv.join(" ")}`);
    return this.#local.spawn(argv, options);
  }
  dialSocket(path: string, signal?: AbortSignal) {
    this.log.push(`dial ${path}`);
    return this.#local.dialSocket(path, signal);
  }
  close(): Promise<void> {
    return this.#local.close();
  }
}

Deno.test("DockerRuntime does a run's docker work through the Engine API and one shell per host: no docker command, one login [integration: docker]", async () => {
  const id = uniqueId("hs-rt");
  const image = `${id}:peer`;
  const config = testConfig(id, image, [
    { name: "alice", script: "sleep 600" },
    { name: "bob", script: "sleep 600" },
    { name: "carol", script: "exit 4" },
  ]);
  const remote = new RecordingRemote();
  const traces: string[] = [];
  const runtime = new DockerRuntime({
    config,
    plan: place(config),
    runId: `${id}-run`,
    connect: () => Promise.resolve(remote),
  });
  let collected = new Map<string, string>();
  try {
    await buildBusyboxImage(image, ["sh", "-c", 'eval "$SCRIPT"']);
    await runtime.setup({
      emit: (event) => event.type === "trace" && traces.push(event.message),
      signal: new AbortController().signal,
    });
    const [, , carol] = await startAll(runtime, config, "redis://127.0.0.1:6399");
    assertEquals((await carol.exited).code, 4);
    const running = await docker.containers({ labels: [`tm.run=${id}-run`] });
    assertEquals(running.length, 3);
    await runtime.faults.pause("alice", new AbortController().signal);
    await runtime.faults.resume("alice", new AbortController().signal);
  } finally {
    await runtime.teardown({
      collectOutput: async (peer, lines) => {
        const texts: string[] = [];
        for await (const line of lines) texts.push(line.text);
        collected.set(peer, texts.join("\n"));
      },
    });
    collected = new Map([...collected].sort());
    assertEquals(await docker.containers({ labels: [`tm.run=${id}-run`] }), []);
    await removeImages(image);
    await removeConfigDirs(id);
  }
  // One shell for the whole run, and no docker command at all: every docker operation (image
  // inspect and store, ps, run, events, logs, pause, rm) went over the engine's socket.
  const streams = remote.log.filter((entry) => entry.startsWith("spawn"));
  assertEquals(streams, ["spawn sh"]);
  const commands = remote.log.filter((entry) => entry.startsWith("execute"));
  assert(commands.every((entry) => !/\bdocker\b/.test(entry)), commands.join("\n"));
  assert(remote.log.some((entry) => entry === "dial /var/run/docker.sock"), remote.log.join("\n"));
  // --verbose shows each API call with its duration.
  for (
    const call of [
      /POST \/v1\.41\/containers\/create/,
      /POST \/v1\.41\/containers\/\S+\/pause/,
      /GET \/v1\.41\/events/,
      /DELETE \/v1\.41\/containers\//,
    ]
  ) {
    assert(
      traces.some((line) =>
        /^host-a: API /.test(line) && call.test(line) && / \d+ ms, ok$/.test(line)
      ),
      `${call} in\n${traces.join("\n")}`,
    );
  }
  assertEquals(collected.get("carol"), "");
});
