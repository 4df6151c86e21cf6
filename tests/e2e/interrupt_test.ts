/**
 * End to end: SIGINT to `tm` while it ships an image, during the timeline, and twice (the second
 * one skips the graceful wait) — exit 130 and nothing left behind: no container or Redis
 * container on either host, no partial image, no process tm started (locally or over SSH), no
 * temp file (tm's TMPDIR, the hosts' home, host B's Docker temp dir).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import {
  awaitGone,
  entries,
  hasImage,
  processesOfRun,
  type ProcessInfo,
  sshClientEnds,
  type TmProcess,
  type Workspace,
  workspace,
} from "../support/e2e.ts";
import { buildFillerImage, removeImages } from "../support/scratch_images.ts";
import { hostDocker } from "../support/testbed.ts";
import { until } from "../support/until.ts";

/** Host B's Docker temp dir (docker load stages there); both hosts log in as root (one home). */
const HOSTB_DOCKER_TMP = "/var/lib/tm-testbed/hostb/docker/tmp";
const HOME = "/root";

/** What exists before a run, to compare with what exists after it. */
function snapshot() {
  return { home: entries(HOME), dockerTmp: entries(HOSTB_DOCKER_TMP) };
}

type Snapshot = ReturnType<typeof snapshot>;

/** Entries of `after` that were not in `before`, per directory. */
function newEntries(before: Snapshot, after: Snapshot): { home: string[]; dockerTmp: string[] } {
  const added = (was: Set<string>, is: Set<string>) => [...is].filter((name) => !was.has(name));
  return {
    home: added(before.home, after.home),
    dockerTmp: added(before.dockerTmp, after.dockerTmp),
  };
}

/** Those of `added` still there after other runs' transient entries had 20 s to go. */
async function stillThere(
  added: { home: string[]; dockerTmp: string[] },
): Promise<{ home: string[]; dockerTmp: string[] }> {
  const present = () => {
    const now = snapshot();
    return {
      home: added.home.filter((name) => now.home.has(name)),
      dockerTmp: added.dockerTmp.filter((name) => now.dockerTmp.has(name)),
    };
  };
  try {
    return await until("other runs' temp entries to go", () => {
      const left = present();
      return Promise.resolve(left.home.length + left.dockerTmp.length === 0 ? left : undefined);
    });
  } catch {
    return present();
  }
}

/**
 * Sends SIGINT once `ready` is printed and the processes tm started satisfy `settled` (default:
 * at once); returns the result and the SSH connection ends tm had open at that moment, with the
 * processes it had started then.
 */
async function interruptWhen(
  ws: Workspace,
  tm: TmProcess,
  ready: RegExp,
  settled: (running: ProcessInfo[]) => boolean = () => true,
) {
  await tm.waitFor(ready);
  const { ends, running } = await until(`tm's processes after ${ready}`, async () => {
    const ends = await sshClientEnds(tm.pid, ws.bed);
    const running = await processesOfRun(ws.tmpDir, ends);
    if (!settled(running)) throw new Error(`running: ${JSON.stringify(running)}`);
    return { ends, running };
  }, 10_000);
  tm.kill("SIGINT");
  const result = await tm.done;
  return { result, ends, running };
}

/**
 * Asserts that a finished run left nothing behind. Other tests run meanwhile and make entries
 * of their own in the shared home and Docker temp dir, which they remove when done: an entry is
 * this run's leftover only if it stays.
 */
async function assertNothingLeft(
  ws: Workspace,
  ends: string[],
  before: ReturnType<typeof snapshot>,
) {
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
  // A process tm started over SSH may take a moment to see its channel closed.
  const left = await processesOfRun(ws.tmpDir, ends);
  const stuck = await awaitGone(left.map((p) => p.pid));
  assertEquals(left.filter((p) => stuck.includes(p.pid)), [], "processes tm started outlived it");
  assertEquals(await ws.leftoverTempFiles(), []);
  const added = newEntries(before, snapshot());
  const staying = await stillThere(added);
  assertEquals(staying, { home: [], dockerTmp: [] }, `new entries in ${HOME}, ${HOSTB_DOCKER_TMP}`);
}

