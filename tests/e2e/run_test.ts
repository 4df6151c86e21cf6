/**
 * End to end: `tm <config>` runs a real test on the two-host testbed (Redis in a container, peers
 * in containers on host A and host B over SSH) — placement by tags, bootstrap, a burst of
 * commands due at the same moment, a restart, shutdown and cleanup; and environment values with
 * hostile characters reach the peer process intact.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { type LogLine, workspace } from "../support/e2e.ts";
import { startRedisServer } from "../support/redis_server.ts";
import { hostDocker } from "../support/testbed.ts";

const PEERS = ["alice", "bob", "carol", "dave"];

/** The `received command: <c>` debug lines of one peer, in log order. */
function received(log: LogLine[], peer: string): string[] {
  return log.filter((l) => l.source === peer && l.text.startsWith("received command: "))
    .map((l) => l.text.slice("received command: ".length));
}

Deno.test("tm runs a 4-peer test across two hosts: tags, bootstrap, FIFO burst, restart, shutdown, cleanup [integration: testbed]", async () => {
  await using ws = await workspace("run");
  const { bed } = ws;
  const image = bed.peerImage;
  const burstBob = Array.from({ length: 12 }, (_, i) => `track|peer-${i}`);
  const burstCarol = Array.from({ length: 12 }, (_, i) => `push|alice|message ${i}`);
  const config = await ws.writeConfig({
    timeout: { startup: 30, shutdown: 10 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    peer_environment: { LOG_LEVEL: "debug" },
    hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
    peers: [
      { name: "alice", image, runs_on: "a", bootstrap: ["carol"] },
      { name: "bob", image, runs_on: "a", bootstrap: ["alice"] },
      { name: "carol", image, runs_on: "b", bootstrap: ["alice"] },
      { name: "dave", image, runs_on: ["b"], bootstrap: ["alice", "carol"] },
    ],
    commands: [
      ...PEERS.map((peer) => ({ time: 0, peer, command: "connect" })),
      // Two bursts due at the same moment, interleaved in the file.
      ...burstBob.flatMap((command, i) => [
        { time: 1, peer: "bob", command },
        { time: 1, peer: "carol", command: burstCarol[i] },
      ]),
      { time: 1.2, peer: "dave", command: "restart|1" },
      { time: 3.5, peer: "alice", command: "pull" },
      { time: 3.5, peer: "dave", command: "pull" },
    ],
  });

  const result = await ws.run([config]);
  const context = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
  assertEquals(result.code, 0, context);
  assert(/^PASSED/m.test(result.stdout), context);

  const log = await ws.logLines();
  const text = await ws.logText();
  // Placement by tags.
  const placed = Object.fromEntries(
    log.filter((l) => l.tag === "PLACED").map((l) => [l.source, l.text.split(" ")[1]]),
  );
  assertEquals(placed, { alice: "hosta", bob: "hosta", carol: "hostb", dave: "hostb" });

  // Every peer's own lines are in the log file, and every peer got its bootstrap first.
  for (const peer of PEERS) {
    assert(
      log.some((l) => l.source === peer && l.text.startsWith(`${peer} starting: vlad-`)),
      peer,
    );
    const commands = received(log, peer);
    assert(commands[0].startsWith("peer|vlad-"), `${peer} got ${commands[0]} first`);
    assertEquals(commands.at(-1), "shutdown", peer);
    assert(
      log.some((l) => l.source === peer && l.tag === "EXIT" && l.text === "exited with code 0"),
      `${peer} exit 0:\n${text}`,
    );
  }

  // The bursts arrive in timeline order (FIFO), each peer on its own host.
  assertEquals(received(log, "bob").filter((c) => c.startsWith("track|")), burstBob);
  assertEquals(received(log, "carol").filter((c) => c.startsWith("push|")), burstCarol);
  assertEquals(
    log.filter((l) => l.source === "bob" && l.text.startsWith("tracking ")).length,
    burstBob.length,
  );

  // Restart: restarting → (exit 42, entrypoint sleeps) → started again → bootstrap re-sent.
  const dave = log.filter((l) => l.source === "dave");
  const restarting = dave.findIndex((l) => l.tag === "STATUS" && l.text.startsWith("restarting"));
  const again = dave.findIndex((l) =>
    l.tag === "STATUS" && /^started .*\(was restarting\)$/.test(l.text)
  );
  assert(restarting >= 0 && again > restarting, `dave restarted:\n${text}`);
  const afterRestart = dave.slice(again);
  assertEquals(
    afterRestart.filter((l) => l.tag === "SENT" && l.text.startsWith("peer|")).length,
    2,
    "both bootstrap peers re-sent after the restart",
  );
  assertEquals(
    afterRestart.filter((l) => l.text.startsWith("adding bootstrap peer: ")).length,
    2,
    "the restarted peer received its bootstrap again",
  );
  assert(afterRestart.some((l) => l.text.startsWith("pulled messages")), "dave works after");
  assert(/^\s*dave\s+hostb\s+stopped\s+1\b/m.test(result.stdout), `summary: 1 restart\n${context}`);

  // Shutdown: every peer sent shutdown and stopped; the run passed.
  for (const peer of PEERS) {
    assert(log.some((l) => l.source === peer && l.tag === "SENT" && l.text === "shutdown"), peer);
    assert(
      log.some((l) => l.source === peer && l.tag === "STATUS" && l.text.startsWith("stopped")),
    );
  }
  assert(log.some((l) => l.tag === "RESULT" && l.text.startsWith("passed (exit 0)")), text);
  // Redis outlives the peers' teardown: tm closes its connections first, then stops Redis.
  const lost = log.filter((l) =>
    l.tag === "TRACE" && /lost the Redis|ECONNREFUSED|did not end/.test(l.text)
  );
  assertEquals(lost, [], "Redis was gone before tm closed its connections");

  // Nothing left: no peer or Redis container on either host, no temp file, no per-peer config
  // dir (mounted at /config; what peers wrote there is in the run record).
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
  assertEquals(await ws.leftoverTempFiles(), []);
  assertEquals(await ws.leftoverConfigDirs(), []);
});

Deno.test("tm passes environment values with hostile characters to the peer process intact [integration: testbed]", async () => {
  await using ws = await workspace("env");
  const { bed } = ws;
  const image = bed.peerImage;
  const hostile: Record<string, string> = {
    E_SPACES: "  two  spaces  ",
    E_QUOTES: `it's "quoted" 'twice'`,
    E_SUBSHELL: "$(touch /tmp/tm-e2e-pwned) ${HOME} $HOME",
    E_BACKTICKS: "`id` and \\` escaped",
    E_SEPARATORS: "a; b | c && d || e > /dev/null &",
    E_NEWLINE: "line one\nline two\n",
    E_UNICODE: "héllo wörld ✓ 日本語 🚀",
    E_EQUALS: "key=value=more",
    E_GLOB: "* ? [a-z] ~ !x #comment",
  };
  const overrides: Record<string, string> = {
    E_QUOTES: `peer's own "override" \\ backslash`,
    E_PEER_ONLY: "tab\there\r\ncrlf",
  };
  const names = [...Object.keys(hostile), "E_PEER_ONLY"];
  const config = await ws.writeConfig({
    timeout: { startup: 30, shutdown: 10 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    peer_environment: { ...hostile, REF_PEER_ECHO_ENV: names.join(",") },
    hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
    peers: [
      { name: "alice", image, runs_on: "a" },
      // The list form (`KEY=VALUE`): the value is everything after the first `=`.
      {
        name: "bob",
        image,
        runs_on: "b",
        environment: Object.entries(overrides).map(([k, v]) => `${k}=${v}`),
      },
    ],
    commands: [{ time: 0, peer: "alice", command: "pull" }],
  });
  try {
    await Deno.remove("/tmp/tm-e2e-pwned");
  } catch {
    // not there: good
  }

  const result = await ws.run([config]);
  assertEquals(result.code, 0, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);

  const log = await ws.logLines();
  const echoed = (peer: string) =>
    Object.fromEntries(
      log.filter((l) => l.source === peer && l.text.startsWith("env ")).map((l) => {
        const at = l.text.indexOf("=");
        return [l.text.slice(4, at), JSON.parse(l.text.slice(at + 1))];
      }),
    );
  assertEquals(echoed("alice"), { ...hostile, E_PEER_ONLY: null });
  assertEquals(echoed("bob"), { ...hostile, ...overrides });
  let pwned = true;
  try {
    await Deno.stat("/tmp/tm-e2e-pwned");
  } catch {
    pwned = false;
  }
  assert(!pwned, "a $() in a value was executed by a shell");
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm --redis-url uses that Redis, starts none, and gives each host's peers an address they can reach [integration: testbed]", async () => {
  await using ws = await workspace("redis-url");
  const { bed } = ws;
  // Listening on every address: host A's containers come through the docker bridge, host B's
  // through the veth.
  await using redis = await startRedisServer({
    extraArgs: ["--bind", "0.0.0.0", "--protected-mode", "no"],
  });
  const config = await ws.writeNearFarConfig([
    { time: 0, peer: "near", command: "connect" },
    { time: 0, peer: "far", command: "connect" },
  ], {
    peer_environment: { REF_PEER_ECHO_ENV: "REDIS_URL" },
  });
  const since = Math.floor(Date.now() / 1000) - 1;
  const result = await ws.run([config, "--redis-url", redis.url]);
  assertEquals(result.code, 0, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  assert(result.stdout.includes(`redis ready at ${redis.url}/0`), result.stdout);
  // The containers this test created on host A (where a Redis container would run): peers only.
  const events = await hostDocker(bed.hostA, [
    "events",
    "--since",
    String(since),
    "--until",
    String(Math.ceil(Date.now() / 1000)),
    "--filter",
    `label=tm.test=${ws.name}`,
    "--filter",
    "event=create",
    "--format",
    '{{index .Actor.Attributes "tm.role"}}',
  ]);
  assertEquals(events.stdout.trim().split("\n"), ["peer"], events.stderr);

  const log = await ws.logLines();
  const url = (peer: string) =>
    log.find((l) => l.source === peer && l.text.startsWith("env REDIS_URL="))?.text.slice(14);
  // Each with the database this run leased (the first free one: 0).
  assertEquals(url("near"), JSON.stringify(`redis://host.docker.internal:${redis.port}/0`));
  assertEquals(
    url("far"),
    JSON.stringify(`redis://${bed.hostB.orchestratorAddress}:${redis.port}/0`),
  );
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});
