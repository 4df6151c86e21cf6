import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import {
  compareApiVersions,
  DEFAULT_ENGINE_SOCKET,
  DockerEngine,
  EngineApiError,
  engineSocketOf,
  negotiatedVersion,
  opaqueToInspect,
  splitReference,
} from "../../../src/runtimes/docker/engine_api.ts";
import type { DockerEvent } from "../../../src/runtimes/docker/docker.ts";
import { inspect } from "node:util";
import { LocalRemote } from "../../../src/transport/local.ts";
import { SshRemote } from "../../../src/transport/ssh.ts";
import type { Remote } from "../../../src/transport/remote.ts";
import { hostDocker, sshOptions, testbed, type TestbedHost } from "../../support/testbed.ts";
import { buildBusyboxImage, sh, uniqueId } from "../../support/scratch_images.ts";
import { startSecondEngine } from "../../support/second_engine.ts";

Deno.test("engineSocketOf reads DOCKER_HOST's Unix socket, defaults to /var/run/docker.sock, refuses others", () => {
  assertEquals(engineSocketOf(undefined), DEFAULT_ENGINE_SOCKET);
  assertEquals(engineSocketOf(""), DEFAULT_ENGINE_SOCKET);
  assertEquals(engineSocketOf("unix:///run/x/docker.sock"), "/run/x/docker.sock");
  assertEquals(engineSocketOf("tcp://10.0.0.1:2375"), null);
});

Deno.test("opaqueToInspect makes util.inspect print a name, not the object graph, even with showHidden and no depth limit", () => {
  const sockets = Array.from({ length: 100 }, (_, i) => ({ secret: `socket-${i}`, peer: {} }));
  const options = { path: "/version", agent: opaqueToInspect({ sockets }, "Agent") };
  const printed = inspect(options, { showHidden: true, depth: null });
  assert(printed.includes("[Agent]"), printed);
  assert(!printed.includes("socket-"), printed);
  assertEquals(options.agent.sockets.length, 100); // the object itself is untouched
});

Deno.test("negotiatedVersion speaks the engine's API version, capped at the newest the client knows", () => {
  assertEquals(negotiatedVersion("1.41"), "1.41");
  assertEquals(negotiatedVersion("1.52"), "1.47");
  assert(compareApiVersions("1.9", "1.41") < 0);
  assert(compareApiVersions("1.100", "1.47") > 0);
});

/**
 * The whole lifecycle through one DockerEngine: version, run (create + start) with labels, env,
 * a published UDP port, a bind mount and an extra host; list by label; pause/unpause/kill/start
 * seen on the event stream with the engine's clock; inspect; timestamped logs; remove.
 */
