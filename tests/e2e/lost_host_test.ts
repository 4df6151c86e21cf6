/**
 * End to end: a host lost mid-run. A killed SSH session is reconnected and watching resumes (an
 * exit during the outage is still reported); a host that does not come back within the startup
 * timeout fails the run naming it, and cleanup reconnects to remove its containers or reports
 * which ones it left. Host B is lost for this test only: its sessions are killed one by one, or
 * it is reached through a private sshd the test takes down (`tests/support/host_b_sshd.ts`).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import {
  processesOfRun,
  sshClientEnds,
  type TmProcess,
  type Workspace,
  workspace,
} from "../support/e2e.ts";
import { killSessions, privateSshd } from "../support/host_b_sshd.ts";
import { eventually } from "../support/until.ts";
import { containerName } from "../../src/runtimes/docker/container_names.ts";

interface TwoPeers {
  commands: unknown[];
  timeout: { startup: number; shutdown: number };
  /** Host B's SSH port (a private sshd); default the testbed's. */
  hostBPort?: number;
}

/** `near` on host A, `far` on host B. */
function twoPeers(ws: Workspace, options: TwoPeers): Promise<string> {
  const { bed } = ws;
  const image = bed.peerImage;
  const hostB = ws.host(bed.hostB, { tags: ["b"] });
  return ws.writeConfig({
    timeout: options.timeout,
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    hosts: [
      ws.host(bed.hostA, { tags: ["a"] }),
      options.hostBPort ? { ...hostB, ssh_port: options.hostBPort } : hostB,
    ],
    peers: [{ name: "near", image, runs_on: "a" }, { name: "far", image, runs_on: "b" }],
    commands: options.commands,
  });
}

/** Everything tm printed so far, for assertion messages. */
function printed(tm: TmProcess): string {
  return [...tm.stdout, ...tm.stderr].join("\n");
}

Deno.test("tm reconnects to a host whose SSH session was killed mid-timeline, passes, and removes its container [integration: testbed]", async () => {
  await using ws = await workspace("lostsession");
  const { bed } = ws;
  const config = await twoPeers(ws, {
    timeout: { startup: 60, shutdown: 60 },
    commands: [
      { time: 0, peer: "near", command: "connect" },
      { time: 0, peer: "far", command: "connect" },
      { time: 8, peer: "far", command: "pull" },
    ],
  });
  const tm = ws.start([config]);
  await tm.waitFor(/── timeline/);
  const ends = (await sshClientEnds(tm.pid, bed))
    .filter((end) => end.startsWith(`${bed.hostB.orchestratorAddress} `));
  const ports = ends.map((end) => Number(end.split(" ")[1]));
  assert(ports.length > 0, `tm's connection to host B:\n${printed(tm)}`);
  const stranded = await processesOfRun("/nonexistent", ends);
  assert(stranded.length > 0, "the lost session runs commands (docker events) on host B");
  const killed = await killSessions(bed, ports);
  assert(killed.length > 0, "the sshd serving tm on host B was killed");

  await tm.waitFor(/host hostb lost/);
  await tm.waitFor(/host hostb reconnected after/);
  const result = await tm.done;
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 0, output);
  assert(result.stdout.split("\n").some((l) => l.startsWith("PASSED")), output);
  const log = await ws.logLines();
  assert(
    log.some((l) => l.tag === "LOST" && l.text.startsWith("host hostb lost:")),
    "the outage is logged",
  );
  assert(log.some((l) => l.tag === "HOST" && l.text.startsWith("host hostb reconnected")));
  assert(log.some((l) => l.source === "far" && l.tag === "SENT" && l.text.startsWith("pull")));
  assert(!log.some((l) => l.tag === "LEFT"), "nothing left behind");
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
  // Killing the session does not end its commands on the host: the new connection did.
  assertEquals(await processesOfRun("/nonexistent", ends), [], "commands of the lost session");
});

