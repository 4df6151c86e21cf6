/** Crc64 against the CRC-64/GO-ISO check value and the checksums tar-split stores. */
import { assertEquals } from "../../support/assert.ts";
import { Crc64 } from "../../../src/runtimes/docker/crc64.ts";

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("Crc64.digest() gives CRC-64/GO-ISO's check value for 123456789", () => {
  const crc = new Crc64().update(new TextEncoder().encode("123456789"));
  assertEquals(hex(crc.digest()), "b90956c775a41001");
});

Deno.test("Crc64.digest() matches the payload tar-split recorded for a file (busybox's /etc/group)", () => {
  // tar-split of a layer holding `root:x:0:\n` as ./etc/group: payload "R0Bb3FNcWGw=".
  const crc = new Crc64().update(new TextEncoder().encode("root:x:0:\n"));
  assertEquals(
    hex(crc.digest()),
    hex(Uint8Array.from(atob("R0Bb3FNcWGw="), (c) => c.charCodeAt(0))),
  );
});

Deno.test("Crc64.update() gives the same checksum whatever the chunking, at any alignment", () => {
  const data = new Uint8Array(10_007).map((_, i) => (i * 7919 + 13) & 0xff);
  const whole = hex(new Crc64().update(data).digest());
  for (const cut of [1, 3, 8, 9, 4096, 10_000]) {
    const crc = new Crc64();
    for (let at = 0; at < data.length; at += cut) crc.update(data.subarray(at, at + cut));
    assertEquals(hex(crc.digest()), whole, `chunks of ${cut}`);
  }
});
