import { assert, assertEquals } from "../support/assert.ts";
import {
  containerName,
  peerLabels,
  redisContainerName,
  testSlug,
} from "../../src/hosts/container_names.ts";

Deno.test("containerName() is tm-<test>-<peer> for a plain test name", () => {
  assertEquals(containerName("gossip-demo", "alice"), "tm-gossip-demo-alice");
  assertEquals(containerName("t1", "Peer_2.x"), "tm-t1-Peer_2.x");
});

Deno.test("testSlug() keeps different test names apart after slugging", () => {
  const a = testSlug("My test");
  const b = testSlug("my-test");
  assertEquals(b, "my-test");
  assert(a.startsWith("my-test-") && a !== b, a);
  assertEquals(testSlug("My test"), a); // stable
  assert(/^[a-z0-9][a-z0-9_.-]*$/.test(testSlug("¡¿ünïcode?! ☃")), testSlug("¡¿ünïcode?! ☃"));
  assert(testSlug("x".repeat(200)).length <= 48);
});

Deno.test("redisContainerName() and peerLabels() carry run and test", () => {
  assertEquals(redisContainerName("demo", "ab12cd34"), "tm-redis-demo-ab12cd34");
  assertEquals(peerLabels("r1", "demo test", "alice"), {
    "tm.run": "r1",
    "tm.test": "demo test",
    "tm.peer": "alice",
    "tm.role": "peer",
  });
});
