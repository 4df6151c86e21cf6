/** RE2 patterns: what is accepted, what is refused and how the refusal reads. */
import { assertEquals, assertThrows } from "../support/assert.ts";
import { compileLogPattern, LogPatternError } from "../../src/plan/log_pattern.ts";

Deno.test("compileLogPattern() matches anywhere in the line with RE2 semantics, inline flags included", () => {
  assertEquals(compileLogPattern("push to \\w+: hello").test("info: push to bob: hello!"), true);
  assertEquals(compileLogPattern("(?i)ERROR").test("an error"), true);
  assertEquals(compileLogPattern("^connected$").test("connected to x"), false);
  assertEquals(compileLogPattern("(a+)+$").test(`${"a".repeat(100_000)}b`), false);
});

Deno.test("compileLogPattern() refuses lookaround and backreferences, naming them", () => {
  const reason = (source: string) =>
    assertThrows(() => compileLogPattern(source), LogPatternError).reason;
  assertEquals(reason("(?<!a)b"), "lookbehind is not supported: `(?<!a)b`");
  assertEquals(reason("(?=a)"), "invalid or unsupported Perl syntax: `(?=`");
  assertEquals(reason("(a)\\1"), "invalid escape sequence: `\\1`");
});