Deno.test("tm reports a peer's exit during a host outage once the host is back [integration: testbed]", async () => {
  await using ws = await workspace("lostexit");
  await using sshd = await privateSshd(ws.bed, ws.knownHosts);
  const config = await twoPeers(ws, {
    hostBPort: sshd.port,
    timeout: { startup: 60, shutdown: 60 },
    commands: [
      { time: 0, peer: "near", command: "connect" },
      { time: 0, peer: "far", command: "connect" },
      { time: 2, peer: "far", command: "exit|3" },
      { time: 90, peer: "near", command: "pull" },
    ],
  });
  const tm = ws.start([config]);
  await tm.waitFor(/── timeline/);
  await sshd.down();
  await tm.waitFor(/host hostb lost/);
  // The peer exits on host B while tm cannot see it (Redis is on host A: commands still arrive).
  await eventually("far exited on host B", async () => {
    const { hostb } = await ws.containers();
    return hostb.length === 1 && hostb[0].state === "exited";
  }, 30_000);
  await sshd.up();
  const result = await tm.done;
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 1, output);
  const verdict = result.stdout.split("\n").find((l) => l.startsWith("FAILED"));
  assert(verdict?.includes("peer far exited with code 3"), `the verdict: ${verdict}\n${output}`);
  assert(/host hostb reconnected after/.test(result.stdout), output);
  const log = await ws.logLines();
  assert(!log.some((l) => l.source === "near" && l.tag === "SENT" && l.text.startsWith("pull")));
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm fails the run naming a host gone longer than the startup timeout, and cleanup reconnects to remove its container [integration: testbed]", async () => {
  await using ws = await workspace("losthost");
  await using sshd = await privateSshd(ws.bed, ws.knownHosts);
  const config = await twoPeers(ws, {
    hostBPort: sshd.port,
    timeout: { startup: 10, shutdown: 60 },
    commands: [
      { time: 0, peer: "near", command: "connect" },
      { time: 0, peer: "far", command: "connect" },
      { time: 90, peer: "near", command: "pull" },
    ],
  });
  const tm = ws.start([config]);
  await tm.waitFor(/── timeline/);
  await sshd.down();
  // The line gives the time tm waited (10 s, more under load): match the words, not the clock.
  await tm.waitFor(/host hostb lost: connection lost and not restored within [\d.]+ s/, 60_000);
  await sshd.up(); // back in time for cleanup
  const result = await tm.done;
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 1, output);
  const verdict = result.stdout.split("\n").find((l) => l.startsWith("FAILED"));
  assert(verdict?.includes("host hostb lost"), `the verdict names the host: ${verdict}\n${output}`);
  const log = await ws.logLines();
  assert(!log.some((l) => l.source === "near" && l.tag === "SENT" && l.text.startsWith("pull")));
  // The other peers went through the graceful path: shutdown, stopped.
  assert(log.some((l) => l.source === "near" && l.tag === "SENT" && l.text === "shutdown"));
  assert(log.some((l) => l.tag === "HOST" && l.text.startsWith("host hostb reconnected")), output);
  assert(!log.some((l) => l.tag === "LEFT"), output);
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm names the containers it could not remove from a host that never came back, in the summary and the log file [integration: testbed]", async () => {
  await using ws = await workspace("lostforgood");
  await using sshd = await privateSshd(ws.bed, ws.knownHosts);
  const config = await twoPeers(ws, {
    hostBPort: sshd.port,
    timeout: { startup: 8, shutdown: 5 },
    commands: [
      { time: 0, peer: "near", command: "connect" },
      { time: 0, peer: "far", command: "connect" },
      { time: 90, peer: "near", command: "pull" },
    ],
  });
  const tm = ws.start([config]);
  await tm.waitFor(/── timeline/);
  await sshd.down();
  const result = await tm.done;
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 1, output);
  const verdict = result.stdout.split("\n").find((l) => l.startsWith("FAILED"));
  assert(verdict?.includes("host hostb lost"), `the verdict names the host: ${verdict}\n${output}`);
  const far = containerName(ws.name, "far");
  assert(
    result.stdout.split("\n").some((l) => l.includes("left on hostb:") && l.includes(far)),
    `the summary names what is left where:\n${output}`,
  );
  const left = (await ws.logLines()).find((l) => l.tag === "LEFT");
  assert(left?.text.startsWith(`left on hostb: ${far} (`), JSON.stringify(left));
  assert(left!.text.includes(`docker rm -f ${far}`), left!.text);
  // It is really there: the report is true (the workspace removes it).
  const { hosta, hostb } = await ws.containers();
  assertEquals(hosta, []);
  assertEquals(hostb.map((c) => c.name), [far]);
});
