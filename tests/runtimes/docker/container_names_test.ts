import { assert, assertEquals } from "../../support/assert.ts";
import {
  containerName,
  ownerOfLabels,
  peerLabels,
  redisContainerName,
  testSlug,
} from "../../../src/runtimes/docker/container_names.ts";

const OWNER = {
  runId: "r1",
  test: "demo test",
  hostname: "build-7",
  machine: "m-1",
  pid: 42,
  process: "boot/7",
};

Deno.test("containerName() is tm-<test>--<peer> for a plain test name", () => {
  assertEquals(containerName("gossip-demo", "alice"), "tm-gossip-demo--alice");
  assertEquals(containerName("t1", "Peer_2.x"), "tm-t1--Peer_2.x");
});

Deno.test("containerName() keeps test pr-cx with peer a-alice apart from test pr-cx-a with peer alice", () => {
  assert(containerName("pr-cx", "a-alice") !== containerName("pr-cx-a", "alice"));
  assertEquals(containerName("pr-cx", "a-alice"), "tm-pr-cx--a-alice");
  assertEquals(containerName("pr-cx-a", "alice"), "tm-pr-cx-a--alice");
  // A `--` in a test name is slugged away (and hashed), so it cannot fake the separator.
  assert(!testSlug("pr--cx").includes("--"), testSlug("pr--cx"));
  assert(containerName("pr--cx", "a") !== containerName("pr", "cx--a"));
});

Deno.test("testSlug() keeps different test names apart after slugging", () => {
  const a = testSlug("My test");
  const b = testSlug("my-test");
  assertEquals(b, "my-test");
  assert(a.startsWith("my-test-") && a !== b, a);
  assertEquals(testSlug("My test"), a); // stable
  assert(/^[a-z0-9][a-z0-9_.-]*$/.test(testSlug("¡¿ünïcode?! ☃")), testSlug("¡¿ünïcode?! ☃"));
  assert(testSlug("x".repeat(200)).length <= 48);
  assert(!testSlug("trailing-").endsWith("-"), testSlug("trailing-"));
});

Deno.test("redisContainerName() is tm-redis-<test>-<run>, never a peer container's name", () => {
  assertEquals(redisContainerName("demo", "ab12cd34"), "tm-redis-demo-ab12cd34");
  assert(redisContainerName("demo", "ab12cd34") !== containerName("redis-demo", "ab12cd34"));
});

Deno.test("peerLabels() carry run, test, peer and owner; ownerOfLabels() reads the owner back", () => {
  const labels = peerLabels({ ...OWNER, redis: "10.0.0.5:6379/3" }, "alice");
  assertEquals(labels, {
    "tm.run": "r1",
    "tm.test": "demo test",
    "tm.peer": "alice",
    "tm.role": "peer",
    "tm.hostname": "build-7",
    "tm.machine": "m-1",
    "tm.pid": "42",
    "tm.process": "boot/7",
    "tm.redis": "10.0.0.5:6379/3",
  });
  assertEquals(ownerOfLabels(labels), { ...OWNER, redis: "10.0.0.5:6379/3" });
});

Deno.test("ownerOfLabels() of an older tm's container has no machine, so no liveness check matches it", () => {
  assertEquals(ownerOfLabels({ "tm.run": "old", "tm.test": "demo" }), {
    runId: "old",
    test: "demo",
    hostname: "",
    machine: "",
    pid: 0,
    process: "",
  });
  assertEquals(ownerOfLabels({ "tm.test": "demo" }), undefined);
});
