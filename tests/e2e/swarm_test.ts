/**
 * End to end: `connection: swarm` on a two-node swarm made of the test bed's engines (host A's,
 * this machine's, the manager; host B's a worker), formed by the test and left as found in a
 * `finally`. The nodes are found at run time: peers placed on both by their `tm.tag.*` labels,
 * commands, a restart (exit 42), pause/resume and kill/start faults, checks; nothing left on
 * either engine (no service, no container, no config dir). An engine already in a swarm is not
 * touched: the test is then ignored, saying why.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { type LogLine, nextBasePort, sshClientEnds, workspace } from "../support/e2e.ts";
import {
  formSwarm,
  killHostASessions,
  swarmBusy,
  swarmEntry,
  swarmTestBody,
} from "../support/testbed_swarm.ts";
import { containerName } from "../../src/runtimes/docker/container_names.ts";
import { startSecondEngine } from "../support/second_engine.ts";
import { eventually } from "../support/until.ts";
import { buildBusyboxImage, removeImages, sh } from "../support/scratch_images.ts";
import { currentOwner } from "../../src/coordination/run_owner.ts";

const busy = swarmBusy();

function tagged(lines: LogLine[], source: string, tag: string): LogLine[] {
  return lines.filter((line) => line.source === source && line.tag === tag);
}

/** Names of this test's services that had `event` (create, remove) since `since`, sorted. */
async function serviceEvents(since: number, event: string, test: string): Promise<string[]> {
  const out = await new Deno.Command("docker", {
    args: [
      "events",
      "--since",
      String(since),
      "--until",
      String(Math.ceil(Date.now() / 1000)),
      "--filter",
      "type=service",
      "--filter",
      `event=${event}`,
      "--format",
      "{{.Actor.Attributes.name}}",
    ],
    stdin: "null",
  }).output();
  const prefix = containerName(test, "");
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((name) => name.startsWith(prefix)).sort();
}

