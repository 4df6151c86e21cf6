import { deepStrictEqual as assertEquals } from "node:assert";
import { OutputLineSplitter } from "../../../src/runtimes/docker/output_lines.ts";
import type { OutputLine } from "../../../src/engine/runtime.ts";

/** One multiplexed frame: stream 1 (stdout) or 2 (stderr), then the payload. */
function frame(stream: 1 | 2, text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

/** Every line, the bytes pushed `size` at a time. */
function split(bytes: Uint8Array, size: number): OutputLine[] {
  const splitter = new OutputLineSplitter();
  const lines: OutputLine[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    lines.push(...splitter.push(bytes.slice(at, at + size)));
  }
  return [...lines, ...splitter.end()];
}

const T1 = "2026-12-06T10:00:00.100000001Z";
const T2 = "2026-12-06T10:00:00.2Z";
const T3 = "2026-12-06T10:00:00.300000003Z";

Deno.test("OutputLineSplitter gives each line its engine timestamp, stdout and stderr in the order sent, whatever the chunking", () => {
  const bytes = concat([
    frame(1, `${T1} starting\n`),
    frame(2, `${T2} boom é\n`),
    frame(1, `${T3} last, no newline`),
  ]);
  const expected = [
    { at: T1, text: "starting" },
    { at: T2, text: "boom é" },
    { at: T3, text: "last, no newline" },
  ];
  for (const size of [1, 3, 7, 8, 9, 64, bytes.length]) {
    assertEquals(split(bytes, size), expected, `chunks of ${size}`);
  }
});

Deno.test("OutputLineSplitter joins a long line the engine sent in pieces, keeping the first piece's time", () => {
  const bytes = concat([
    frame(1, `${T1} first half, `),
    frame(2, `${T2} between\n`),
    frame(1, `${T3} second half\n`),
  ]);
  assertEquals(split(bytes, 5), [
    { at: T2, text: "between" },
    { at: T1, text: "first half, second half" },
  ]);
});

Deno.test("OutputLineSplitter reads a TTY container's unframed output as lines", () => {
  const bytes = new TextEncoder().encode(`${T1} one\r\n${T2} two\n`);
  assertEquals(split(bytes, 4), [{ at: T1, text: "one" }, { at: T2, text: "two" }]);
});

Deno.test("OutputLineSplitter keeps a line without a timestamp, its time unknown", () => {
  assertEquals(split(frame(1, "plain\n"), 100), [{ at: "", text: "plain" }]);
});