async function lifecycle(
  engine: DockerEngine,
  image: string,
  dockerHost: Pick<TestbedHost, "dockerHost">,
): Promise<void> {
  const id = uniqueId("eapi");
  const label = `tm.test-engine-api=${id}`;
  const events: DockerEvent[] = [];
  const watching = new AbortController();
  try {
    const version = await engine.version();
    const cli = await hostDocker(dockerHost, ["version", "--format", "{{.Server.Version}}"]);
    assertEquals(version.engine, cli.stdout.trim());
    assertEquals(version.api, negotiatedVersion("1.41")); // both test bed engines: 20.10
    const watcher = (async () => {
      for await (
        const event of engine.events([`label=${label}`, "type=container"], {
          since: "1",
          signal: watching.signal,
        })
      ) events.push(event);
    })().catch(() => {});
    const container = await engine.run({
      image,
      name: `${id}-c`,
      labels: { "tm.test-engine-api": id },
      env: { GREETING: 'it\'s $(not) "expanded"\nsecond line' },
      ports: [{
        host: 20_000 + Math.floor(Math.random() * 30_000),
        container: 9000,
        protocol: "udp",
      }],
      volumes: [{ source: `/tmp/${id}-dir`, target: "/config" }],
      addHosts: ["host.docker.internal:host-gateway"],
      command: [
        "sh",
        "-c",
        'printf "%s\\n" "$GREETING"; echo to-stderr >&2; ls -d /config; sleep 600',
      ],
    });
    const [listed] = await engine.containers({ labels: [label] }, {
      labelKeys: ["tm.test-engine-api"],
    });
    assertEquals(listed, {
      id: container,
      name: `${id}-c`,
      state: "running",
      labels: { "tm.test-engine-api": id },
    });
    await engine.pause(container);
    assertEquals((await engine.inspect(container)).paused, true);
    await engine.unpause(container);
    const state = await engine.inspect(container);
    assert(state.running && !state.paused && state.pid > 0, JSON.stringify(state));
    assert(state.address !== null, "a bridge address");
    const output = async (tail?: number) => {
      const lines = [];
      for await (const line of engine.outputLines(container, undefined, { tail })) lines.push(line);
      return lines;
    };
    await waitFor(async () => (await output()).length === 4);
    const logs = await output();
    assertEquals(
      logs.map((l) => l.text).sort(),
      ["/config", 'it\'s $(not) "expanded"', "second line", "to-stderr"].sort(),
    );
    assert(
      logs.every((l) => /^\d{4}-\d\d-\d\dT/.test(l.at)),
      "each line has the engine's timestamp",
    );
    assertEquals((await output(1)).map((l) => l.text), [logs.at(-1)!.text]);
    await engine.kill(container);
    await waitFor(async () => !(await engine.inspect(container)).running);
    assertEquals((await engine.inspect(container)).exitCode, 137);
    await engine.start(container);
    assertEquals((await engine.inspect(container)).running, true);
    // A gone container: a 404 EngineApiError naming host and operation.
    const gone = await assertRejects(() => engine.pause(`${id}-absent`), EngineApiError);
    assertEquals(gone.status, 404);
    assert(
      /no such container/i.test(gone.message) &&
        gone.message.startsWith(`${engine.host}: docker pause`),
      gone.message,
    );
    assertEquals(await engine.removeLabelled([label]), [container]);
    assertEquals(await engine.containers({ labels: [label] }), []);
    await engine.remove([container], { force: true }); // missing: fine
    await waitFor(() => Promise.resolve(events.some((e) => e.action === "destroy")));
    const actions = events.map((e) => e.action).filter((a) =>
      ["create", "start", "pause", "unpause", "kill", "die", "destroy"].includes(a)
    );
    assertEquals(actions, [
      "create",
      "start",
      "pause",
      "unpause",
      "kill",
      "die",
      "start",
      "kill",
      "die",
      "destroy",
    ]);
    assert(events.every((e) => e.id === container && e.timeNano > 1.6e18), "engine clock, ns");
    assertEquals(events.find((e) => e.action === "die")?.attributes.exitCode, "137");
    watching.abort();
    await watcher;
  } finally {
    watching.abort();
    await hostDocker(dockerHost, ["rm", "-f", `${id}-c`]);
    await sh(`rm -rf /tmp/${id}-dir`);
  }
}

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function withEngine(
  remote: Remote,
  socket: string,
  fn: (engine: DockerEngine, trace: string[]) => Promise<void>,
): Promise<void> {
  const trace: string[] = [];
  const engine = new DockerEngine({
    host: remote.name,
    dial: (signal) => remote.dialSocket(socket, signal),
    trace: (line) => trace.push(line),
  });
  try {
    await fn(engine, trace);
  } finally {
    engine.close();
    await remote.close();
  }
}

Deno.test("DockerEngine runs a container's whole lifecycle on the local socket [integration: docker]", async () => {
  const image = `${uniqueId("eapi")}:img`;
  await buildBusyboxImage(image);
  try {
    await withEngine(new LocalRemote(), DEFAULT_ENGINE_SOCKET, async (engine, trace) => {
      await lifecycle(engine, image, { dockerHost: `unix://${DEFAULT_ENGINE_SOCKET}` });
      assert(
        trace.some((line) =>
          /^local: API POST \/v1\.41\/containers\/\S+\/pause \d+ ms, ok$/.test(line)
        ),
        trace.join("\n"),
      );
    });
  } finally {
    await sh(`docker rmi -f ${image} >/dev/null`);
  }
});

