/**
 * The local engine's layer store, read directly: an image's config and its layers' tars without
 * `docker save`. Engine 20.10's `docker save` writes the whole archive to a temporary directory
 * before it streams a byte (moby image/tarexport/save.go), every layer whatever the host lacks:
 * 810 ms of a 1131 ms re-shipment of a 107 MB image whose host lacked 1 MiB of it
 * (bench/image_shipping_bench.ts on 2026-11-28, before this store was read).
 *
 * Docker's classic image store with the overlay2 driver keeps what `docker save` reassembles a
 * layer's tar from: the tar's headers and padding (`layerdb/sha256/<chain>/tar-split.json.gz`)
 * and the files (`overlay2/<cache-id>/diff`); and each image's config as the exact bytes its ID
 * hashes. It is read only where that is safe: as root (the store is root's), for an engine on a
 * local Unix socket (its data root is a path on this machine), with the overlay2 driver of the
 * classic store (the containerd store has no layerdb). Anything else is reported, and the caller
 * exports the image through the engine's API (`GET /images/get`) instead.
 *
 * What is read is checked: the config against the image ID, and each file, as it streams,
 * against the size and CRC-64 tar-split recorded when the layer was stored, so a file changed
 * since (a container writing through a bind mount of the store, a damaged disk) fails the stream
 * before its last byte is sent. `docker load` checks the whole layer again against the diff ID
 * (moby image/tarexport/load.go), so a second SHA-256 here would only cost CPU: 0.5 s per
 * 100 MB on the 2-core test machine; the CRC costs about 0.3 s per 100 MB there.
 */
import { createHash } from "node:crypto";
import type { DockerEngine } from "./engine_api.ts";
import { errorMessage } from "../../base/errors.ts";
import { Crc64 } from "./crc64.ts";

/** The store cannot serve: no such store, not readable, or another layout. */
export class LayerStoreUnavailableError extends Error {
  constructor(readonly reason: string, options?: ErrorOptions) {
    super(`the local engine's layer store cannot be read directly: ${reason}`, options);
    this.name = "LayerStoreUnavailableError";
  }
}

/** The store's config differs from the image ID (changed under us, or not this engine's). */
export class LayerStoreMismatchError extends Error {
  constructor(
    /** The image ID whose config differed (`sha256:...`). */
    readonly digest: string,
    readonly detail: string,
  ) {
    super(`the local layer store's copy of ${digest} does not match: ${detail}`);
    this.name = "LayerStoreMismatchError";
  }
}