Deno.test("tm on SIGINT while shipping an image exits 130 and leaves no container, partial image, process or temp file [integration: testbed]", async () => {
  await using ws = await workspace("sigint-ship");
  const { bed } = ws;
  // 100 MB of random bytes in a layer only this machine has: host B must receive all of it (a
  // tag of a testbed image would not do: host B holds its layers, and only they would be left out).
  const image = `tm-${ws.name}:ship`;
  await buildFillerImage(image, 100 << 20);
  try {
    const config = await ws.writeConfig({
      timeout: { startup: 30, shutdown: 10 },
      redis: { port: ws.redisPort, image: bed.redisImage },
      images: [image],
      hosts: [ws.host(bed.hostA), ws.host(bed.hostB, { tags: ["b"] })],
      peers: [{ name: "far", image, runs_on: "b" }],
      commands: [{ time: 0, peer: "far", command: "connect" }],
    });
    const before = snapshot();
    const tm = ws.start([config]);
    // Host B's engine stages an archive it is loading (`POST /images/load`) in a directory of
    // its own under its temp dir while the body streams in.
    const importing = () =>
      newEntries(before, snapshot()).dockerTmp.filter((name) => name.startsWith("docker-import-"));
    const { result, ends } = await interruptWhen(
      ws,
      tm,
      /→ hostb: started/,
      () => importing().length > 0,
    );
    const output = `${result.stdout}\n${result.stderr}`;

    // The SIGINT landed mid-transfer: host B's engine was reading the archive (tm streams it
    // from the local layer store, or from the local engine's export when it cannot read that
    // store), through the Engine API: no docker process.
    assertEquals(ends.length, 2, `one SSH connection per host: ${ends}`);

    assertEquals(result.code, 130, output);
    assert(/^INTERRUPTED/m.test(result.stdout), output);
    assert(!result.stdout.includes("→ hostb: done"), output);
    assert(!result.stdout.includes("── starting"), `no peer was started:\n${output}`);
    assert(!(await hasImage(bed.hostB, image)), "no partial image on host B");
    await assertNothingLeft(ws, ends, before);
  } finally {
    await removeImages(image);
    await hostDocker(bed.hostB, ["rmi", image]);
  }
});

Deno.test("tm on SIGINT during the timeline shuts the peers down, exits 130 and leaves nothing behind [integration: testbed]", async () => {
  await using ws = await workspace("sigint-timeline");
  const config = await ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 0, peer: "far", command: "connect" },
    { time: 60, peer: "near", command: "pull" },
  ]);
  const before = snapshot();
  const tm = ws.start([config]);
  const { result, ends, running } = await interruptWhen(ws, tm, /^\[.*\] far\s+< connected/);
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(ends.length, 2, `one SSH connection per host: ${ends}`);
  assert(running.length > 1, "tm's own process and what it started were found");

  assertEquals(result.code, 130, output);
  assert(/^INTERRUPTED/m.test(result.stdout), output);
  // Graceful: both peers were sent shutdown and stopped before the containers were removed.
  for (const peer of ["near", "far"]) {
    assert(new RegExp(`^\\[.*\\] ${peer}\\s+< stopped`, "m").test(result.stdout), output);
    assert(new RegExp(`^\\s+${peer}\\s+host[ab]\\s+stopped\\b`, "m").test(result.stdout), output);
  }
  assert(!result.stdout.includes("near > pull"), "the timeline stopped");
  await assertNothingLeft(ws, ends, before);
});