for (const which of ["hostA", "hostB"] as const) {
  Deno.test(`DockerEngine over one SSH connection runs a container's whole lifecycle on testbed ${which} [integration: docker, ssh, testbed]`, async () => {
    const bed = await testbed();
    const host = bed[which];
    const image = `${uniqueId("eapi")}:img`;
    await buildBusyboxImage(image);
    try {
      if (which === "hostB") {
        await sh(`docker save ${image} | docker -H ${host.dockerHost} load -q >/dev/null`);
      }
      const ssh = await SshRemote.connect(sshOptions(bed, host));
      let execs = 0;
      const execute = ssh.execute.bind(ssh);
      ssh.execute = (argv, options) => {
        execs++;
        return execute(argv, options);
      };
      await withEngine(ssh, engineSocketOf(host.dockerHost)!, async (engine, trace) => {
        await lifecycle(engine, image, host);
        // Every call went over forwarded channels: no command, no login.
        assertEquals(execs, 0);
        assert(trace.length > 10, trace.join("\n"));
      });
    } finally {
      await hostDocker(host, ["rmi", "-f", image]);
      if (which === "hostB") await sh(`docker rmi -f ${image} >/dev/null`);
    }
  });
}

Deno.test("DockerEngine names the host and socket when the engine's socket cannot be reached [integration: docker]", async () => {
  await withEngine(
    new LocalRemote({ name: "nowhere" }),
    "/nonexistent/docker.sock",
    async (engine) => {
      const error = await assertRejects(() => engine.version(), EngineApiError);
      assert(
        error.message.startsWith("nowhere: docker version") &&
          error.message.includes("/nonexistent/docker.sock"),
        error.message,
      );
    },
  );
});

