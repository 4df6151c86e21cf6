import { assert, assertEquals } from "../support/assert.ts";
import { randomIndex, resolveSeed, seededRandom } from "../../src/plan/seed.ts";

Deno.test("seededRandom gives the same sequence for the same seed and label", () => {
  const a = seededRandom(8812, "chaos");
  const b = seededRandom(8812, "chaos");
  const draws = (r: () => number) => Array.from({ length: 20 }, r);
  assertEquals(draws(a), draws(b));
});

Deno.test("seededRandom gives unrelated sequences for other seeds or labels", () => {
  const first = (seed: number, label: string) => seededRandom(seed, label)();
  assert(first(1, "") !== first(2, ""));
  assert(first(1, "chaos") !== first(1, "bootstrap"));
});

Deno.test("seededRandom stays in [0, 1) and randomIndex in [0, bound)", () => {
  const random = seededRandom(0);
  for (let i = 0; i < 10_000; i++) {
    const value = random();
    assert(value >= 0 && value < 1);
    const index = randomIndex(random, 7);
    assert(Number.isInteger(index) && index >= 0 && index < 7);
  }
});

Deno.test("resolveSeed keeps a configured seed and draws a 32-bit one otherwise", () => {
  assertEquals(resolveSeed(42), 42);
  const drawn = resolveSeed(undefined);
  assert(Number.isInteger(drawn) && drawn >= 0 && drawn <= 0xffff_ffff);
});
