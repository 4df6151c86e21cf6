/** Tests of the peer client library lib/typescript/mod.ts against a real redis-server. */
import { assertEquals } from "../support/assert.ts";
import { Redis } from "ioredis";
import {
  type Command,
  maskRedisUrl,
  MuleClientBuilder,
  parseCommand,
  parseLogLevel,
} from "../../lib/typescript/mod.ts";
import { startRedisServer } from "../support/redis_server.ts";

const ENV_PEER = new URL("./env_peer.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../../deno.json", import.meta.url).pathname;

/** What tests/lib/env_peer.ts printed. */
interface EnvPeerResult {
  peerName?: string;
  error?: { variable?: string; message: string };
}

/**
 * Runs tests/lib/env_peer.ts with `env` as its whole environment (plus Deno's cache dir): the
 * test process's own environment is shared by the test files running in parallel.
 */
async function envPeer(env: Record<string, string>, args: string[] = []): Promise<EnvPeerResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", DENO_JSON, ENV_PEER, ...args],
    clearEnv: true,
    env: {
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      DENO_NO_UPDATE_CHECK: "1",
      ...env,
    },
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  const stderr = new TextDecoder().decode(output.stderr).trim();
  try {
    return JSON.parse(stdout.split("\n").at(-1) ?? "");
  } catch {
    throw new Error(`env_peer.ts exited ${output.code} without a result:\n${stdout}\n${stderr}`);
  }
}

Deno.test("parseLogLevel() understands Python, Rust and plain spellings", () => {
  assertEquals(parseLogLevel("INFO"), "info");
  assertEquals(parseLogLevel("WARNING"), "warn");
  assertEquals(parseLogLevel("critical"), "error");
  assertEquals(parseLogLevel("trace"), "debug");
  assertEquals(parseLogLevel("info,my_crate=debug"), "info");
  assertEquals(parseLogLevel("loud"), undefined);
});

Deno.test("MuleClientBuilder.build() names the missing variable", async () => {
  const noUrl = await envPeer({});
  assertEquals(noUrl.error?.variable, "REDIS_URL");
  const noName = await envPeer({}, ["--redis-url", "redis://127.0.0.1:1"]);
  assertEquals(noName.error?.variable, "PEER_NAME");
});

Deno.test("parseCommand() maps standard commands to their kinds and the rest to other", () => {
  const cases: [string, Command][] = [
    ["connect", { kind: "connect" }],
    ["disconnect", { kind: "disconnect" }],
    ["shutdown", { kind: "shutdown" }],
    ["restart|5", { kind: "restart", seconds: 5, delay: "5" }],
    ["restart|0.5", { kind: "restart", seconds: 0.5, delay: "0.5" }],
    ["peer|vlad-1|/ip4/1.2.3.4/udp/1/quic-v1", {
      kind: "peer",
      address: "vlad-1|/ip4/1.2.3.4/udp/1/quic-v1",
    }],
    ["restart|abc", { kind: "other", raw: "restart|abc" }],
    ["restart|", { kind: "other", raw: "restart|" }],
    ["restart|-1", { kind: "other", raw: "restart|-1" }],
    ["restart|1e3", { kind: "other", raw: "restart|1e3" }],
    ["peer|", { kind: "other", raw: "peer|" }],
    ["connect|x", { kind: "other", raw: "connect|x" }],
    ["push|bob|hi", { kind: "other", raw: "push|bob|hi" }],
  ];
  for (const [raw, want] of cases) assertEquals(parseCommand(raw), want, raw);
});

Deno.test("maskRedisUrl() hides the password and nothing else", () => {
  assertEquals(maskRedisUrl("redis://:pw@h:6379/2"), "redis://:***@h:6379/2");
  assertEquals(maskRedisUrl("redis://user:p%40w@h:1"), "redis://user:***@h:1");
  assertEquals(maskRedisUrl("redis://user@h:1"), "redis://user@h:1");
  assertEquals(maskRedisUrl("redis://h:6379/0"), "redis://h:6379/0");
});

Deno.test("MuleClientBuilder.build() gives up on an unreachable Redis after MULE_CONNECT_TIMEOUT, password masked", async () => {
  const unreachable = ["--redis-url", "redis://:s3cret@127.0.0.1:1/0", "--peer-name", "a"];
  const { error } = await envPeer({ MULE_CONNECT_TIMEOUT: "0.3" }, unreachable);
  const message = error?.message ?? "";
  assertEquals(
    message.startsWith("cannot reach Redis at redis://:***@127.0.0.1:1/0 after 0.3s: "),
    true,
    message,
  );
  assertEquals(message.includes("s3cret"), false);
  assertEquals(error?.variable, "REDIS_URL");
  const bad = await envPeer({ MULE_CONNECT_TIMEOUT: "soon" }, unreachable);
  assertEquals(bad.error?.variable, "MULE_CONNECT_TIMEOUT");
});

