/** The reference peer as a real subprocess against a real redis-server, and its entrypoint.sh. */
import { assert, assertEquals } from "../support/assert.ts";
import dgram from "node:dgram";
import { Redis } from "ioredis";
import { listenPort, vladFor } from "../../lib/typescript/reference_peer.ts";
import { type LocalRedis, startRedisServer } from "../support/redis_server.ts";

const LIB = new URL("../../lib/typescript/", import.meta.url).pathname;
const ENTRYPOINT = new URL("../../lib/entrypoint.sh", import.meta.url).pathname;

/** Waits for `<peer>_status` to equal `want` (keyspace notification, then GET: no polling). */
async function waitStatus(redis: LocalRedis, peer: string, want: string): Promise<void> {
  const sub = new Redis(redis.url);
  const get = new Redis(redis.url);
  try {
    await get.config("SET", "notify-keyspace-events", "K$");
    const changed = new EventTarget();
    sub.on("message", () => changed.dispatchEvent(new Event("x")));
    await sub.subscribe(`__keyspace@0__:${peer}_status`);
    for (;;) {
      const next = new Promise((r) => changed.addEventListener("x", r, { once: true }));
      if (await get.get(`${peer}_status`) === want) return;
      await next;
    }
  } finally {
    sub.disconnect();
    get.disconnect();
  }
}

interface Peer {
  child: Deno.ChildProcess;
  output: Promise<string>;
}

function spawnPeer(
  redis: LocalRedis,
  name: string,
  env: Record<string, string> = {},
  viaEntrypoint = false,
): Peer {
  const peerArgs = ["run", "-A", `${LIB}reference_peer.ts`];
  const child = new Deno.Command(viaEntrypoint ? "busybox" : Deno.execPath(), {
    args: viaEntrypoint ? ["sh", ENTRYPOINT, Deno.execPath(), ...peerArgs] : peerArgs,
    env: {
      REDIS_URL: redis.url,
      PEER_NAME: name,
      LISTEN_ADDR: "/ip4/0.0.0.0/udp/11984/quic-v1",
      ADVERTISE_IP: "10.1.2.3",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]).then(([out, err]) => out + err);
  return { child, output };
}

/** Stops a peer still running: SIGTERM (entrypoint.sh forwards it), SIGKILL after 2 s. */
async function stopPeer(peer: Peer): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    peer.child.kill("SIGTERM");
    timer = setTimeout(() => {
      try {
        peer.child.kill("SIGKILL");
      } catch { /* exited meanwhile */ }
    }, 2_000);
  } catch { /* already exited */ }
  await peer.child.status;
  clearTimeout(timer);
  await peer.output;
}

Deno.test("listenPort() reads the UDP port of LISTEN_ADDR", () => {
  assertEquals(listenPort("/ip4/0.0.0.0/udp/11984/quic-v1"), 11984);
  assertEquals(listenPort("/ip4/0.0.0.0/tcp/1"), undefined);
  assertEquals(listenPort(undefined), undefined);
});

Deno.test("reference peer reports started|vlad|multiaddr, connects and shuts down [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const r = new Redis(redis.url);
  const peer = spawnPeer(redis, "alice");
  try {
    const vlad = await vladFor("alice");
    await waitStatus(redis, "alice", `started|${vlad}|/ip4/10.1.2.3/udp/11984/quic-v1`);
    await r.rpush("alice_command", "peer|vlad-b|/ip4/10.0.0.2/udp/1/quic-v1", "connect");
    await waitStatus(redis, "alice", "connected");
    await r.rpush("alice_command", "disconnect");
    await waitStatus(redis, "alice", "disconnected");
    await r.rpush("alice_command", "bogus", "shutdown");
    const status = await peer.child.status;
    assertEquals(status.code, 0);
    assertEquals(await r.get("alice_status"), "stopped");
    const logs = (await r.lrange("alice_log", 0, -1)).reverse();
    assert(logs.includes("info|adding bootstrap peer: vlad-b at /ip4/10.0.0.2/udp/1/quic-v1"));
    assert(logs.includes("warn|unknown command: bogus"), logs.join("\n"));
    assertEquals(logs.at(-1), "info|shutting down");
  } finally {
    await stopPeer(peer);
    r.disconnect();
  }
});