Deno.test("tm on a second SIGINT stops waiting for peers that ignore shutdown and cleans up at once [integration: testbed]", async () => {
  await using ws = await workspace("sigint-twice");
  const { bed } = ws;
  const image = bed.peerImage;
  const shutdownTimeout = 120;
  const config = await ws.writeConfig({
    timeout: { startup: 30, shutdown: shutdownTimeout },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    peer_environment: { REF_PEER_IGNORE_SHUTDOWN: "1" },
    hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
    peers: [{ name: "near", image, runs_on: "a" }, { name: "far", image, runs_on: "b" }],
    commands: [{ time: 60, peer: "near", command: "pull" }],
  });
  const before = snapshot();
  const tm = ws.start([config]);
  await tm.waitFor(/── timeline/);
  const ends = await sshClientEnds(tm.pid, bed);
  tm.kill("SIGINT");
  await tm.waitFor(/ignoring shutdown/);
  tm.kill("SIGINT");
  const result = await tm.done;
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 130, output);
  assert(/^INTERRUPTED/m.test(result.stdout), output);
  const log = await ws.logLines();
  const finished = log.find((l) => l.tag === "RESULT");
  assert(finished, "the log file has the result");
  assert(finished.text.startsWith("interrupted (exit 130)"), JSON.stringify(finished));
  // The run's own clock: it ended without waiting out the shutdown timeout.
  assert(finished.t < shutdownTimeout / 4, `ended at ${finished.t}s`);
  await assertNothingLeft(ws, ends, before);
});

Deno.test("tm on SIGTERM while containers are being started exits 130 and leaves no container behind [integration: testbed]", async () => {
  await using ws = await workspace("sigterm-start");
  const { bed } = ws;
  const image = bed.peerImage;
  const peers = ["p1", "p2", "p3", "p4", "p5", "p6"];
  const config = await ws.writeConfig({
    timeout: { startup: 30, shutdown: 10 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    hosts: [ws.host(bed.hostA), ws.host(bed.hostB)],
    peers: peers.map((name) => ({ name, image })),
    commands: [{ time: 30, peer: "p1", command: "pull" }],
  });
  const before = snapshot();
  const tm = ws.start([config]);
  await tm.waitFor(/── starting/);
  const ends = await sshClientEnds(tm.pid, bed);
  tm.kill("SIGTERM");
  const result = await tm.done;
  const output = `${result.stdout}\n${result.stderr}`;

  assertEquals(result.code, 130, output);
  assert(/^INTERRUPTED/m.test(result.stdout), output);
  assert(!result.stdout.includes("── timeline"), output);
  await assertNothingLeft(ws, ends, before);
});

Deno.test("tm on SIGINT while a catastrophic log: pattern meets a peer line exits 130 and leaves nothing behind [integration: testbed]", async () => {
  await using ws = await workspace("sigint-regex");
  // `(a+)+$` against n `a`s and a `b` takes a backtracking engine 2^n steps (42 froze it for
  // good): before RE2 the check froze tm's main thread (timeline, signal handlers) until SIGKILL,
  // containers left. A line near the 64 KiB a log line is cut at is the worst case the docs allow.
  const line = `${"a".repeat(60_000)}b`;
  const config = await ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 0.2, peer: "near", command: `push|far|${line}` },
    { time: 1, peer: "near", command: "rotate-key" },
    { time: 60, peer: "near", command: "pull" },
  ], { expect: [{ peer: "near", log: "(a+)+$" }] });
  const before = snapshot();
  const tm = ws.start([config]);
  try {
    // The timeline goes on after the line was judged (it does not match: it ends in `b`).
    await tm.waitFor(/near > rotate-key/);
  } catch (error) {
    tm.kill("SIGKILL"); // frozen on the line: no output, no signal handler runs
    await tm.done;
    throw error;
  }
  const ends = await sshClientEnds(tm.pid, ws.bed);
  tm.kill("SIGINT");
  // A bounded wait for the exit (not a time assertion): a frozen tm is killed and fails the test.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const frozen = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), 60_000);
  });
  const result = await Promise.race([tm.done, frozen]);
  clearTimeout(timer);
  if (!result) {
    tm.kill("SIGKILL");
    await tm.done;
    throw new Error("tm did not exit on SIGINT: its main thread is stuck");
  }
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 130, output);
  assert(/^INTERRUPTED/m.test(result.stdout), output);
  await assertNothingLeft(ws, ends, before);
});
