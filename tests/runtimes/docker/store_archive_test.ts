import { assertEquals } from "../../support/assert.ts";
import { TarSplitter } from "../../../src/runtimes/docker/image_archive.ts";
import { tarHeader } from "../../../src/runtimes/docker/store_archive.ts";
import { sh } from "../../support/scratch_images.ts";

const NAME = `blobs/sha256/${"ab".repeat(32)}`;

Deno.test("tarHeader() writes a header GNU tar accepts, checksum included", async () => {
  const content = new TextEncoder().encode("hello layer\n");
  const archive = new Uint8Array(512 + 512 + 1024);
  archive.set(tarHeader(NAME, content.length));
  archive.set(content, 512);
  const listing = await sh("tar -tvf -", archive);
  assertEquals(listing.trim().split(/\s+/).slice(2, 3), [String(content.length)]);
  assertEquals(listing.trim().split(/\s+/).at(-1), NAME);
  assertEquals(await sh(`tar -xOf - ${NAME}`, archive), "hello layer\n");
});

Deno.test("tarHeader() sizes read back through TarSplitter, in octal up to 8 GiB and base-256 beyond", async () => {
  for (const size of [0, 1, 0o77777777777, 2 ** 36 + 5]) {
    const pieces = await new TarSplitter().push(tarHeader(NAME, size));
    assertEquals(pieces.map((p) => p.entry), [{ name: NAME, size }]);
  }
});