Deno.test("MuleClient honours the database and the ACL user and password of REDIS_URL [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const admin = new Redis(redis.url);
  await admin.acl("SETUSER", "peer", "on", ">pw", "~*", "&*", "+@all");
  const client = await new MuleClientBuilder()
    .redisUrl(`redis://peer:pw@127.0.0.1:${redis.port}/3`).peerName("alice").build();
  try {
    await client.fail("disk full");
    await admin.select(3);
    assertEquals(await admin.get("alice_status"), "failed|disk full");
  } finally {
    await client.close();
    admin.disconnect();
  }
});

Deno.test("MuleClient.close() right after 1,000 log calls loses none [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const orchestrator = new Redis(redis.url);
  const client = await new MuleClientBuilder().redisUrl(redis.url).peerName("carol").build();
  try {
    for (let i = 1; i <= 1_000; i++) client.log.info(`burst ${i}`);
    await client.close();
    const lines = (await orchestrator.lrange("carol_log", 0, -1)).reverse();
    assertEquals(lines, Array.from({ length: 1_000 }, (_, i) => `info|burst ${i + 1}`));
  } finally {
    orchestrator.disconnect();
  }
});

Deno.test("MuleClient reads REDIS_URL, PEER_NAME and LOG_LEVEL from the environment [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const orchestrator = new Redis(redis.url);
  try {
    const result = await envPeer({
      REDIS_URL: redis.url,
      PEER_NAME: "alice",
      LOG_LEVEL: "WARNING",
    });
    assertEquals(result, { peerName: "alice" });
    assertEquals(await orchestrator.get("alice_status"), "stopped");
    // The orchestrator pops from the right: oldest first. WARNING hides debug and info.
    assertEquals(await orchestrator.rpop("alice_log", 10), ["warn|warn line", "error|error line"]);
  } finally {
    orchestrator.disconnect();
  }
});

Deno.test("MuleClient sets status, iterates commands FIFO and forwards logs [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const orchestrator = new Redis(redis.url);
  const client = await new MuleClientBuilder().redisUrl(redis.url).peerName("alice").logLevel(
    "warn",
  )
    .build();
  try {
    assertEquals(client.peerName, "alice");
    await client.sendStatus("started|vlad|/ip4/1.2.3.4/udp/1/quic-v1");
    assertEquals(await orchestrator.get("alice_status"), "started|vlad|/ip4/1.2.3.4/udp/1/quic-v1");

    const burst = Array.from({ length: 20 }, (_, i) => `push|bob|${i}`);
    await orchestrator.rpush("alice_command", ...burst, "shutdown");
    const received: string[] = [];
    for await (const command of client) {
      if (command === "shutdown") break;
      received.push(command);
    }
    assertEquals(received, burst);

    client.log.debug("hidden");
    client.log.info("hidden too");
    client.log.warn("first", 1);
    client.log.error("second|with bar");
    await client.sendStatus("stopped"); // flushes queued lines first
    // The orchestrator pops from the right: oldest first.
    assertEquals(await orchestrator.rpop("alice_log", 10), [
      "warn|first 1",
      "error|second|with bar",
    ]);
  } finally {
    await client.close();
    await client.close(); // idempotent
    orchestrator.disconnect();
  }
});

Deno.test("MuleClient.close() ends a pending command iteration and flushes logs [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const orchestrator = new Redis(redis.url);
  const client = await new MuleClientBuilder().redisUrl(redis.url).peerName("bob").logLevel("debug")
    .build();
  try {
    await orchestrator.rpush("bob_command", "connect");
    assertEquals(await client.nextCommand(), "connect");
    for (let i = 0; i < 100; i++) client.log.debug(`line ${i}`);
    const pending = client.nextCommand(); // blocks in BLPOP: nothing queued
    await client.close();
    assertEquals(await pending, undefined);
    const lines = await orchestrator.lrange("bob_log", 0, -1);
    assertEquals(lines.reverse(), Array.from({ length: 100 }, (_, i) => `debug|line ${i}`));
  } finally {
    await client.close();
    orchestrator.disconnect();
  }
});
