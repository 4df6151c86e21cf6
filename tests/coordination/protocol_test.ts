/** Unit tests of the pure status/log parsing in src/coordination/protocol.ts. */
import fc from "fast-check";
import { assert, assertEquals } from "../support/assert.ts";
import { MAX_VALUE_BYTES, parseLogEntry, parseStatus } from "../../src/coordination/protocol.ts";

Deno.test("parseStatus() splits the word from the address at the first bar", () => {
  assertEquals(parseStatus("a", "started|vlad|/ip4/1.2.3.4/udp/1/quic-v1"), {
    peer: "a",
    status: "started",
    address: "vlad|/ip4/1.2.3.4/udp/1/quic-v1",
    raw: "started|vlad|/ip4/1.2.3.4/udp/1/quic-v1",
  });
  assertEquals(parseStatus("a", "connected"), { peer: "a", status: "connected", raw: "connected" });
  assertEquals(parseStatus("a", "started|"), {
    peer: "a",
    status: "started",
    address: "",
    raw: "started|",
  });
  assertEquals(parseStatus("a", "").status, "");
});

Deno.test("parseStatus() cuts a huge value and marks it", () => {
  const update = parseStatus("a", "started|" + "x".repeat(MAX_VALUE_BYTES * 2));
  assertEquals(update.status, "started");
  assert(update.raw.endsWith(`…[truncated ${MAX_VALUE_BYTES + 8} bytes]`), update.raw.slice(-40));
});

Deno.test("parseLogEntry() reads level|message and normalises known levels", () => {
  assertEquals(parseLogEntry("a", "info|hello"), {
    peer: "a",
    level: "info",
    message: "hello",
    malformed: false,
  });
  assertEquals(parseLogEntry("a", "WARNING|x|y").level, "warn");
  assertEquals(parseLogEntry("a", "WARNING|x|y").message, "x|y");
  assertEquals(parseLogEntry("a", "notice|kept"), {
    peer: "a",
    level: "notice",
    message: "kept",
    malformed: false,
  });
  assertEquals(parseLogEntry("a", "error|").message, "");
});

Deno.test("parseLogEntry() flags entries without a level, empty, huge or not UTF-8", () => {
  assertEquals(parseLogEntry("a", "no bar here"), {
    peer: "a",
    level: "info",
    message: "no bar here",
    malformed: true,
  });
  assertEquals(parseLogEntry("a", "a sentence, then|bar").malformed, true);
  assertEquals(parseLogEntry("a", "|starts with bar").malformed, true);
  assertEquals(parseLogEntry("a", new Uint8Array()), {
    peer: "a",
    level: "info",
    message: "",
    malformed: true,
  });
  const bad = parseLogEntry("a", new Uint8Array([0x69, 0x6e, 0x66, 0x6f, 0x7c, 0xff, 0xfe, 0x41]));
  assertEquals(bad, { peer: "a", level: "info", message: "\uFFFD\uFFFDA", malformed: true });
  const huge = parseLogEntry("a", "debug|" + "é".repeat(MAX_VALUE_BYTES));
  assertEquals(huge.level, "debug");
  assertEquals(huge.malformed, true);
  assert(huge.message.length < MAX_VALUE_BYTES);
  assert(/…\[truncated \d+ bytes\]$/.test(huge.message));
  assert(!huge.message.includes("\uFFFD"));
});

/** parseLogEntry() as it was before its fast path: a strict decoder on every entry (the oracle). */
function strictParse(peer: string, raw: Uint8Array) {
  let text: string;
  let valid = true;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    valid = false;
    text = new TextDecoder("utf-8").decode(raw);
  }
  if (text === "") return { peer, level: "info", message: "", malformed: true };
  const bar = text.indexOf("|");
  const word = bar > 0 ? text.slice(0, bar) : "";
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,15}$/.test(word)) {
    return { peer, level: "info", message: text, malformed: true };
  }
  const known: Record<string, string> = {
    trace: "trace",
    debug: "debug",
    info: "info",
    warn: "warn",
    warning: "warn",
    error: "error",
  };
  const level = Object.hasOwn(known, word.toLowerCase()) ? known[word.toLowerCase()] : word;
  return { peer, level, message: text.slice(bar + 1), malformed: !valid };
}

Deno.test("parseLogEntry() reads any bytes as a strict UTF-8 decoder would, flagging invalid ones", () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const prefix = fc.constantFrom("", "info|", "WARNING|", "Error|", "notice|", "a b|", "|");
  const tail = fc.oneof(
    fc.uint8Array({ maxLength: 30 }),
    fc.string({ unit: "binary", maxLength: 12 }).map(encode),
    fc.constantFrom(
      [0xef, 0xbb, 0xbf], // a BOM
      [0xef, 0xbf, 0xbd], // U+FFFD, encoded
      [0xed, 0xa0, 0x80], // a lone surrogate
      [0xc0, 0xaf], // an overlong "/"
      [0xf0, 0x9f, 0x98], // a character cut short
    ).map((list) => new Uint8Array(list)),
  );
  const entry = fc.tuple(fc.boolean(), prefix, tail).map(([bom, head, rest]) =>
    new Uint8Array([...(bom ? [0xef, 0xbb, 0xbf] : []), ...encode(head), ...rest])
  );
  fc.assert(
    fc.property(entry, (raw) => assertEquals(parseLogEntry("p", raw), strictParse("p", raw))),
    { numRuns: 20_000 },
  );
});