Deno.test("reference peer exits 42 on restart and writes the delay file [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const r = new Redis(redis.url);
  const dir = await Deno.makeTempDir({ prefix: "tm-refpeer-" });
  const peer = spawnPeer(redis, "bob", { TM_DELAY_FILE: `${dir}/delay` });
  try {
    await r.rpush("bob_command", "restart|3");
    assertEquals((await peer.child.status).code, 42);
    assertEquals(await r.get("bob_status"), "restarting");
    assertEquals(await Deno.readTextFile(`${dir}/delay`), "3");
    assertEquals(
      await r.lindex("bob_log", 0),
      `info|restarting in 3s (delay written to ${dir}/delay)`,
    );
  } finally {
    await stopPeer(peer);
    r.disconnect();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reference peer exit|3 exits at once with code 3 [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const r = new Redis(redis.url);
  const peer = spawnPeer(redis, "carol", { REF_PEER_NEVER_START: "1" });
  try {
    await r.rpush("carol_command", "exit|3");
    assertEquals((await peer.child.status).code, 3);
    assertEquals(await r.get("carol_status"), null);
  } finally {
    await stopPeer(peer);
    r.disconnect();
  }
});

Deno.test("reference peer on SIGTERM reports stopped and exits 0, even ignoring shutdown [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const r = new Redis(redis.url);
  const peer = spawnPeer(redis, "dave", { REF_PEER_IGNORE_SHUTDOWN: "1" });
  try {
    await waitStatus(
      redis,
      "dave",
      `started|${await vladFor("dave")}|/ip4/10.1.2.3/udp/11984/quic-v1`,
    );
    await r.rpush("dave_command", "shutdown");
    // Wait (BRPOP, oldest first) until the peer said it ignores the shutdown, then SIGTERM it.
    for (;;) {
      const [, line] = (await r.brpop("dave_log", 0))!;
      if (line === "warn|ignoring shutdown (REF_PEER_IGNORE_SHUTDOWN is set)") break;
    }
    peer.child.kill("SIGTERM");
    assertEquals((await peer.child.status).code, 0);
    assertEquals(await r.get("dave_status"), "stopped");
    assertEquals(await r.lindex("dave_log", 0), "info|received SIGTERM, stopping");
  } finally {
    await stopPeer(peer);
    r.disconnect();
  }
});