Deno.test("DockerEngine's event stream and requests on an SSH connection that dies end instead of waiting forever [integration: docker, ssh, testbed]", async () => {
  const bed = await testbed();
  const { privateSshd } = await import("../../support/host_b_sshd.ts");
  await using sshd = await privateSshd(bed, bed.knownHostsPath);
  const ssh = await SshRemote.connect(sshOptions(bed, bed.hostB, { port: sshd.port }));
  const engine = new DockerEngine({
    host: "hostb",
    dial: (signal) => ssh.dialSocket(engineSocketOf(bed.hostB.dockerHost)!, signal),
  });
  try {
    await engine.version();
    const stream = (async () => {
      for await (const _ of engine.events(["type=container", `label=${uniqueId("none")}`])) {
        // none come
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the stream is open
    await sshd.down(); // the host's sshd and its sessions die
    // The stream ends (it would have waited forever on the dead channel).
    const ended = await Promise.race([
      stream.then(() => "ended", () => "ended"),
      new Promise((resolve) => setTimeout(() => resolve("hung"), 15_000)),
    ]);
    assertEquals(ended, "ended");
    await assertRejects(() => engine.containers({}), Error);
  } finally {
    engine.close();
    await ssh.close();
  }
});

Deno.test("DockerEngine.run() aborted mid-flight settles, and leaves no container it did not report [integration: docker]", async () => {
  const id = uniqueId("eapi-abort");
  const image = `${id}:img`;
  await buildBusyboxImage(image);
  const remote = new LocalRemote();
  const engine = new DockerEngine({
    host: "local",
    dial: (signal) => remote.dialSocket(DEFAULT_ENGINE_SOCKET, signal),
  });
  try {
    await engine.version();
    for (const delayMs of [0, 5, 30, 80]) {
      const abort = new AbortController();
      const runs = Array.from({ length: 6 }, (_, i) =>
        engine.run({
          image,
          name: `${id}-${delayMs}-${i}`,
          labels: { "tm.test-engine-api": id },
          command: ["sleep", "600"],
        }, abort.signal));
      setTimeout(() => abort.abort(new Error("stop")), delayMs);
      const settled = await Promise.race([
        Promise.allSettled(runs),
        new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 30_000)),
      ]);
      assert(settled !== "hung", `runs aborted after ${delayMs} ms settle`);
      const reported = settled.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
      const found = await engine.containers({ labels: [`tm.test-engine-api=${id}`] });
      assertEquals(found.map((c) => c.id).sort(), reported.sort(), `after ${delayMs} ms`);
      await engine.remove(reported, { force: true });
    }
  } finally {
    await engine.removeLabelled([`tm.test-engine-api=${id}`]);
    engine.close();
    await remote.close();
    await sh(`docker rmi -f ${image} >/dev/null`);
  }
});

Deno.test("splitReference splits a tag off the last path part only; no tag is latest, a digest stays", () => {
  assertEquals(splitReference("peer"), { name: "peer", tag: "latest" });
  assertEquals(splitReference("peer:v2"), { name: "peer", tag: "v2" });
  assertEquals(splitReference("reg:5000/a/peer"), { name: "reg:5000/a/peer", tag: "latest" });
  assertEquals(splitReference("reg:5000/a/peer:1"), { name: "reg:5000/a/peer", tag: "1" });
  assertEquals(splitReference(`a@sha256:${"0".repeat(64)}`).tag, null);
});

Deno.test("DockerEngine exports an image from one engine and loads it, streamed, into another; the image store and layers read from /info and inspect [integration: docker]", async () => {
  const image = `${uniqueId("eapi-img")}:img`;
  await buildBusyboxImage(image);
  const trace: string[] = [];
  const local = DockerEngine.local({ host: "local", trace: (line) => trace.push(line) });
  await using second = await startSecondEngine();
  const target = second.engine("second");
  try {
    const info = (await local.images([image])).get(image)!;
    const archive = await local.exportImages([image]);
    assertEquals(await target.loadImages(archive), [`Loaded image: ${image}`]);
    assertEquals((await target.images([image])).get(image)?.id, info.id);
    assert(
      trace.some((l) => /^local: API GET \/v1\.\d+\/images\/get \d+ ms, ok$/.test(l)),
      trace.join("\n"),
    );

    const store = await target.imageStore();
    assertEquals(store, { kind: "classic", driver: "overlay2", root: second.dataRoot });
    assertEquals(await target.imageLayers(), [info.layers]);
    assertEquals(local.localSocket, DEFAULT_ENGINE_SOCKET);

    // Everything unused goes, as `docker system prune -af` does: the loaded image too.
    assert(await target.pruneAll() > 0);
    assertEquals((await target.images([image])).get(image), null);
  } finally {
    local.close();
    target.close();
    await sh(`docker rmi -f ${image} >/dev/null`);
  }
});

Deno.test("DockerEngine.loadImages() throws the engine's message when it refuses an archive [integration: docker]", async () => {
  await using second = await startSecondEngine();
  const engine = second.engine("second");
  try {
    // A tar whose config has no root filesystem.
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(
      `${dir}/manifest.json`,
      JSON.stringify([{ Config: "c.json", RepoTags: ["x:y"], Layers: ["missing/layer.tar"] }]),
    );
    await Deno.writeTextFile(`${dir}/c.json`, "{}");
    const tar = await new Deno.Command("tar", {
      args: ["-C", dir, "-cf", "-", "."],
      stdout: "piped",
    })
      .output();
    await Deno.remove(dir, { recursive: true });
    const error = await assertRejects(
      () => engine.loadImages(ReadableStream.from([tar.stdout])),
      EngineApiError,
    );
    assertEquals(error.host, "second");
    assert(error.status !== null, error.message);
    assertEquals(error.message, "second: docker load: invalid image JSON, no RootFS key");
  } finally {
    engine.close();
  }
});

Deno.test("DockerEngine.pull() reads the progress to its end and throws the engine's message when the pull fails [integration: docker]", async () => {
  await using second = await startSecondEngine();
  const engine = second.engine("second");
  try {
    // The engine has no network namespace route out: the registry cannot be reached.
    const error = await assertRejects(
      () => engine.pull(`127.0.0.1:1/${uniqueId("nothing")}:x`),
      EngineApiError,
    );
    assert(error.message.startsWith("second: docker pull 127.0.0.1:1/"), error.message);
    assert(/connect|refused|dial/i.test(error.reason), error.message);
  } finally {
    engine.close();
  }
});
