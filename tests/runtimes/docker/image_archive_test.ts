import { assert, assertEquals } from "../../support/assert.ts";
import {
  type ArchiveEntry,
  ArchiveIndex,
  type ArchivePiece,
  chainIds,
  legacyLayerPosition,
  TarSplitter,
  topLevelMembers,
} from "../../../src/runtimes/docker/image_archive.ts";
import { tarHeader } from "../../../src/runtimes/docker/store_archive.ts";
import { keptParts } from "../../../src/runtimes/docker/image_shipping.ts";
import { sh } from "../../support/scratch_images.ts";

/** A real `docker save` (Engine 20.10, legacy layout): diff IDs, manifest and layer json files. */
const LEGACY = JSON.parse(
  Deno.readTextFileSync(new URL("../../fixtures/docker_save/legacy-20.10.json", import.meta.url)),
) as {
  diffIds: string[];
  manifest: { Layers: string[] }[];
  layerJson: Record<string, string>;
};

Deno.test("topLevelMembers() keeps each value's raw text, nested and escaped alike", () => {
  const members = topLevelMembers(
    '{"a":{"b":[1,{"c":"}"}]},"s":"x\\"y\\u003c","n":-1.5e3,"t":true,"z":null}',
  );
  assertEquals(
    [...members!],
    [["a", '{"b":[1,{"c":"}"}]}'], ["s", '"x\\"y\\u003c"'], ["n", "-1.5e3"], ["t", "true"], [
      "z",
      "null",
    ]],
  );
  assertEquals(topLevelMembers("[1]"), undefined);
  assertEquals(topLevelMembers('{"a":'), undefined);
  assertEquals([...topLevelMembers(" { } ")!], []);
});

Deno.test("chainIds() chains diff IDs as the layer store does", async () => {
  const chains = await chainIds(LEGACY.diffIds);
  assertEquals(chains[0], LEGACY.diffIds[0]);
  assertEquals(chains.length, 3);
  assert(chains.every((c) => /^sha256:[0-9a-f]{64}$/.test(c)));
  assertEquals(await chainIds([]), []);
});

Deno.test("legacyLayerPosition() finds which layer each directory of a real docker save holds", async () => {
  const chains = await chainIds(LEGACY.diffIds);
  const byPosition = LEGACY.manifest[0].Layers.map((path) => path.slice(0, 64));
  for (const [dir, json] of Object.entries(LEGACY.layerJson)) {
    assertEquals(await legacyLayerPosition(json, dir, chains), byPosition.indexOf(dir), dir);
  }
  // Another image's chains, or a changed json, match nothing: the layer is then always sent.
  const [dir, json] = Object.entries(LEGACY.layerJson)[0];
  assertEquals(await legacyLayerPosition(json, dir, chains.slice(1)), undefined);
  const changed = json.replace("1970-01-01", "1971-01-01");
  assertEquals(await legacyLayerPosition(changed, dir, chains), undefined);
});

Deno.test("ArchiveIndex.canSkip() leaves out a layer only when the host holds its chain", async () => {
  const chains = await chainIds(LEGACY.diffIds);
  const index = new ArchiveIndex(LEGACY.diffIds, chains);
  for (const [dir, json] of Object.entries(LEGACY.layerJson)) {
    await index.learn({ name: `${dir}/json`, size: json.length }, new TextEncoder().encode(json));
  }
  const layer = (i: number): ArchiveEntry => ({ name: LEGACY.manifest[0].Layers[i], size: 1 });
  const held = new Set([chains[0], chains[1]]);
  assertEquals([0, 1, 2].map((i) => index.canSkip(layer(i), held)), [true, true, false]);
  // A diff ID held on top of another base is a different chain: sent.
  assertEquals(index.canSkip(layer(1), new Set([chains[1]])), true);
  assertEquals(index.canSkip(layer(0), new Set([LEGACY.diffIds[1]])), false);
  // Not layers: never left out.
  const dir = LEGACY.manifest[0].Layers[0].slice(0, 64);
  assertEquals(index.canSkip({ name: `${dir}/json`, size: 1 }, new Set(chains)), false);
  assertEquals(index.canSkip({ name: "manifest.json", size: 1 }, new Set(chains)), false);
  // OCI layout (Docker 25+): a layer blob is named by its diff ID.
  const blob = { name: `blobs/sha256/${LEGACY.diffIds[2].slice(7)}`, size: 1 };
  assertEquals(index.canSkip(blob, new Set(chains)), true);
  assertEquals(index.canSkip(blob, held), false);
});

