import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import {
  compilePeerPattern,
  isPeerPattern,
  PeerPatternError,
  peerPatternScript,
  selectPeers,
} from "../../src/plan/peer_selector.ts";
import { randomIndex, seededRandom } from "../../src/plan/seed.ts";

const NODES = Array.from({ length: 120 }, (_, i) => `node-${i + 1}`);

Deno.test("selectPeers selects by *, ? and numeric ranges, in the order of the names", () => {
  const names = ["seed-1", "node-2", "node-10", "alice", "node-1"];
  assertEquals(selectPeers("node-*", names), ["node-2", "node-10", "node-1"]);
  assertEquals(selectPeers("*", names), names);
  assertEquals(selectPeers("node-?", names), ["node-2", "node-1"]);
  assertEquals(selectPeers("*-1", names), ["seed-1", "node-1"]);
  assertEquals(selectPeers("alice", names), ["alice"]);
  assertEquals(selectPeers("alic", names), []);
});

Deno.test("selectPeers reads [a-b] as a range of whole numbers, with lists and single numbers", () => {
  assertEquals(selectPeers("node-[1-50]", NODES), NODES.slice(0, 50));
  assertEquals(selectPeers("node-[100-120]", NODES), NODES.slice(99, 120));
  assertEquals(selectPeers("node-[7]", NODES), ["node-7"]);
  assertEquals(selectPeers("node-[1-3,9, 100-101]", NODES), [
    "node-1",
    "node-2",
    "node-3",
    "node-9",
    "node-100",
    "node-101",
  ]);
  // A number as a group names it: no leading zero, so node-07 is not node-7.
  assertEquals(selectPeers("node-[7]", ["node-07", "node-7", "node-70"]), ["node-7"]);
  assertEquals(selectPeers("n[1-3]*", ["n12x", "n4", "n3"]), ["n12x", "n3"]);
});

Deno.test("compilePeerPattern refuses an unclosed [, a stray ], a reversed or non-numeric range", () => {
  for (
    const [pattern, reason] of [
      ["node-[1-5", "[ is not closed by ]"],
      ["node-1]", "] without an opening ["],
      ["node-[9-2]", "[9-2] starts past its end (9 > 2)"],
      ["node-[a-z]", "[a-z] is not a numeric range: write [1-50], [7] or [1-5,9]"],
      ["node-[]", "[] is not a numeric range: write [1-50], [7] or [1-5,9]"],
    ]
  ) {
    const error = assertThrows(() => compilePeerPattern(pattern), PeerPatternError);
    assertEquals(error.reason, reason);
    assertEquals(error.pattern, pattern);
  }
});

Deno.test("isPeerPattern tells selectors from names (peer names never hold * ? [)", () => {
  assert(isPeerPattern("node-*") && isPeerPattern("n?") && isPeerPattern("n[1-2]"));
  assert(!isPeerPattern("node-1") && !isPeerPattern("a.b_c"));
});

Deno.test("compilePeerPattern stays polynomial: many stars against a long name that fails", () => {
  const name = "a".repeat(63);
  assertEquals(compilePeerPattern(`${"*a".repeat(40)}b`)(name), false);
  assertEquals(compilePeerPattern(`${"*[1-9]".repeat(20)}*`)("1".repeat(63)), true);
});

/** The reference: the pattern as a JavaScript regex, each range spelled out as its numbers. */
function reference(pattern: string): RegExp {
  const source = pattern.replace(/\[([^\]]*)\]|\*|\?|[^*?[]+/g, (part, inside?: string) => {
    if (part === "*") return ".*";
    if (part === "?") return ".";
    if (inside === undefined) return part.replace(/[.\\-]/g, "\\$&");
    const numbers = inside.split(",").flatMap((item) => {
      const [from, to = from] = item.split("-").map(Number);
      return Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
    });
    return `(?:${numbers.join("|")})`;
  });
  return new RegExp(`^${source}$`);
}

Deno.test("compilePeerPattern agrees with a regex reference on random names and patterns", () => {
  const seed = 20261206;
  const random = seededRandom(seed, "selector-test");
  const pick = <T>(items: readonly T[]) => items[randomIndex(random, items.length)];
  const word = (parts: readonly string[], max: number) =>
    Array.from({ length: randomIndex(random, max) + 1 }, () => pick(parts)).join("");
  for (let round = 0; round < 3_000; round++) {
    const name = word(["a", "b", "-", "0", "1", "2", "12", "7"], 8);
    const pattern = word(["a", "b", "-", "1", "*", "?", "[0-12]", "[2]", "[1-3,7]"], 6);
    assertEquals(
      compilePeerPattern(pattern)(name),
      reference(pattern).test(name),
      `seed ${seed}, round ${round}: ${pattern} against ${name}`,
    );
  }
});

Deno.test("peerPatternScript() run as a page's script selects exactly as selectPeers and fails as it does", () => {
  // As report.html runs it: plain script text, evaluated apart from this module.
  const script = new Function(
    `${peerPatternScript()}\nreturn { compilePeerPattern, isPeerPattern };`,
  );
  const page = script() as {
    compilePeerPattern(pattern: string): (name: string) => boolean;
    isPeerPattern(text: string): boolean;
  };
  const names = Array.from({ length: 120 }, (_, i) => `node-${i + 1}`).concat([
    "seed-1",
    "node-07",
  ]);
  for (
    const pattern of ["node-*", "node-[1-50]", "node-[5,100-120]", "*-1?", "seed-1", "node-07"]
  ) {
    assertEquals(
      names.filter(page.compilePeerPattern(pattern)),
      selectPeers(pattern, names),
      pattern,
    );
  }
  assertEquals(page.isPeerPattern("node-1"), false);
  assertThrows(() => page.compilePeerPattern("node-["), Error, "[ is not closed by ]");
});
