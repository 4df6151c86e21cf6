import { assertEquals } from "../../support/assert.ts";
import {
  isLoopback,
  peerRedisUrl,
  splitHostPort,
} from "../../../src/runtimes/docker/redis_address.ts";

const gateway = (url: string) => ({ url, needsHostGateway: true });
const direct = (url: string) => ({ url, needsHostGateway: false });

Deno.test("peerRedisUrl() sends peers on this machine through host.docker.internal", () => {
  assertEquals(
    peerRedisUrl("redis://127.0.0.1:6399", { orchestratorAddress: null }),
    gateway("redis://host.docker.internal:6399"),
  );
  // Over SSH to localhost the host sees us at 127.0.0.1: still this machine.
  assertEquals(
    peerRedisUrl("redis://127.0.0.1:6399", { orchestratorAddress: "127.0.0.1" }),
    gateway("redis://host.docker.internal:6399"),
  );
  assertEquals(
    peerRedisUrl("redis://localhost:6399", { orchestratorAddress: "::1" }),
    gateway("redis://host.docker.internal:6399"),
  );
});

Deno.test("peerRedisUrl() uses the address a remote host sees the orchestrator at", () => {
  assertEquals(
    peerRedisUrl("redis://127.0.0.1:6399", { orchestratorAddress: "10.231.7.1" }),
    direct("redis://10.231.7.1:6399"),
  );
  assertEquals(
    peerRedisUrl("redis://[::1]:6399", { orchestratorAddress: "fd00::1" }),
    direct("redis://[fd00::1]:6399"),
  );
});

Deno.test("peerRedisUrl() keeps user, password, database, query and rediss://", () => {
  assertEquals(
    peerRedisUrl("rediss://user:p%40ss@127.0.0.1:6380/3?timeout=5", {
      orchestratorAddress: "192.168.1.2",
    }),
    direct("rediss://user:p%40ss@192.168.1.2:6380/3?timeout=5"),
  );
  assertEquals(
    peerRedisUrl("redis://:secret@localhost/2", { orchestratorAddress: null }),
    gateway("redis://:secret@host.docker.internal/2"),
  );
});

Deno.test("peerRedisUrl() keeps a --redis-url whose host is not loopback", () => {
  for (const seen of [null, "10.0.0.1"]) {
    assertEquals(
      peerRedisUrl("redis://redis.lab.example:6379/0", { orchestratorAddress: seen }),
      direct("redis://redis.lab.example:6379/0"),
    );
  }
});

Deno.test("peerRedisUrl() lets redis.advertise override host, and port when given", () => {
  assertEquals(
    peerRedisUrl("redis://127.0.0.1:6399", { orchestratorAddress: "10.0.0.1", advertise: "r.lan" }),
    direct("redis://r.lan:6399"),
  );
  assertEquals(
    peerRedisUrl("redis://u:p@127.0.0.1:6399/1", {
      orchestratorAddress: null,
      advertise: "203.0.113.5:7000",
    }),
    direct("redis://u:p@203.0.113.5:7000/1"),
  );
  assertEquals(
    peerRedisUrl("redis://127.0.0.1:6399", { orchestratorAddress: null, advertise: "[fd00::2]:7" }),
    direct("redis://[fd00::2]:7"),
  );
  assertEquals(
    peerRedisUrl("redis://127.0.0.1:6399", {
      orchestratorAddress: "10.0.0.1",
      advertise: "host.docker.internal",
    }),
    gateway("redis://host.docker.internal:6399"),
  );
});

Deno.test("isLoopback() recognises loopback names and addresses only", () => {
  for (
    const host of [
      "localhost",
      "LOCALHOST.",
      "a.localhost",
      "127.0.0.1",
      "127.1.2.3",
      "::1",
      "[::1]",
      "0.0.0.0",
      "::ffff:127.0.0.1",
    ]
  ) {
    assertEquals(isLoopback(host), true, host);
  }
  for (
    const host of ["10.0.0.1", "128.0.0.1", "localhost.example", "fd00::1", "host.docker.internal"]
  ) {
    assertEquals(isLoopback(host), false, host);
  }
});

Deno.test("splitHostPort() reads host, host:port and bracketed IPv6", () => {
  assertEquals(splitHostPort("r.lan"), { host: "r.lan" });
  assertEquals(splitHostPort("r.lan:7000"), { host: "r.lan", port: "7000" });
  assertEquals(splitHostPort("fd00::1"), { host: "fd00::1" });
  assertEquals(splitHostPort("[fd00::1]:7000"), { host: "fd00::1", port: "7000" });
  assertEquals(splitHostPort("[fd00::1]"), { host: "fd00::1", port: undefined });
});