/** A file of a layer is not what tar-split recorded: changed, truncated or grown since. */
export class LayerFileMismatchError extends Error {
  constructor(
    /** The file's path in the layer's directory. */
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path} changed since its layer was stored: ${detail}`);
    this.name = "LayerFileMismatchError";
  }
}

/** The driver whose layout this reads; with any other, `docker save` serves. */
const DRIVER = "overlay2";
/** Files up to this size are read whole and sent with the headers around them in one chunk. */
const SMALL_FILE = 64 << 10;
/** Chunks this stream yields are at most about this size (the read size of large files). */
const CHUNK = 1 << 20;
/**
 * Pieces of tar-split (a header, a file, ...) whose small files are read ahead of the one being
 * sent. Measured streaming a 54 MB layer of 1,403 files (/usr/lib/python3.11) on the 2-core
 * machine at load 15, 6 alternating rounds: median 370 ms one file at a time, 191 ms with 64.
 */
const READ_AHEAD = 64;

/**
 * One piece of a layer's tar: bytes kept in tar-split, or a file read from the layer with the
 * CRC-64 tar-split recorded for it (8 bytes, big-endian).
 */
type TarPiece = { bytes: Uint8Array } | { path: string; size: number; crc: Uint8Array };

/** A layer's tar as the store can rebuild it. */
export interface StoredLayer {
  /** The tar's length in bytes. */
  readonly size: number;
  /** The tar; it errors if a file is missing, or not the size or CRC-64 tar-split recorded. */
  stream(): ReadableStream<Uint8Array>;
}

export class LayerStore {
  private constructor(
    /** `<data root>/image/overlay2`: imagedb and layerdb. */
    readonly imageRoot: string,
    /** `<data root>/overlay2`: the layers' directories. */
    readonly layerRoot: string,
  ) {}

  /**
   * The store of `engine`, if reading it is safe: this process is root, the engine listens on
   * a Unix socket on this machine, and its store is the classic one with the overlay2 driver.
   * @throws LayerStoreUnavailableError saying which of those fails, or why the store is unreadable
   */
  static async open(engine: DockerEngine, signal?: AbortSignal): Promise<LayerStore> {
    if (Deno.uid() !== 0) throw new LayerStoreUnavailableError("tm does not run as root");
    // Over SSH the data root is a path on another machine, whatever this one holds there.
    if (engine.localSocket === null) {
      throw new LayerStoreUnavailableError(`the engine is on ${engine.host}, not this machine`);
    }
    let store;
    try {
      store = await engine.imageStore(signal);
    } catch (error) {
      signal?.throwIfAborted();
      throw new LayerStoreUnavailableError(`/info failed (${errorMessage(error)})`, {
        cause: error,
      });
    }
    if (store.kind !== "classic") {
      throw new LayerStoreUnavailableError(`the engine keeps the ${store.kind} image store`);
    }
    if (store.driver !== DRIVER) {
      throw new LayerStoreUnavailableError(`storage driver ${store.driver}`);
    }
    const found = new LayerStore(`${store.root}/image/${DRIVER}`, `${store.root}/${DRIVER}`);
    try {
      await Deno.stat(`${found.imageRoot}/layerdb/sha256`);
      await Deno.stat(found.layerRoot);
    } catch (error) {
      throw new LayerStoreUnavailableError(errorMessage(error), { cause: error });
    }
    return found;
  }

  /**
   * The image's config, exactly the bytes its ID hashes.
   * @throws LayerStoreMismatchError if they hash to something else; Deno errors if unreadable
   */
  async config(imageId: string): Promise<Uint8Array> {
    const bytes = await Deno.readFile(
      `${this.imageRoot}/imagedb/content/sha256/${hexOf(imageId)}`,
    );
    const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    if (actual !== imageId) throw new LayerStoreMismatchError(imageId, `hashes to ${actual}`);
    return bytes;
  }

  /**
   * The tar of the layer with chain ID `chainId`, rebuilt from tar-split and its files.
   * @param options.readAhead pieces of tar-split whose small files are read ahead of the one
   *   being sent (default READ_AHEAD; 0: one file at a time)
   * @throws Deno errors when the layer is not in the store or not readable
   */
  async layer(chainId: string, options: { readAhead?: number } = {}): Promise<StoredLayer> {
    const meta = `${this.imageRoot}/layerdb/sha256/${hexOf(chainId)}`;
    const cacheId = (await Deno.readTextFile(`${meta}/cache-id`)).trim();
    const diff = `${this.layerRoot}/${cacheId}/diff`;
    const pieces = await tarSplit(`${meta}/tar-split.json.gz`, diff);
    const size = pieces.reduce((n, p) => n + ("bytes" in p ? p.bytes.length : p.size), 0);
    const readAhead = options.readAhead ?? READ_AHEAD;
    return { size, stream: () => ReadableStream.from(assemble(pieces, readAhead)) };
  }
}

function hexOf(digest: string): string {
  const hex = digest.match(/^sha256:([0-9a-f]{64})$/)?.[1];
  if (!hex) throw new LayerStoreMismatchError(digest, "not a sha256 digest");
  return hex;
}

/**
 * A layer's tar-split: JSON lines, `{"type":2,"payload":<base64>}` for bytes of the tar kept as
 * they were (headers, padding), `{"type":1,"name":...,"size":...}` for a file's content.
 */
async function tarSplit(path: string, diff: string): Promise<TarPiece[]> {
  const file = await Deno.open(path);
  const text = await new Response(
    file.readable.pipeThrough(new DecompressionStream("gzip")),
  ).text();
  const pieces: TarPiece[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const entry = JSON.parse(line) as {
      type: number;
      name?: string;
      name_raw?: string;
      size?: number;
      payload?: string | null;
    };
    if (entry.type === 2) {
      if (entry.payload) pieces.push({ bytes: base64Bytes(entry.payload) });
    } else if (entry.type === 1) {
      // A name that is not UTF-8 (name_raw) has no path we could open: not worth handling.
      if (entry.name === undefined) throw new Error(`tar-split of ${diff} names a file in bytes`);
      // A path out of the layer's directory is never read (the engine would not have stored it).
      if (entry.name.split("/").includes("..")) {
        throw new Error(`tar-split of ${diff} names ${entry.name}, outside the layer`);
      }
      // tar-split, like docker save, skips empty files (directories, links, devices).
      if ((entry.size ?? 0) === 0) continue;
      const crc = entry.payload ? base64Bytes(entry.payload) : undefined;
      if (crc?.length !== 8) {
        throw new Error(`tar-split of ${diff} has no CRC-64 for ${entry.name}`);
      }
      pieces.push({ path: `${diff}/${entry.name}`, size: entry.size!, crc });
    } else throw new Error(`tar-split of ${diff} has an entry of type ${entry.type}`);
  }
  return pieces;
}

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The tar's bytes: small pieces gathered into chunks of up to CHUNK, large files in CHUNKs. */
async function* assemble(
  pieces: TarPiece[],
  lookahead = READ_AHEAD,
): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = () => {
    const out = concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  // Small files are read a few ahead: each read is a file system op on Deno's blocking pool,
  // which then overlaps the others and this thread's work instead of waiting its turn.
  const reads = new Map<number, Promise<Uint8Array>>();
  let scheduled = 0;
  const readAhead = (upTo: number) => {
    for (; scheduled < Math.min(upTo, pieces.length); scheduled++) {
      const piece = pieces[scheduled];
      if ("bytes" in piece || piece.size > SMALL_FILE) continue;
      const read = readWhole(piece);
      read.catch(() => {}); // awaited in order below; one read past an abandoned stream is moot
      reads.set(scheduled, read);
    }
  };
  for (const [i, piece] of pieces.entries()) {
    readAhead(i + 1 + lookahead);
    if ("bytes" in piece || piece.size <= SMALL_FILE) {
      const bytes = "bytes" in piece ? piece.bytes : await reads.get(i)!;
      reads.delete(i);
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes >= CHUNK) yield flush();
      continue;
    }
    if (pendingBytes > 0) yield flush();
    yield* readChunks(piece);
  }
  if (pendingBytes > 0) yield flush();
}

/** A file read whole, checked against its size and CRC-64. */
async function readWhole(
  file: { path: string; size: number; crc: Uint8Array },
): Promise<Uint8Array> {
  const bytes = await Deno.readFile(file.path);
  if (bytes.length !== file.size) {
    throw new LayerFileMismatchError(file.path, `${bytes.length} bytes, not ${file.size}`);
  }
  checkCrc(file.path, new Crc64().update(bytes), file.crc);
  return bytes;
}

/** A large file in chunks, its CRC-64 computed as they go and checked after the last. */
async function* readChunks(
  piece: { path: string; size: number; crc: Uint8Array },
): AsyncGenerator<Uint8Array> {
  using file = await Deno.open(piece.path);
  const crc = new Crc64();
  let left = piece.size;
  while (left > 0) {
    const chunk = new Uint8Array(Math.min(left, CHUNK));
    let filled = 0;
    while (filled < chunk.length) {
      const n = await file.read(chunk.subarray(filled));
      if (n === null) {
        throw new LayerFileMismatchError(piece.path, `shorter than ${piece.size} bytes`);
      }
      filled += n;
    }
    left -= filled;
    crc.update(chunk);
    // The last chunk is held back until the file is checked: a changed file never reaches a
    // host whole (its load would refuse it, but only after the rest of the archive).
    if (left === 0) {
      if (await file.read(new Uint8Array(1)) !== null) {
        throw new LayerFileMismatchError(piece.path, `longer than ${piece.size} bytes`);
      }
      checkCrc(piece.path, crc, piece.crc);
    }
    yield chunk;
  }
}

function checkCrc(path: string, crc: Crc64, expected: Uint8Array): void {
  const actual = crc.digest();
  if (actual.some((byte, i) => byte !== expected[i])) {
    throw new LayerFileMismatchError(path, "its CRC-64 differs from tar-split's");
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
