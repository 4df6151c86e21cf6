import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import {
  Docker,
  DockerError,
  mergeTimestamped,
  runArgs,
} from "../../../src/runtimes/docker/docker.ts";
import { LocalRemote } from "../../../src/transport/local.ts";
import type { ExecOptions, ExecResult, RemoteProcess } from "../../../src/transport/remote.ts";
import { commandLine } from "../../../src/transport/shell.ts";
import {
  buildBusyboxImage,
  removeImages,
  removeLabelled,
  uniqueId,
} from "../../support/scratch_images.ts";

/** Runs every command through `sh -c`, the way a command line reaches a host over SSH. */
class ShellRemote extends LocalRemote {
  override execute(argv: string[], options?: ExecOptions): Promise<ExecResult> {
    return super.execute(["sh", "-c", commandLine(argv)], options);
  }
  override spawn(argv: string[], options?: { signal?: AbortSignal }): RemoteProcess {
    return super.spawn(["sh", "-c", commandLine(argv)], options);
  }
}

Deno.test("runArgs() builds docker run -d arguments from a spec", () => {
  assertEquals(
    runArgs({
      image: "img:1",
      name: "c",
      labels: { "tm.run": "r" },
      ports: [{ host: 5, container: 6, protocol: "udp" }],
      env: { A: "x y" },
      volumes: [{ source: "/h", target: "/config" }],
      addHosts: ["host.docker.internal:host-gateway"],
      command: ["sh", "-c", "true"],
    }),
    [
      "run",
      "-d",
      "--name",
      "c",
      "--label",
      "tm.run=r",
      "-p",
      "5:6/udp",
      "-e",
      "A=x y",
      "-v",
      "/h:/config",
      "--add-host",
      "host.docker.internal:host-gateway",
      "img:1",
      "sh",
      "-c",
      "true",
    ],
  );
});

Deno.test("DockerError masks URL passwords in the command line it quotes", () => {
  const argv = [
    "docker",
    ...runArgs({
      image: "peer:1",
      name: "tm-t-alice",
      env: { REDIS_URL: "redis://default:s3cret@10.0.0.1:6379" },
    }),
  ];
  const error = new DockerError("b", argv, 125, "docker: Error response from daemon: boom");
  assert(!error.message.includes("s3cret"), error.message);
  assert(error.message.includes("REDIS_URL=redis://default:***@10.0.0.1:6379"), error.message);
  assertEquals(error.argv, argv, "the error keeps the real command for whoever handles it");
});

Deno.test("DockerError puts docker's cause first, on one line, and the command last", () => {
  const id = "53584b263bad8dd0c44724bb7f8b8cf63d4b0054c143ee59fe0a9e35e617cfbc";
  const stderr = "docker: Error response from daemon: driver failed programming external " +
    `connectivity on endpoint tm-t-duo (${id}): Error starting userland proxy: listen udp4 ` +
    "0.0.0.0:31282: bind: address already in use\n\nRun 'docker run --help' for more information";
  const argv = ["docker", ...runArgs({ image: "peer:1", name: "tm-t-duo", labels: { a: "b" } })];
  const error = new DockerError("hosta", argv, 125, stderr);
  assertEquals(
    error.message,
    "hosta: docker run failed (exit 125): driver failed programming external connectivity on " +
      "endpoint tm-t-duo (53584b263bad): Error starting userland proxy: listen udp4 " +
      "0.0.0.0:31282: bind: address already in use (command: docker run -d --name tm-t-duo " +
      "--label a=b peer:1)",
  );
  assertEquals(error.stderr, stderr, "docker's own words are kept whole");
});

Deno.test("mergeTimestamped() interleaves stdout and stderr by docker's timestamps", () => {
  const stdout = "2026-01-01T00:00:00.1Z one\n2026-01-01T00:00:00.3Z three\n";
  const stderr = "2026-01-01T00:00:00.25Z two\n2026-01-01T00:00:01Z four\n";
  assertEquals(mergeTimestamped(stdout, stderr), ["one", "two", "three", "four"]);
});

