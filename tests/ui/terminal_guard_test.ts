import { deepStrictEqual as assertEquals } from "node:assert";
import process from "node:process";
import { guardTerminal } from "../../src/ui/terminal_guard.ts";

Deno.test("guardTerminal() restores once: alternate screen off, cursor on, raw mode off", () => {
  const written: string[] = [];
  let cooked = 0;
  const guard = guardTerminal({
    alternateScreen: true,
    writeSync: (text) => written.push(text),
    cookInput: () => cooked++,
  });
  try {
    guard.restore();
    guard.restore();
    assertEquals(written, ["\x1b[?1049l\x1b[?25h"]);
    assertEquals(cooked, 1);
  } finally {
    guard.release();
  }
});

Deno.test("guardTerminal() holds a process listener for SIGINT and SIGTERM until released", () => {
  const before = ["SIGINT", "SIGTERM"].map((s) => process.listenerCount(s));
  const guard = guardTerminal({ writeSync: () => {}, cookInput: () => {} });
  // With a listener of ours present, ink's signal-exit does not tear down and re-raise.
  assertEquals(
    ["SIGINT", "SIGTERM"].map((s) => process.listenerCount(s)),
    before.map((n) => n + 1),
  );
  guard.release();
  guard.release();
  assertEquals(["SIGINT", "SIGTERM"].map((s) => process.listenerCount(s)), before);
});
