/**
 * An image archive built from the local layer store (layer_store.ts) instead of the engine's
 * export (`GET /images/get`),
 * carrying only the layers some host lacks. Its layout is the one `docker load` reads first: a
 * `manifest.json` naming the config file, the image's tags and one file per layer. `docker load`
 * looks each layer up by chain ID before it opens that layer's file (moby
 * image/tarexport/load.go), so the files of layers every host holds are simply not there.
 * Layers are named `blobs/sha256/<diff id>` as in Docker 25's archives, so ArchiveIndex
 * recognises them and a host holding one of them is sent the archive without it.
 */
import type { ImageInfo } from "./docker.ts";
import type { LayerStore, StoredLayer } from "./layer_store.ts";

/** Tar's block size: headers and data are padded to it. */
const BLOCK = 512;
/** The largest size a tar header holds in octal (11 digits); larger ones are base-256. */
const MAX_OCTAL = 0o77777777777;

export interface StoreArchive {
  /** The archive's length in bytes. */
  readonly size: number;
  /** Positions of the layers whose file the archive carries. */
  readonly carried: ReadonlySet<number>;
  /** The bytes the layers it leaves out would add: `size` plus these is the whole archive. */
  readonly omittedBytes: number;
  readonly stream: ReadableStream<Uint8Array>;
}

/**
 * The archive of `info` tagged `reference`, with the files of the layers at the positions
 * `wanted` accepts (a layer that repeats is carried once). Reads the config and the carried
 * layers' tar-split before returning, so a store that cannot serve fails here, before any byte
 * is sent; the stream errors if a layer's file is gone or changed size meanwhile.
 */
export async function storeArchive(
  store: LayerStore,
  reference: string,
  info: ImageInfo,
  chains: readonly string[],
  wanted: (position: number) => boolean,
): Promise<StoreArchive> {
  const config = await store.config(info.id);
  const configName = `${info.id.slice("sha256:".length)}.json`;
  const blob = (diffId: string) => `blobs/sha256/${diffId.slice("sha256:".length)}`;
  const manifest = new TextEncoder().encode(JSON.stringify([{
    Config: configName,
    RepoTags: [reference],
    Layers: info.layers.map(blob),
  }]));
  const layers: { name: string; layer: StoredLayer }[] = [];
  const files = new Set<string>();
  for (const [position, diffId] of info.layers.entries()) {
    if (!wanted(position) || files.has(diffId)) continue;
    files.add(diffId);
    layers.push({ name: blob(diffId), layer: await store.layer(chains[position]) });
  }
  const carried = new Set(info.layers.flatMap((diffId, i) => files.has(diffId) ? [i] : []));
  // Sizes of the layers left out, from their tar-split alone (no file is read): what the
  // archive's size is compared with when a shipment is reported.
  let omittedBytes = 0;
  const omitted = new Set<string>();
  for (const [position, diffId] of info.layers.entries()) {
    if (files.has(diffId) || omitted.has(diffId)) continue;
    omitted.add(diffId);
    omittedBytes += entrySize((await store.layer(chains[position])).size);
  }
  // Two zero blocks end a tar.
  const size = entrySize(manifest.length) + entrySize(config.length) +
    layers.reduce((n, { layer }) => n + entrySize(layer.size), 0) + 2 * BLOCK;
  async function* archive(): AsyncGenerator<Uint8Array> {
    yield* file("manifest.json", manifest);
    yield* file(configName, config);
    for (const { name, layer } of layers) {
      yield tarHeader(name, layer.size);
      yield* layer.stream();
      const padding = padded(layer.size) - layer.size;
      if (padding > 0) yield new Uint8Array(padding);
    }
    yield new Uint8Array(2 * BLOCK);
  }
  return { size, carried, omittedBytes, stream: ReadableStream.from(archive()) };
}

function* file(name: string, content: Uint8Array): Generator<Uint8Array> {
  const out = new Uint8Array(entrySize(content.length));
  out.set(tarHeader(name, content.length));
  out.set(content, BLOCK);
  yield out;
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function entrySize(size: number): number {
  return BLOCK + padded(size);
}

/** A ustar header for a regular file `name` (at most 100 bytes) of `size` bytes. */
export function tarHeader(name: string, size: number): Uint8Array {
  const header = new Uint8Array(BLOCK);
  const encoder = new TextEncoder();
  const put = (at: number, text: string) => header.set(encoder.encode(text), at);
  const nameBytes = encoder.encode(name);
  if (nameBytes.length > 100) throw new RangeError(`tar entry name too long: ${name}`);
  header.set(nameBytes, 0);
  put(100, "0000644\0"); // mode
  put(108, "0000000\0"); // uid
  put(116, "0000000\0"); // gid
  if (size <= MAX_OCTAL) put(124, `${size.toString(8).padStart(11, "0")}\0`);
  else {
    // Base-256: the high bit of the first byte set, the number big-endian in the rest.
    let value = size;
    for (let i = 135; i > 124; i--) {
      header[i] = value % 256;
      value = Math.floor(value / 256);
    }
    header[124] = 0x80;
  }
  put(136, "00000000000\0"); // mtime
  put(148, "        "); // checksum, counted as spaces
  put(156, "0"); // regular file
  put(257, "ustar\0");
  put(263, "00");
  const sum = header.reduce((n, b) => n + b, 0);
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  return header;
}
