/**
 * End to end: hostile data stays inert on the two-host testbed. A Redis password given in
 * `--redis-url` reaches the peers but never the console or the log file; a peer's log line,
 * status and crash output reach the console, the --verbose trace and the log file escaped.
 */
import { ok as assert } from "node:assert";
import { deepStrictEqual as assertEquals } from "node:assert";
import { nextBasePort, workspace } from "../support/e2e.ts";
import { startRedisServer } from "../support/redis_server.ts";
import {
  HOSTILE_ADDRESS,
  HOSTILE_LOG,
  HOSTILE_STATUS,
  RAW_CONTROL,
  SHOWN,
} from "../support/hostile_events.ts";
import { Redis } from "ioredis";
import { createSocket } from "node:dgram";

const PASSWORD = "s3cret-e2e";

Deno.test("tm --redis-url with a password gives it to the peers and masks it on the console, on stderr and in the log file [integration: testbed]", async () => {
  await using ws = await workspace("redis-password");
  const { bed } = ws;
  const image = bed.peerImage;
  await using redis = await startRedisServer({
    extraArgs: ["--bind", "0.0.0.0", "--protected-mode", "no", "--requirepass", PASSWORD],
  });
  const config = await ws.writeConfig({
    timeout: { startup: 30, shutdown: 10 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
    peers: [{ name: "near", image, runs_on: "a" }, { name: "far", image, runs_on: "b" }],
    commands: [{ time: 0, peer: "near", command: "connect" }],
  });
  const url = `redis://default:${PASSWORD}@127.0.0.1:${redis.port}`;
  const result = await ws.run([config, "--redis-url", url, "--verbose"]);
  const output = `${result.stdout}\n${result.stderr}`;
  // Both peers reported statuses through Redis: they authenticated with the real password.
  assertEquals(result.code, 0, output);
  assert(
    result.stdout.includes(`redis ready at redis://default:***@127.0.0.1:${redis.port}`),
    output,
  );
  assert(!output.includes(PASSWORD), `the password was printed:\n${output}`);
  const log = await ws.logText();
  assert(log.includes(`ready at redis://default:***@127.0.0.1:${redis.port}`), log);
  assert(!log.includes(PASSWORD), `the password is in the log file:\n${log}`);
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

Deno.test("tm shows a real peer's hostile log line, status and crash output escaped on the console, the --verbose trace and in the log file [integration: testbed]", async () => {
  await using ws = await workspace("hostile-text");
  const { bed } = ws;
  const image = bed.peerImage;
  const config = await ws.writeConfig({
    timeout: { startup: 60, shutdown: 30 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    hosts: [ws.host(bed.hostA, { tags: ["a"] }), ws.host(bed.hostB, { tags: ["b"] })],
    peers: [{ name: "near", image, runs_on: "a" }, { name: "far", image, runs_on: "b" }],
    commands: [
      // The reference peer logs an unknown command as `warn|unknown command: <it>` and echoes
      // the line on its stderr (its container's output): the peer itself sends the hostile text.
      { time: 0, peer: "far", command: HOSTILE_LOG },
      { time: 300, peer: "near", command: "pull" },
    ],
  });
  const tm = ws.start([config, "--verbose"]);
  let redis: Redis | undefined;
  try {
    await tm.waitFor(new RegExp(`far +warn +unknown command: ${literal(SHOWN.log)}$`), 120_000);
    // A peer sets its own status; this one is set from outside, as a hostile peer would.
    redis = new Redis({ host: "127.0.0.1", port: ws.redisPort, lazyConnect: true });
    await redis.connect();
    await redis.set("near_status", `started|${HOSTILE_ADDRESS}`);
    await tm.waitFor(/near +< started junk\|\\x1b\[31mRED\\x07$/);
    await redis.set("far_status", HOSTILE_STATUS);
    await tm.waitFor(/far +< \\x1b\]0;owned\\x07$/);
    // Crash far: its last output (docker logs) holds the line it echoed.
    await redis.rpush("far_command", "exit|3");
  } finally {
    redis?.disconnect();
  }
  const result = await tm.done;
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 1, output);
  assertNoRawControl(result.stdout, "stdout");
  assertNoRawControl(result.stderr, "stderr (the --verbose trace)");
  const lines = result.stdout.split("\n");
  // The peer echoed the line on stderr: its first line, then the rest (U+2028 is no newline).
  const tail = literal(SHOWN.log.slice(SHOWN.log.indexOf("line2")));
  assert(lines.some((l) => new RegExp(`far +│ .*${tail}$`).test(l)), `crash output:\n${output}`);
  // The crash's last output (in the error line) and the summary row quote the peer.
  assert(
    lines.some((l) => new RegExp(`far +error: .*last output: ${tail}$`).test(l)),
    `crash error:\n${output}`,
  );
  assert(
    lines.some((l) => /^ +far +hostb +\\x1b\]0;owned\\x07, exited 3 /.test(l)),
    `summary row:\n${output}`,
  );
  assert(!lines.some((l) => l.startsWith("line2")), "a peer's line forged a line of its own");
  const log = await ws.logText();
  assertNoRawControl(log, "the log file");
  assert(new RegExp(` far +warn +unknown command: ${literal(SHOWN.log)}\n`).test(log), log);
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});

/** `text` as a regular expression's source that matches it literally. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function assertNoRawControl(text: string, where: string) {
  const found = RAW_CONTROL.exec(text);
  assert(!found, `${where} has U+${found?.[0].codePointAt(0)?.toString(16)} raw:\n${text}`);
}

Deno.test("tm shows Docker's whole message, cause included, when a peer's port is taken [integration: testbed]", async () => {
  await using ws = await workspace("port-taken");
  const { bed } = ws;
  const image = bed.peerImage;
  const basePort = nextBasePort();
  // Host A is this machine: hold the peer's UDP port so that docker cannot publish it.
  const taken = createSocket("udp4");
  await new Promise<void>((resolve) => taken.bind(basePort, "0.0.0.0", resolve));
  await using _release = {
    [Symbol.asyncDispose]: () => new Promise<void>((r) => taken.close(() => r())),
  };
  const config = await ws.writeConfig({
    timeout: { startup: 30, shutdown: 10 },
    redis: { port: ws.redisPort, image: bed.redisImage },
    images: [image],
    hosts: [ws.host(bed.hostA, { basePort })],
    peers: [{ name: "solo", image }],
    commands: [{ time: 0, peer: "solo", command: "connect" }],
  });
  const result = await ws.run([config]);
  const output = `${result.stdout}\n${result.stderr}`;
  assertEquals(result.code, 1, output);
  const log = await ws.logText();
  assert(/address already in use/.test(log), log);
  const verdict = result.stdout.split("\n").find((line) => line.startsWith("FAILED"));
  // The Engine API's answer, cause included, and no command line: tm assembles none any more.
  assert(verdict?.includes("bind: address already in use"), `the verdict:\n${output}`);
  assert(!verdict!.includes("(command: docker"), `the verdict:\n${output}`);
  assert(!verdict!.includes("docker run --help"), `docker's footer is noise:\n${verdict}`);
  assertEquals(await ws.containers(), { hosta: [], hostb: [] });
});
