import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { pickBootstrap } from "../../src/plan/random_bootstrap.ts";
import { seededRandom } from "../../src/plan/seed.ts";

const PEERS = Array.from({ length: 50 }, (_, i) => `p-${i + 1}`);

Deno.test("pickBootstrap picks k distinct candidates, never the peer itself, in candidate order", () => {
  const random = seededRandom(99, "bootstrap");
  for (let self = 0; self < PEERS.length; self++) {
    for (const k of [1, 3, 49]) {
      const picked = pickBootstrap(PEERS, self, k, random);
      assertEquals(picked.length, k);
      assertEquals(new Set(picked).size, k);
      assert(!picked.includes(PEERS[self]));
      const positions = picked.map((name) => PEERS.indexOf(name));
      assertEquals(positions, [...positions].sort((a, b) => a - b));
    }
  }
});

Deno.test("pickBootstrap repeats from the same seed and differs for another", () => {
  const draw = (seed: number) => {
    const random = seededRandom(seed, "bootstrap");
    return PEERS.map((_, self) => pickBootstrap(PEERS, self, 3, random));
  };
  assertEquals(draw(7), draw(7));
  assert(JSON.stringify(draw(7)) !== JSON.stringify(draw(8)));
});

Deno.test("pickBootstrap draws from every candidate, not just the first ones", () => {
  const random = seededRandom(1, "bootstrap");
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) pickBootstrap(PEERS, 0, 2, random).forEach((p) => seen.add(p));
  assertEquals(seen.size, PEERS.length - 1);
});

Deno.test("pickBootstrap of a peer that is no candidate may use every candidate; too few throws", () => {
  const random = seededRandom(3, "bootstrap");
  assertEquals(pickBootstrap(["a", "b"], -1, 2, random), ["a", "b"]);
  assertThrows(() => pickBootstrap(["a", "b"], 0, 2, random), RangeError, "out of 1");
});