Deno.test("entrypoint.sh restarts the peer after exit 42 and propagates other exit codes [integration: redis-server, busybox sh]", async () => {
  await using redis = await startRedisServer();
  const r = new Redis(redis.url);
  const dir = await Deno.makeTempDir({ prefix: "tm-entrypoint-" });
  const peer = spawnPeer(redis, "erin", { TM_DELAY_FILE: `${dir}/delay` }, true);
  try {
    const started = `started|${await vladFor("erin")}|/ip4/10.1.2.3/udp/11984/quic-v1`;
    await waitStatus(redis, "erin", started);
    await r.rpush("erin_command", "restart|0");
    await waitStatus(redis, "erin", "restarting");
    await waitStatus(redis, "erin", started); // run again by the entrypoint
    await r.rpush("erin_command", "exit|7");
    assertEquals((await peer.child.status).code, 7);
    assert((await peer.output).includes("entrypoint: restarting in 0s"));
  } finally {
    await stopPeer(peer);
    r.disconnect();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("entrypoint.sh forwards SIGTERM to the peer and exits with its code 0 [integration: redis-server, busybox sh]", async () => {
  await using redis = await startRedisServer();
  const r = new Redis(redis.url);
  const dir = await Deno.makeTempDir({ prefix: "tm-entrypoint-" });
  const peer = spawnPeer(redis, "frank", { TM_DELAY_FILE: `${dir}/delay` }, true);
  try {
    await waitStatus(
      redis,
      "frank",
      `started|${await vladFor("frank")}|/ip4/10.1.2.3/udp/11984/quic-v1`,
    );
    peer.child.kill("SIGTERM");
    assertEquals((await peer.child.status).code, 0);
    assert((await peer.output).includes("info|received SIGTERM, stopping"));
    assertEquals(await r.get("frank_status"), "stopped");
  } finally {
    await stopPeer(peer);
    r.disconnect();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reference peer probe|<ip>:<port>|<n> logs one rtt line per round trip to another peer's UDP echo, timeout when none answers [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const r = new Redis(redis.url);
  const [portA, portB, silent] = await Promise.all([freeUdpPort(), freeUdpPort(), freeUdpPort()]);
  const listen = (port: number) => ({
    LISTEN_ADDR: `/ip4/0.0.0.0/udp/${port}/quic-v1`,
    REF_PEER_UDP_ECHO: "1",
  });
  const alice = spawnPeer(redis, "alice", listen(portA));
  const bob = spawnPeer(redis, "bob", listen(portB));
  try {
    await waitStatus(
      redis,
      "bob",
      `started|${await vladFor("bob")}|/ip4/10.1.2.3/udp/${portB}/quic-v1`,
    );
    await waitStatus(
      redis,
      "alice",
      `started|${await vladFor("alice")}|/ip4/10.1.2.3/udp/${portA}/quic-v1`,
    );
    await r.rpush("alice_command", `probe|127.0.0.1:${portB}|2`, `probe|127.0.0.1:${silent}|1`);
    const lines: string[] = [];
    while (lines.length < 3) {
      const [, line] = (await r.brpop("alice_log", 10))!;
      if (line.startsWith("info|rtt ")) lines.push(line);
    }
    const answered = lines.filter((line) => line.startsWith(`info|rtt 127.0.0.1:${portB} `));
    assertEquals(answered.length, 2, lines.join("\n"));
    for (const line of answered) assert(/ \d+\.\d$/.test(line), line);
    assert(lines.includes(`info|rtt 127.0.0.1:${silent} timeout`), lines.join("\n"));
  } finally {
    await Promise.all([stopPeer(alice), stopPeer(bob)]);
    r.disconnect();
  }
});

/** A UDP port free on every interface now. */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "0.0.0.0", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

Deno.test("reference peer logs no rtt line for a probe that shutdown cut short [integration: redis-server]", async () => {
  await using redis = await startRedisServer();
  const r = new Redis(redis.url);
  const [port, silent] = await Promise.all([freeUdpPort(), freeUdpPort()]);
  const peer = spawnPeer(redis, "alice", {
    LISTEN_ADDR: `/ip4/0.0.0.0/udp/${port}/quic-v1`,
    REF_PEER_UDP_ECHO: "1",
  });
  try {
    await waitStatus(
      redis,
      "alice",
      `started|${await vladFor("alice")}|/ip4/10.1.2.3/udp/${port}/quic-v1`,
    );
    // The probe waits up to 1 s for a pong that never comes; shutdown arrives first.
    await r.rpush("alice_command", `probe|127.0.0.1:${silent}|5`, "shutdown");
    assertEquals((await peer.child.status).code, 0);
    const logs = await r.lrange("alice_log", 0, -1);
    assertEquals(logs.filter((line) => line.includes("rtt ")), [], logs.join("\n"));
    assertEquals(logs[0], "info|shutting down");
  } finally {
    await stopPeer(peer);
    r.disconnect();
  }
});

Deno.test("entrypoint.sh writes its exit code to TM_EXIT_FILE just before it exits, after removing a stale one at start [integration: busybox sh]", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-entrypoint-" });
  const exitFile = `${dir}/exit-code`;
  try {
    // A code left by an earlier run of the container: gone before the peer runs.
    await Deno.writeTextFile(exitFile, "9\n");
    const exited = await new Deno.Command("busybox", {
      args: ["sh", ENTRYPOINT, "busybox", "sh", "-c", '[ ! -e "$TM_EXIT_FILE" ] && exit 7'],
      env: { TM_EXIT_FILE: exitFile },
    }).output();
    assertEquals(exited.code, 7);
    assertEquals(await Deno.readTextFile(exitFile), "7\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