Deno.test("Docker wraps the local engine's CLI [integration: docker]", async (t) => {
  const id = uniqueId("hs-dk");
  const image = `${id}:bb`;
  const label = `hs.test=${id}`;
  const docker = new Docker(new LocalRemote({ name: "host-a" }));
  try {
    await buildBusyboxImage(image);

    for (
      const [how, via] of [["argv", docker], [
        "a remote shell",
        new Docker(new ShellRemote()),
      ]] as const
    ) {
      await t.step(`run() passes hostile environment values literally (${how})`, async () => {
        const hostile = {
          SPACES: "a b  c",
          QUOTES: `it's "quoted"`,
          SUBST: "$(echo pwned) ${HOME} `id`",
          NEWLINE: "line1\nline2",
          EQUALS: "k=v=w",
          EMPTY: "",
        };
        const cid = await via.run({
          image,
          name: `${id}-env-${how === "argv" ? 1 : 2}`,
          labels: { "hs.test": id },
          env: hostile,
          command: ["sh", "-c", "env -0"],
        });
        assertEquals((await via.call(["wait", cid])).trim(), "0");
        const result = await via.raw(["logs", cid]);
        const env = Object.fromEntries(
          result.stdout.split("\0").filter((e) => e).map((
            e,
          ) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
        );
        for (const [key, value] of Object.entries(hostile)) assertEquals(env[key], value, key);
        await via.rm([cid]);
      });
    }

    await t.step("containers() lists by label with label values; logs() keeps order", async () => {
      const cid = await docker.run({
        image,
        name: `${id}-exit3`,
        labels: { "hs.test": id, "hs.role": "a,b=c" },
        command: ["sh", "-c", "echo out1; echo err1 >&2; echo out2; exit 3"],
      });
      assertEquals((await docker.call(["wait", cid])).trim(), "3");
      const rows = await docker.containers({ labels: [label], names: [`${id}-exit3`] }, {
        labelKeys: ["hs.role", "hs.absent"],
      });
      assertEquals(rows.map((r) => [r.id, r.name, r.state, r.labels]), [
        [cid, `${id}-exit3`, "exited", { "hs.role": "a,b=c" }],
      ]);
      // Docker timestamps each stream as it reads it, so only the order within a stream is sure.
      const logs = await docker.logs(cid, 10);
      assertEquals([...logs].sort(), ["err1", "out1", "out2"]);
      assertEquals(logs.filter((line) => line.startsWith("out")), ["out1", "out2"]);
      assertEquals((await docker.logs(cid, 1)).length, 1);
    });

    await t.step("rm() removes by name and ignores missing containers", async () => {
      await docker.rm([`${id}-exit3`, `${id}-never`], { force: true });
      assertEquals(await docker.containers({ labels: [label] }), []);
    });

    await t.step("errors carry the host, the command and docker's stderr", async () => {
      const error = await assertRejects(
        () => docker.run({ image, name: "bad name!" }),
        DockerError,
      );
      assertEquals(error.host, "host-a");
      assertEquals(error.argv.slice(0, 3), ["docker", "run", "-d"]);
      assert(/invalid container name/i.test(error.stderr), error.stderr);
      assert(error.message.startsWith("host-a: docker run failed (exit 125): "), error.message);
      assert(/invalid container name/i.test(error.message), error.message);
    });

    await t.step("a missing docker binary gets a clear message", async () => {
      const missing = new Docker(new LocalRemote({ name: "host-z" }), {
        command: ["tm-no-docker-here"],
      });
      const error = await assertRejects(() => missing.call(["version"]), DockerError);
      assert(error.message.includes("host-z: docker is not installed"), error.message);
    });
  } finally {
    await removeLabelled(label);
    await removeImages(image);
  }
});
