/**
 * End to end: isolation between runs on the shared testbed (docs/concurrency.md) — a test whose
 * container names once collided with another's leaves that test's live peers alone; two runs on
 * one `--redis-url` each get a database of their own; a run killed with SIGKILL leaves nothing
 * that blocks its rerun; and `notify-keyspace-events` is given back to an external Redis.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { type LogLine, removeTestContainers, type Workspace, workspace } from "../support/e2e.ts";
import { freePort, startRedisServer } from "../support/redis_server.ts";

/** The `received command: <c>` lines of one peer, in log order. */
function received(log: LogLine[], peer: string): string[] {
  return log.filter((l) => l.source === peer && l.text.startsWith("received command: "))
    .map((l) => l.text.slice("received command: ".length));
}

/** The value a peer echoed for `REF_PEER_ECHO_ENV` variable `name` (JSON-decoded). */
function echoed(log: LogLine[], peer: string, name: string): string | undefined {
  const line = log.find((l) => l.source === peer && l.text.startsWith(`env ${name}=`));
  return line ? JSON.parse(line.text.slice(`env ${name}=`.length)) : undefined;
}

function outputOf(result: { stdout: string; stderr: string }): string {
  return `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

/** A config of peers on host A (alive until the last command, at `until` s). */
function configOn(ws: Workspace, peers: string[], options: {
  name?: string;
  /** Default: the workspace's. */
  redisPort?: number;
  until?: number;
  commands?: { time: number; peer: string; command: string }[];
  environment?: Record<string, string>;
}) {
  const { bed } = ws;
  const image = bed.peerImage;
  return ws.writeConfig({
    ...(options.name ? { name: options.name } : {}),
    timeout: { startup: 30, shutdown: 10 },
    redis: { port: options.redisPort ?? ws.redisPort, image: bed.redisImage },
    images: [image],
    ...(options.environment ? { peer_environment: options.environment } : {}),
    hosts: [ws.host(bed.hostA)],
    peers: peers.map((name) => ({ name, image })),
    commands: [
      ...peers.map((peer) => ({ time: 0, peer, command: "connect" })),
      ...(options.commands ?? []),
      ...(options.until ? [{ time: options.until, peer: peers[0], command: "pull" }] : []),
    ],
  }, `${options.name ?? ws.name}.yaml`);
}

/** CONFIG GET notify-keyspace-events of a local redis-server, through redis-cli. */
async function keyspaceEvents(port: number): Promise<string> {
  const output = await new Deno.Command("redis-cli", {
    args: ["-p", String(port), "--raw", "CONFIG", "GET", "notify-keyspace-events"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(output.stdout).split("\n")[1] ?? "";
}

Deno.test("tm leaves the live peers of a test whose container names once collided with its own [integration: testbed]", async () => {
  await using ws = await workspace("iso-names");
  // `<name>` with peer `a-alice` and `<name>-a` with peer `alice` were both `tm-<name>-a-alice`.
  const other = `${ws.name}-a`;
  try {
    const first = ws.start([await configOn(ws, ["a-alice"], { until: 60 })]);
    await first.waitFor(/── timeline/);
    const second = await ws.run([
      await configOn(ws, ["alice"], { name: other, redisPort: freePort() }),
    ]);
    assertEquals(second.code, 0, outputOf(second));
    assert(!/leftover/.test(second.stdout), outputOf(second));

    // The first run's peer is still up: the second run neither removed nor reused it.
    const { hosta } = await ws.containers();
    const peers = hosta.filter((c) => c.labels["tm.role"] === "peer");
    assertEquals(peers.map((c) => [c.labels["tm.peer"], c.state]), [["a-alice", "running"]]);
    first.kill("SIGINT");
    const result = await first.done;
    assertEquals(result.code, 130, outputOf(result));
    assert(!/exited with code 137|unexpectedly/.test(result.stdout), outputOf(result));
  } finally {
    await removeTestContainers(ws.bed, other);
  }
});

Deno.test("tm refuses a second run of a test on a host where its first run still goes on, and the first run passes [integration: testbed]", async () => {
  await using ws = await workspace("iso-twice");
  const first = ws.start([await configOn(ws, ["alice"], { until: 8 })]);
  await first.waitFor(/── timeline/);
  const firstRun = (await ws.containers()).hosta[0].labels["tm.run"];
  const second = await ws.run([
    await configOn(ws, ["alice"], { redisPort: freePort() }),
  ]);
  assertEquals(second.code, 1, outputOf(second));
  assert(
    new RegExp(
      `hosta: run ${firstRun} of test "${ws.name}" \\(pid ${first.pid} on .*\\) is ` +
        "still running here",
    ).test(second.stdout),
    outputOf(second),
  );
  assert(!/── starting/.test(second.stdout), outputOf(second));
  const result = await first.done;
  assertEquals(result.code, 0, outputOf(result));
});

Deno.test("tm gives two runs on one --redis-url a database each: no cross-talk, a TS peer on db 1 [integration: testbed]", async () => {
  await using one = await workspace("iso-redis-1");
  await using two = await workspace("iso-redis-2");
  await using redis = await startRedisServer({
    extraArgs: ["--bind", "0.0.0.0", "--protected-mode", "no"],
  });
  const marks = (run: string) =>
    Array.from({ length: 10 }, (_, i) => ({
      time: 1 + i * 0.3,
      peer: i % 2 ? "bob" : "alice",
      command: `track|${run}-${i}`,
    }));
  const environment = { REF_PEER_ECHO_ENV: "REDIS_URL", LOG_LEVEL: "debug" };
  const first = one.start([
    await configOn(one, ["alice", "bob"], { commands: marks("one"), until: 6, environment }),
    "--redis-url",
    redis.url,
  ]);
  await first.waitFor(/── starting/);
  const second = two.start([
    await configOn(two, ["alice", "bob"], { commands: marks("two"), until: 6, environment }),
    "--redis-url",
    redis.url,
  ]);
  const results = await Promise.all([first.done, second.done]);
  for (const result of results) assertEquals(result.code, 0, outputOf(result));

  const dbs: string[] = [];
  for (const [ws, run] of [[one, "one"], [two, "two"]] as const) {
    const log = await ws.logLines();
    for (const peer of ["alice", "bob"]) {
      const tracked = received(log, peer).filter((c) => c.startsWith("track|"));
      const expected = marks(run).filter((m) => m.peer === peer).map((m) => m.command);
      assertEquals(tracked, expected, `${run}/${peer}`);
    }
    const url = echoed(log, "alice", "REDIS_URL");
    assert(url !== undefined && /\/\d+$/.test(url), String(url));
    dbs.push(url.slice(url.lastIndexOf("/") + 1));
  }
  // The first run took the first database, the second the next one; both ran TS peers.
  assertEquals(dbs, ["0", "1"]);
});

Deno.test("tm reruns a test after its run was killed with SIGKILL: the dead run's Redis container and peers are removed with a warning [integration: testbed]", async () => {
  await using ws = await workspace("iso-kill9");
  const config = await configOn(ws, ["near"], { until: 60 });
  const crashed = ws.start([config]);
  await crashed.waitFor(/── timeline/);
  crashed.kill("SIGKILL");
  await crashed.done;
  const left = await ws.containers();
  assertEquals(left.hosta.map((c) => c.labels["tm.role"]).sort(), ["peer", "redis"]);

  const rerun = await ws.run([await configOn(ws, ["near"], {})]);
  assertEquals(rerun.code, 0, outputOf(rerun));
  const deadRun = left.hosta[0].labels["tm.run"];
  assert(
    new RegExp(`warning: removing the Redis container .*run ${deadRun}`).test(rerun.stdout),
    outputOf(rerun),
  );
  assert(
    new RegExp(`warning: hosta: removing .*run ${deadRun}`).test(rerun.stdout),
    outputOf(rerun),
  );
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm gives an external Redis back its notify-keyspace-events, once the last of two runs on it is done [integration: testbed]", async () => {
  await using one = await workspace("iso-notify-1");
  await using two = await workspace("iso-notify-2");
  await using redis = await startRedisServer({
    extraArgs: ["--bind", "0.0.0.0", "--protected-mode", "no", "--notify-keyspace-events", "Ex"],
  });
  const original = await keyspaceEvents(redis.port);
  const longer = two.start([
    await configOn(two, ["alice"], { until: 60 }),
    "--redis-url",
    redis.url,
  ]);
  await longer.waitFor(/── timeline/);
  const shorter = await one.run([await configOn(one, ["alice"], {}), "--redis-url", redis.url]);
  assertEquals(shorter.code, 0, outputOf(shorter));
  // The other run still needs keyspace events: the first one out leaves them on.
  assert(/K/.test(await keyspaceEvents(redis.port)), await keyspaceEvents(redis.port));
  longer.kill("SIGINT");
  const result = await longer.done;
  assertEquals(result.code, 130, outputOf(result));
  assertEquals(await keyspaceEvents(redis.port), original);
});
