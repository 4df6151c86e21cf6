/** Unit tests of the pure status/log parsing in src/coordination/protocol.ts. */
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