Deno.test("ArchiveIndex.learn() reads the image ID and tags from manifest.json", async () => {
  const index = new ArchiveIndex([], []);
  const manifest = JSON.stringify([{
    Config: `${"ab".repeat(32)}.json`,
    RepoTags: ["peer:1"],
    Layers: [],
  }]);
  await index.learn(
    { name: "manifest.json", size: manifest.length },
    new TextEncoder().encode(manifest),
  );
  assertEquals(index.configDigest, `sha256:${"ab".repeat(32)}`);
  assertEquals(index.repoTags, ["peer:1"]);
});

Deno.test("TarSplitter splits a tar (PAX long names, empty files, trailer) into whole entries at any chunking", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tm-tar-" });
  try {
    const long = `${"d".repeat(120)}/json`;
    await sh(
      `cd ${dir} && mkdir -p src/${"d".repeat(120)} && printf '{"x":1}' > src/${long} && ` +
        `: > src/empty && head -c 5000 /dev/urandom > src/blob && ` +
        `tar --format=pax -C src -cf a.tar ${long} empty blob`,
    );
    const archive = await Deno.readFile(`${dir}/a.tar`);
    for (const size of [1, 7, 511, 512, 4096, archive.length]) {
      const collected = new Map<string, string>();
      const splitter = new TarSplitter({
        collect: (name) => name.endsWith("/json"),
        onContent: (entry, content) => {
          collected.set(entry.name, new TextDecoder().decode(content));
        },
      });
      const pieces: ArchivePiece[] = [];
      for (let at = 0; at < archive.length; at += size) {
        pieces.push(...await splitter.push(archive.subarray(at, at + size)));
      }
      // Nothing lost or added, every byte in order.
      const joined = new Uint8Array(archive.length);
      let at = 0;
      for (const piece of pieces) {
        joined.set(piece.bytes, at);
        at += piece.bytes.length;
      }
      assertEquals(at, archive.length, `chunks of ${size}`);
      assert(joined.every((b, i) => b === archive[i]), `chunks of ${size}`);
      const entries = [...new Set(pieces.map((p) => p.entry))].filter((e) => e !== null);
      assertEquals(entries.map((e) => [e!.name, e!.size]), [[long, 7], ["empty", 0], [
        "blob",
        5000,
      ]]);
      assertEquals(collected, new Map([[long, '{"x":1}']]));
      // The PAX record travels with its entry: leaving the entry out leaves no orphan header.
      const bytesOf = (name: string) =>
        pieces.filter((p) => p.entry?.name === name).reduce((n, p) => n + p.bytes.length, 0);
      // GNU tar gives every entry a PAX header of its own (times): header, records, header, data.
      assertEquals(bytesOf("blob"), 512 + 512 + 512 + 5120);
      assert(bytesOf(long) >= 512 * 3, "PAX header, its record, the header, the data");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A tar of `files` (name, content) in order, as docker save streams one. */
function tarOf(files: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, content] of files) {
    parts.push(tarHeader(name, content.length), content);
    const padding = (512 - (content.length % 512)) % 512;
    if (padding > 0) parts.push(new Uint8Array(padding));
  }
  parts.push(new Uint8Array(1024));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

Deno.test("ArchiveIndex recognises the containerd store's compressed layer blobs by diff ID, from the image's config and manifest blobs", async () => {
  const hex = (c: string) => c.repeat(64);
  const diffIds = [`sha256:${hex("d")}`, `sha256:${hex("e")}`, `sha256:${hex("f")}`];
  const chains = await chainIds(diffIds);
  // Compressed digests: a layer ahead of the manifest (00…), and two after it (55…, 66…).
  const layers = [`sha256:${hex("0")}`, `sha256:${hex("5")}`, `sha256:${hex("6")}`];
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const config = json({ rootfs: { type: "layers", diff_ids: diffIds } });
  const configHex = hex("1");
  const manifest = json({
    schemaVersion: 2,
    config: { digest: `sha256:${configHex}` },
    layers: layers.map((digest) => ({
      digest,
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    })),
  });
  // Another image's manifest with as many layers must not count (its config is not ours).
  const stranger = json({
    config: { digest: `sha256:${hex("9")}` },
    layers: diffIds.map(() => ({ digest: `sha256:${hex("a")}` })),
  });
  const gzip = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
  const archive = tarOf([
    [`blobs/sha256/${hex("0")}`, gzip],
    [`blobs/sha256/${configHex}`, config],
    [`blobs/sha256/${hex("2")}`, manifest],
    [`blobs/sha256/${hex("3")}`, stranger],
    [`blobs/sha256/${hex("5")}`, gzip],
    [`blobs/sha256/${hex("6")}`, gzip],
    [`blobs/sha256/${hex("a")}`, gzip],
    ["index.json", json({})],
  ]);
  const index = new ArchiveIndex(diffIds, chains);
  const splitter = new TarSplitter({
    collect: (name) => index.wants(name),
    onContent: (entry, content) => index.learn(entry, content),
  });
  // Decided as each entry's first piece arrives, as shipping decides.
  const skipped = new Map<string, boolean>();
  const held = new Set(chains.slice(0, 2)); // the host holds the two lower layers
  for (let at = 0; at < archive.length; at += 100) {
    for (const piece of await splitter.push(archive.subarray(at, at + 100))) {
      if (piece.entry && !skipped.has(piece.entry.name)) {
        skipped.set(piece.entry.name, index.canSkip(piece.entry, held));
      }
    }
  }
  assertEquals(
    [...skipped].filter(([, skip]) => skip).map(([name]) => name),
    [`blobs/sha256/${hex("5")}`], // layer 1; layer 0 came before the manifest, layer 2 is not held
  );
  assertEquals(index.canSkip({ name: `blobs/sha256/${hex("0")}`, size: 8 }, held), true);
  assertEquals(
    index.canSkip({ name: `blobs/sha256/${hex("a")}`, size: 8 }, new Set(chains)),
    false,
  );
});

Deno.test("keptParts() sends a host every byte of the entries it keeps, in order, however the chunks cut the tar's headers", async () => {
  // A layer the host holds between two it lacks; every header may straddle a chunk boundary.
  const files: [string, Uint8Array][] = [
    ["aaa/layer.tar", new Uint8Array(700).fill(1)],
    ["held/layer.tar", new Uint8Array(1300).fill(2)],
    ["ccc/layer.tar", new Uint8Array(90).fill(3)],
    ["manifest.json", new TextEncoder().encode("[]")],
  ];
  const archive = tarOf(files);
  const index = { canSkip: (entry: ArchiveEntry) => entry.name === "held/layer.tar" };
  const expected = (await new TarSplitter().push(archive))
    .filter((piece) => piece.entry?.name !== "held/layer.tar")
    .flatMap((piece) => [...piece.bytes]);
  for (const size of [1, 100, 300, 511, 512, 513, 1000, 1500, archive.length]) {
    const splitter = new TarSplitter();
    const sink = { entry: undefined, leaving: false, chains: new Set<string>(), leftOut: 0 };
    const sent: number[] = [];
    for (let at = 0; at < archive.length; at += size) {
      // Each chunk its own buffer, as a stream hands them over.
      const chunk = archive.slice(at, at + size);
      for (const part of keptParts(sink, chunk, await splitter.push(chunk), index)) {
        sent.push(...part);
      }
    }
    assertEquals(sent, expected, `chunks of ${size}`);
    assertEquals(sink.leftOut, 1, `chunks of ${size}`);
  }
});
