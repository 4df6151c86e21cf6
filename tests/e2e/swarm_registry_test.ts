/**
 * End to end: a swarm with `registry:` and no `nodes:` entry for host B's node. tm pushes the
 * peer image to a registry (Debian's `docker-registry`, started by the test, both engines reach
 * it as 127.0.0.1:<port>), the services run it pinned by digest on both nodes; host B's node is
 * watched through the manager alone (task state, service logs): commands, a restart (exit 42),
 * checks, exit codes and the output in the run record. A fault on a peer of host B's node is
 * refused before anything starts (exit 2, naming the fault and the node); a registry node b
 * cannot pull from fails the run saying what the node needs. Nothing is left on either engine:
 * no service, no container, no `<registry>/…` reference on this machine's engine.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { nextBasePort, workspace } from "../support/e2e.ts";
import { formSwarm, swarmBusy, swarmTestBody } from "../support/testbed_swarm.ts";
import { registryMissing, startTestRegistry } from "../support/test_registry.ts";
import { hostDocker } from "../support/testbed.ts";
import { eventually } from "../support/until.ts";
import { peerFile } from "../../src/record/record_files.ts";

const busy = swarmBusy() ?? registryMissing();

/** This test's services on the manager (this machine's engine). */
async function services(test: string): Promise<string[]> {
  const out = await new Deno.Command("docker", {
    args: ["service", "ls", "--filter", `label=tm.test=${test}`, "--format", "{{.Name}}"],
    stdin: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((line) => line !== "");
}

/** The references (tags and digests) an engine holds in `registry`. */
async function referencesIn(dockerHost: string, registry: string): Promise<string[]> {
  const listed = await hostDocker({ dockerHost }, [
    "image",
    "ls",
    "--digests",
    "--format",
    "{{.Repository}} {{.Tag}} {{.Digest}}",
  ]);
  return listed.stdout.split("\n").filter((line) => line.startsWith(`${registry}/`))
    .flatMap((line) => {
      const [repo, tag, digest] = line.split(" ");
      return [
        ...(tag && tag !== "<none>" ? [`${repo}:${tag}`] : []),
        ...(digest && digest !== "<none>" ? [`${repo}@${digest}`] : []),
      ];
    });
}

Deno.test({
  name: "tm on a swarm with registry: pushes the peer image, runs peers on a node it cannot " +
    "reach from the registry pinned by digest, watches them through the manager (exits, " +
    "restart, output), refuses a fault there with exit 2, and leaves nothing on either engine " +
    `[integration: testbed, swarm, docker-registry]${busy ? ` (ignored: ${busy})` : ""}`,
  ignore: busy !== undefined,
}, async () => {
  await using ws = await workspace("swarm-registry");
  const { bed } = ws;
  // An image name of this test's own (the same image as the shared peer image).
  const image = `tm-${ws.name}:peer`;
  assertEquals(
    (await new Deno.Command("docker", { args: ["tag", bed.peerImage, image] }).output()).code,
    0,
  );
  const registry = await startTestRegistry(bed);
  const others: { stop(): Promise<void> }[] = [];
  const swarm = await formSwarm(bed);
  try {
    if (typeof swarm === "string") throw new Error(swarm);
    const entry = {
      connection: "swarm",
      manager: "local",
      name: "lab",
      registry: registry.address,
      base_port: nextBasePort(),
    };
    const common = {
      timeout: { startup: 60, shutdown: 15 },
      redis: { port: ws.redisPort, image: bed.redisImage },
      images: [image],
      hosts: [entry],
    };

    // A fault on a peer of node b, which tm cannot reach: refused before anything starts.
    const faulty = await ws.writeConfig({
      ...common,
      peers: [{ name: "far", image, runs_on: "b" }],
      commands: [{ time: 1, fault: "pause", peer: "far" }],
    }, "faulty.yaml");
    const refused = await ws.run([faulty]);
    const refusedOutput = `stdout:\n${refused.stdout}\nstderr:\n${refused.stderr}`;
    assertEquals(refused.code, 2, refusedOutput);
    assert(
      /fault pause on far cannot be done: far runs on node b\b/.test(refused.stderr),
      refusedOutput,
    );
    assert(!/\n\s+at /.test(refused.stderr), `no stack trace:\n${refusedOutput}`);
    assertEquals(await services(ws.name), []);

    const config = await ws.writeConfig({
      ...common,
      ...swarmTestBody(image),
    });
    const out = `${ws.dir}/records`;
    const result = await ws.run([config, "--out", out, "--verbose"]);
    const output = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
    assertEquals(result.code, 0, output);
    // The plan names both nodes; near on a (reached as the manager), far and dave on b.
    for (const [peer, node] of [["near", "a"], ["far", "b"], ["dave", "b"]]) {
      assert(new RegExp(`^\\s*${peer}\\s+${node}\\s`, "m").test(result.stdout), output);
    }
    // The image went to the registry, and the services ran it pinned by its digest.
    const pushed = /pushed \S+ as (\S+@sha256:[0-9a-f]{64})/.exec(result.stdout + result.stderr);
    assert(pushed, `a push traced:\n${output}`);
    assertEquals(await registry.catalog(), [`tm-${ws.name}`]);
    const lines = (await ws.logLines()).filter((l) => l.source === "dave" && l.tag === "STATUS");
    assert(lines.some((l) => /^started .*\(was restarting\)$/.test(l.text)), output);
    // far and dave ran on b: their output came from the manager's service logs.
    const [dir] = [...Deno.readDirSync(out)].map((e) => `${out}/${e.name}`);
    for (const peer of ["near", "far", "dave"]) {
      const log = await Deno.readTextFile(`${dir}/${peerFile(peer, "container.log")}`);
      assert(log.includes(`${peer} starting`), `${peer}'s output:\n${log}\n${output}`);
    }

    assertEquals(await services(ws.name), []);
    // Node b's agent removes the task containers once the services are gone.
    await eventually("no container of the test left on either engine", async () => {
      const left = await ws.containers();
      return left.hosta.length === 0 && left.hostb.length === 0;
    });
    assertEquals(await referencesIn(bed.hostA.dockerHost, registry.address), []);

    // A registry node b cannot pull from: its peer's task is rejected, the run fails saying
    // what the node needs, and leaves no service.
    const unreachable = await startTestRegistry(bed, { hostB: false });
    others.push(unreachable);
    const unpullable = await ws.writeConfig({
      ...common,
      hosts: [{ ...entry, registry: unreachable.address }],
      peers: [{ name: "far", image, runs_on: "b" }],
      commands: [],
    }, "unpullable.yaml");
    const failed = await ws.run([unpullable]);
    const failedOutput = `stdout:\n${failed.stdout}\nstderr:\n${failed.stderr}`;
    assertEquals(failed.code, 1, failedOutput);
    assert(
      failedOutput.includes(`its node pulls ${unreachable.address}/tm-${ws.name}@sha256:`) &&
        failedOutput.includes("insecure-registries"),
      failedOutput,
    );
    assertEquals(await services(ws.name), []);
  } finally {
    if (typeof swarm !== "string") await swarm.leave();
    // Node b pulled the image by digest: that reference is the test's to remove.
    for (const reference of await referencesIn(bed.hostB.dockerHost, registry.address)) {
      await hostDocker({ dockerHost: bed.hostB.dockerHost }, ["image", "rm", reference]);
    }
    for (const reference of await referencesIn(bed.hostA.dockerHost, registry.address)) {
      await hostDocker({ dockerHost: bed.hostA.dockerHost }, ["image", "rm", reference]);
    }
    await new Deno.Command("docker", { args: ["image", "rm", image] }).output();
    await registry.stop();
    for (const other of others) await other.stop();
  }
});