/** This test's services on the manager (this machine's engine). */
async function services(test: string): Promise<string[]> {
  const out = await new Deno.Command("docker", {
    args: ["service", "ls", "--filter", `label=tm.test=${test}`, "--format", "{{.Name}}"],
    stdin: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((line) => line !== "");
}

Deno.test({
  name: "tm runs a test on a two-node swarm of the test bed's engines: placement by node labels, " +
    "commands, a restart, pause and kill/start faults, checks, exit 0, nothing left on either engine " +
    `[integration: testbed, swarm]${busy ? ` (ignored: ${busy})` : ""}`,
  ignore: busy !== undefined,
}, async () => {
  await using ws = await workspace("swarm");
  const { bed } = ws;
  const swarm = await formSwarm(bed);
  if (typeof swarm === "string") throw new Error(swarm);
  try {
    const image = bed.peerImage;
    const config = await ws.writeConfig({
      timeout: { startup: 30, shutdown: 10 },
      redis: { port: ws.redisPort, image: bed.redisImage },
      images: [image],
      hosts: [swarmEntry(bed, { name: "lab", base_port: nextBasePort() })],
      ...swarmTestBody(image, {
        faults: [
          { time: 3, fault: "kill", peer: "near" },
          { time: 4, fault: "start", peer: "near" },
        ],
        pullAt: 7,
      }),
    });

    const validated = await ws.run(["validate", config]);
    assertEquals(validated.code, 0, validated.stderr);
    assert(/does not contact the swarm/.test(validated.stdout), validated.stdout);

    const since = Math.floor(Date.now() / 1000) - 1;
    const result = await ws.run([config]);
    const output = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
    assertEquals(result.code, 0, output);
    // Each peer was a service (the manager's events), created and removed by the run.
    for (const event of ["create", "remove"]) {
      assertEquals(
        await serviceEvents(since, event, ws.name),
        ["dave", "far", "near"].map((peer) => containerName(ws.name, peer)),
        output,
      );
    }
    // The plan, shown once the nodes were found, names each node: near on a, far and dave on b.
    for (const [peer, node] of [["near", "a"], ["far", "b"], ["dave", "b"]]) {
      assert(new RegExp(`^\\s*${peer}\\s+${node}\\s`, "m").test(result.stdout), output);
    }
    const lines = await ws.logLines();
    const dave = tagged(lines, "dave", "STATUS").map((l) => l.text);
    assert(
      dave.some((t) => /^started .*\(was restarting\)$/.test(t)),
      `dave restarted:\n${output}`,
    );
    const faults = tagged(lines, "tm", "FAULT").map((l) => l.text.replace(/ \(#.*\)$/, ""));
    assertEquals(
      faults,
      ["fault pause near", "fault resume near", "fault kill near", "fault start near"],
      output,
    );
    // near, killed when connected, started again: its task's container, on node a.
    const near = tagged(lines, "near", "STATUS").map((l) => l.text);
    assertEquals(near.filter((t) => t.startsWith("started")).length, 2, output);

    assertEquals(await services(ws.name), []);
    assertEquals(await ws.containers(), { hosta: [], hostb: [] });
    assertEquals(await ws.leftoverConfigDirs(), []);
  } finally {
    await swarm.leave();
  }
  const state = await new Deno.Command("docker", {
    args: ["info", "--format", "{{.Swarm.LocalNodeState}}"],
  }).output();
  assertEquals(new TextDecoder().decode(state.stdout).trim(), "inactive");
});

/** Creates a service as a dead run of `test` would have left it (its owner's boot is gone). */
async function deadRunService(test: string, nodeId: string, image: string): Promise<string> {
  const name = containerName(test, "ghost");
  const owner = currentOwner("deadbeef", test);
  const labels = {
    "tm.run": "deadbeef",
    "tm.test": test,
    "tm.role": "peer",
    "tm.peer": "ghost",
    "tm.hostname": owner.hostname,
    "tm.machine": owner.machine,
    "tm.pid": "1",
    "tm.process": "a-boot-long-gone/1",
  };
  const flags = Object.entries(labels).flatMap(([k, v]) => [
    "--label",
    `${k}=${v}`,
    "--container-label",
    `${k}=${v}`,
  ]);
  const out = await new Deno.Command("docker", {
    args: [
      "service",
      "create",
      "--detach",
      "--no-resolve-image",
      "--restart-condition",
      "none",
      "--constraint",
      `node.id==${nodeId}`,
      "--name",
      name,
      ...flags,
      image,
    ],
    stdin: "null",
  }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return name;
}

Deno.test({
  name: "tm on a swarm removes the services a dead run of the test left (with a warning), and " +
    "--reset-hosts removes the test's services; the manager reached over SSH; Ctrl-C leaves " +
    "no service " +
    "[integration: testbed, swarm]" +
    (busy ? ` (ignored: ${busy})` : ""),
  ignore: busy !== undefined,
}, async () => {
  await using ws = await workspace("swarm-left");
  const { bed } = ws;
  const swarm = await formSwarm(bed);
  if (typeof swarm === "string") throw new Error(swarm);
  try {
    const image = bed.peerImage;
    const imageId = (await new Deno.Command("docker", {
      args: ["image", "inspect", "-f", "{{.Id}}", image],
    }).output()).stdout;
    const id = new TextDecoder().decode(imageId).trim();
    // --reset-hosts removes the config's `images` from every node: a tag of this test's own,
    // never the test bed's shared images.
    const own = `tm-${ws.name}:reset`;
    const tagged = await new Deno.Command("docker", { args: ["tag", image, own] }).output();
    assertEquals(tagged.code, 0);
    const config = await ws.writeConfig({
      timeout: { startup: 30, shutdown: 10 },
      redis: { port: ws.redisPort, image: bed.redisImage },
      images: [own],
      // The manager over SSH (host A's sshd): node a is reached as the manager is.
      hosts: [{
        ...swarmEntry(bed, { base_port: nextBasePort() }),
        manager: undefined,
        name: "lab",
        address: bed.hostA.address,
        ssh_port: bed.hostA.port,
        ssh_user: bed.hostA.user,
        ssh_auth: bed.hostA.key,
      }],
      peers: [{ name: "alice", image, runs_on: "a" }],
      commands: [{ time: 0.5, peer: "alice", command: "pull" }],
    });
    const ghost = await deadRunService(ws.name, swarm.nodes.a, id);
    assertEquals(await services(ws.name), [ghost]);
    const result = await ws.run([config]);
    const output = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
    assertEquals(result.code, 0, output);
    assert(
      new RegExp(`removing 1 service left by run deadbeef .*\\(${ghost}\\)`).test(result.stdout),
      output,
    );
    assertEquals(await services(ws.name), []);

    await deadRunService(ws.name, swarm.nodes.b, id);
    const reset = await ws.run(["--reset-hosts", config]);
    const resetOutput = `stdout:\n${reset.stdout}\nstderr:\n${reset.stderr}`;
    assertEquals(reset.code, 0, resetOutput);
    assert(reset.stdout.includes(`lab: removed service ${ghost}`), resetOutput);
    assert(reset.stdout.includes(`a: removed ${own}`), resetOutput);
    assert(reset.stdout.includes(`b: ${own} was not there`), resetOutput);
    assertEquals(await services(ws.name), []);

    // Ctrl-C during the timeline: shutdown, cleanup, exit 130, no service or container left.
    const long = await ws.writeConfig({
      timeout: { startup: 30, shutdown: 10 },
      redis: { port: ws.redisPort, image: bed.redisImage },
      hosts: [swarmEntry(bed, { base_port: nextBasePort() })],
      peers: [{ name: "alice", image, runs_on: "a" }, { name: "bob", image, runs_on: "b" }],
      commands: [{ time: 120, peer: "alice", command: "pull" }],
    }, "long.yaml");
    const tm = ws.start([long]);
    await tm.waitFor(/── timeline/);
    assertEquals((await services(ws.name)).length, 2);
    tm.kill("SIGINT");
    const interrupted = await tm.done;
    assertEquals(interrupted.code, 130, `${interrupted.stdout}\n${interrupted.stderr}`);
    assertEquals(await services(ws.name), []);
    assertEquals(await ws.containers(), { hosta: [], hostb: [] });
  } finally {
    await swarm.leave();
    await new Deno.Command("docker", { args: ["rmi", `tm-${ws.name}:reset`], stderr: "null" })
      .output();
  }
});

Deno.test({
  name: "tm on a swarm reconnects to a manager reached over SSH whose session was killed " +
    "mid-timeline, and teardown removes every service: nothing left behind, exit 0 " +
    "[integration: testbed, swarm]" +
    (busy ? ` (ignored: ${busy})` : ""),
  ignore: busy !== undefined,
}, async () => {
  await using ws = await workspace("swarm-lost");
  const { bed } = ws;
  const swarm = await formSwarm(bed);
  if (typeof swarm === "string") throw new Error(swarm);
  try {
    const image = bed.peerImage;
    const entry = swarmEntry(bed, { base_port: nextBasePort() });
    const config = await ws.writeConfig({
      timeout: { startup: 60, shutdown: 30 },
      redis: { port: ws.redisPort, image: bed.redisImage },
      images: [image],
      // The manager over host A's sshd; node a as this machine, so that the manager's is the
      // only SSH connection tm has to host A: killing its sessions drops the manager alone.
      hosts: [{
        ...entry,
        manager: undefined,
        name: "lab",
        address: bed.hostA.address,
        ssh_port: bed.hostA.port,
        ssh_user: bed.hostA.user,
        ssh_auth: bed.hostA.key,
        nodes: { ...entry.nodes, a: "local" },
      }],
      peers: [{ name: "alice", image, runs_on: "a" }, { name: "bob", image, runs_on: "b" }],
      commands: [
        { time: 0, peer: "alice", command: "connect" },
        { time: 6, peer: "bob", command: "pull" },
      ],
    });
    const tm = ws.start([config]);
    await tm.waitFor(/── timeline/);
    const ends = (await sshClientEnds(tm.pid, bed))
      .filter((end) => end.startsWith(`${bed.hostA.orchestratorAddress} `));
    assert(ends.length > 0, "tm's connection to the manager (host A's sshd)");
    const killed = await killHostASessions(bed, ends.map((end) => Number(end.split(" ")[1])));
    assert(killed.length > 0, "the sshd serving the manager's connection was killed");
    await tm.waitFor(/host lab lost/);
    await tm.waitFor(/host lab reconnected after/);
    const result = await tm.done;
    const output = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;

    assertEquals(result.code, 0, output);
    const log = await ws.logLines();
    assert(!log.some((l) => l.tag === "LEFT"), `nothing left behind:\n${output}`);
    assertEquals(await services(ws.name), []);
    assertEquals(await ws.containers(), { hosta: [], hostb: [] });
    assertEquals(await ws.leftoverConfigDirs(), []);
  } finally {
    await swarm.leave();
  }
});

/** `docker service create` of a tm-labelled service on `dockerHost` (a private engine). */
function labelledService(
  dockerHost: string,
  name: string,
  labels: Record<string, string>,
  image: string,
  command: string,
): Promise<string> {
  const flags = Object.entries(labels).map(([k, v]) =>
    `--label ${k}=${v} --container-label ${k}=${v}`
  );
  return sh(
    `DOCKER_HOST=${dockerHost} docker service create --detach --no-resolve-image ` +
      `--restart-condition none ${flags.join(" ")} --name ${name} ${image} ${command}`,
  );
}

Deno.test("tm --reset-hosts-all --yes on a swarm removes the test's services and other tests' ended ones, keeps a running one, and prunes every node [integration: docker, swarm]", async () => {
  // A private one-node swarm (a private engine): pruning never touches a shared engine.
  await using ws = await workspace("swarm-resetall");
  await using engine = await startSecondEngine();
  const on = (script: string) => sh(`export DOCKER_HOST=${engine.dockerHost}; ${script}`);
  const image = `tm-${ws.name}:bb`;
  const unused = `tm-${ws.name}:unused`;
  try {
    await buildBusyboxImage(image);
    await buildBusyboxImage(unused, ["true"]);
    await sh(
      `docker save ${image} ${unused} | DOCKER_HOST=${engine.dockerHost} docker load -q`,
    );
    await on("docker swarm init --listen-addr 127.0.0.1:2377 --advertise-addr 127.0.0.1");
    const node = (await on("docker info --format '{{.Swarm.NodeID}}'")).trim();
    await on(`docker node update --label-add tm.name=solo ${node}`);
    // A dead run's service of this test, and of another test (their tasks end at once), and a
    // service of another test whose task runs (a live run's, perhaps).
    const ghost = containerName(ws.name, "ghost");
    const other = containerName(`${ws.name}-other`, "ghost");
    const live = containerName(`${ws.name}-other`, "live");
    const run = (test: string) => ({ "tm.test": test, "tm.run": "deadbeef" });
    await labelledService(engine.dockerHost, ghost, run(ws.name), image, "true");
    await labelledService(engine.dockerHost, other, run(`${ws.name}-other`), image, "true");
    await labelledService(engine.dockerHost, live, run(`${ws.name}-other`), image, "sleep 600");
    await eventually("the services' tasks ended or running", async () => {
      const states =
        (await on("docker service ps --format '{{.CurrentState}}' $(docker service ls -q)"))
          .trim().split("\n");
      return states.length === 3 &&
        states.filter((s) => s.startsWith("Complete")).length === 2 &&
        states.some((s) => s.startsWith("Running"));
    });
    const config = await ws.writeConfig({
      redis: { port: ws.redisPort, image: ws.bed.redisImage },
      hosts: [{ connection: "swarm", manager: "local", name: "lab", base_port: nextBasePort() }],
      peers: [{ name: "alice", image }],
      commands: [{ time: 0, peer: "alice", command: "pull" }],
    });
    const reset = await ws.run(["--reset-hosts-all", "--yes", config], {
      env: { DOCKER_HOST: engine.dockerHost },
    });
    const output = `stdout:\n${reset.stdout}\nstderr:\n${reset.stderr}`;
    assertEquals(reset.code, 0, output);
    assert(reset.stdout.includes(`lab: removed service ${ghost}\n`), output);
    assert(
      reset.stdout.includes(
        `lab: removed service ${other} (test ${ws.name}-other, its task ended)`,
      ),
      output,
    );
    assert(
      reset.stdout.includes(
        `lab: kept service ${live} of test ${ws.name}-other: its task is still running`,
      ),
      output,
    );
    assert(/^solo: pruned .*Total reclaimed space: /m.test(reset.stdout), output);
    assertEquals((await on("docker service ls --format '{{.Name}}'")).trim(), live, output);
    // The running task's container and its image stay; the unused image is pruned.
    // The removed services' task containers go after the services do (asynchronously).
    await eventually(
      "only the running task's container left",
      async () => (await on("docker ps -a --format '{{.State}}'")).trim() === "running",
    );
    assertEquals(
      (await on("docker image ls --format '{{.Repository}}:{{.Tag}}'")).trim(),
      image,
      output,
    );
    assertEquals(
      (await on("docker info --format '{{.Swarm.LocalNodeState}}'")).trim(),
      "active",
      "the swarm itself is kept",
    );
  } finally {
    await on("docker swarm leave --force").catch(() => {});
    await removeImages(image, unused);
  }
});
