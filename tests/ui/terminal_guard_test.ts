import { deepStrictEqual as assertEquals } from "node:assert";
import process from "node:process";
import { INTERRUPT_SIGNALS } from "../../src/engine/interrupt.ts";
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

Deno.test("guardTerminal() holds a process listener for every interrupt signal until released", () => {
  const counts = () => INTERRUPT_SIGNALS.map((s) => process.listenerCount(s));
  const before = counts();
  const guard = guardTerminal({ writeSync: () => {}, cookInput: () => {} });
  // With a listener of ours present, ink's signal-exit does not tear down and re-raise.
  assertEquals(counts(), before.map((n) => n + 1));
  guard.release();
  guard.release();
  assertEquals(counts(), before);
});

Deno.test("guardTerminal() makes a failed write on stdout or stderr non-fatal, even after release", () => {
  const guard = guardTerminal({ writeSync: () => {}, cookInput: () => {} });
  // Node streams throw an `error` event nobody listens to; the terminal closing causes one.
  process.stdout.emit("error", new Error("write EIO"));
  guard.release();
  process.stderr.emit("error", new Error("write EPIPE"));
});
