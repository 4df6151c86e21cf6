import { assert, assertEquals } from "../support/assert.ts";
import { escapeControls, escapeControlsIn } from "../../src/text/terminal_text.ts";

Deno.test("escapeControls() writes C0, DEL, C1 and bidi characters as visible escapes", () => {
  assertEquals(
    escapeControls("a\nb\r\tc\x1b[2J\x07\x00\x7f\x85\x9b\u202e\u2066\u200f"),
    "a\\nb\\r\\tc\\x1b[2J\\x07\\x00\\x7f\\x85\\x9b\\u202e\\u2066\\u200f",
  );
});

Deno.test("escapeControls() leaves printable text, backslashes and other Unicode alone", () => {
  const text = "héllo ✓ 日本語 🚀 a\\nb |/ip4/1.2.3.4 \u00a0";
  assertEquals(escapeControls(text), text);
});

Deno.test("escapeControlsIn() escapes nested strings in a copy and returns clean values as they are", () => {
  const clean = { type: "peer-log", peer: "a", message: "ok", list: ["x"] };
  assert(escapeControlsIn(clean) === clean, "a clean value is returned without copying");
  const dirty = { type: "peer-exited", output: ["fine", "bad\x1b"], nested: { s: "\x07" }, n: 3 };
  assertEquals(escapeControlsIn(dirty), {
    type: "peer-exited",
    output: ["fine", "bad\\x1b"],
    nested: { s: "\\x07" },
    n: 3,
  });
  assertEquals(dirty.output[1], "bad\x1b", "the original is untouched");
});

Deno.test("escapeControls() writes the line and paragraph separators U+2028 and U+2029 as escapes", () => {
  assertEquals(escapeControls("a\u2028b\u2029c"), "a\\u2028b\\u2029c");
});
