/**
 * The local engine's layer store, read directly: an image's config and its layers' tars without
 * `docker save`. Engine 20.10's `docker save` writes the whole archive to a temporary directory
 * before it streams a byte (moby image/tarexport/save.go), every layer whatever the host lacks:
 * 810 ms of a 1131 ms re-shipment of a 107 MB image whose host lacked 1 MiB of it
 * (docs/benchmarks.md, image_shipping, before this store was read).
 *
 * Docker's classic image store with the overlay2 driver keeps what `docker save` reassembles a
 * layer's tar from: the tar's headers and padding (`layerdb/sha256/<chain>/tar-split.json.gz`)
 * and the files (`overlay2/<cache-id>/diff`); and each image's config as the exact bytes its ID
 * hashes. The config is checked against the image ID here. A layer's tar is checked where it is
 * loaded: `docker load` hashes every layer it reads and refuses one whose hash is not the diff ID
 * the config names (moby image/tarexport/load.go; tests/runtimes/docker/incremental_shipping_test.ts changes a
 * byte of a layer's file and sees the load refuse), so a second hash here would only cost CPU:
 * 0.5 s per 100 MB on the 2-core test machine (node:crypto and sha256sum alike). A store that is
 * not there, not readable (docker run by a non-root user) or not laid out as we expect is
 * reported, and the caller runs `docker save` instead.
 */
import { createHash } from "node:crypto";
import type { Docker } from "./docker.ts";
import { errorMessage } from "../../base/errors.ts";

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

/** The driver whose layout this reads; with any other, `docker save` serves. */
const DRIVER = "overlay2";
/** Files up to this size are read whole and sent with the headers around them in one chunk. */
const SMALL_FILE = 64 << 10;
/** Chunks this stream yields are at most about this size (the read size of large files). */
const CHUNK = 1 << 20;

/** One piece of a layer's tar: bytes kept in tar-split, or a file read from the layer. */
type TarPiece = { bytes: Uint8Array } | { path: string; size: number };

/** A layer's tar as the store can rebuild it. */
export interface StoredLayer {
  /** The tar's length in bytes. */
  readonly size: number;
  /** The tar; it errors if a file is missing or not the size tar-split recorded. */
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
   * The store of `docker`'s engine, which must be on this machine (its files are read here).
   * @throws LayerStoreUnavailableError when its data root is not a readable overlay2 store
   */
  static async open(docker: Docker, signal?: AbortSignal): Promise<LayerStore> {
    let root: string;
    let driver: string;
    try {
      const out = await docker.call(
        ["info", "--format", "{{json .DockerRootDir}} {{json .Driver}}"],
        { signal },
      );
      [root, driver] = out.trim().split(" ").map((field) => JSON.parse(field) as string);
    } catch (error) {
      signal?.throwIfAborted();
      throw new LayerStoreUnavailableError(`docker info failed (${errorMessage(error)})`, {
        cause: error,
      });
    }
    // The containerd image store reports its snapshotter (e.g. overlayfs) here, and has no layerdb.
    if (driver !== DRIVER) throw new LayerStoreUnavailableError(`storage driver ${driver}`);
    const store = new LayerStore(`${root}/image/${DRIVER}`, `${root}/${DRIVER}`);
    try {
      await Deno.stat(`${store.imageRoot}/layerdb/sha256`);
      await Deno.stat(store.layerRoot);
    } catch (error) {
      throw new LayerStoreUnavailableError(errorMessage(error), { cause: error });
    }
    return store;
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
   * @throws Deno errors when the layer is not in the store or not readable
   */
  async layer(chainId: string): Promise<StoredLayer> {
    const meta = `${this.imageRoot}/layerdb/sha256/${hexOf(chainId)}`;
    const cacheId = (await Deno.readTextFile(`${meta}/cache-id`)).trim();
    const diff = `${this.layerRoot}/${cacheId}/diff`;
    const pieces = await tarSplit(`${meta}/tar-split.json.gz`, diff);
    const size = pieces.reduce((n, p) => n + ("bytes" in p ? p.bytes.length : p.size), 0);
    return { size, stream: () => ReadableStream.from(assemble(pieces)) };
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
      if ((entry.size ?? 0) > 0) pieces.push({ path: `${diff}/${entry.name}`, size: entry.size! });
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
async function* assemble(pieces: TarPiece[]): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = () => {
    const out = concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  for (const piece of pieces) {
    if ("bytes" in piece || piece.size <= SMALL_FILE) {
      const bytes = "bytes" in piece ? piece.bytes : await readWhole(piece.path, piece.size);
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes >= CHUNK) yield flush();
      continue;
    }
    if (pendingBytes > 0) yield flush();
    yield* readChunks(piece.path, piece.size);
  }
  if (pendingBytes > 0) yield flush();
}

/** A file that must be `size` bytes long (tar-split recorded it so). */
async function readWhole(path: string, size: number): Promise<Uint8Array> {
  const bytes = await Deno.readFile(path);
  if (bytes.length !== size) throw new Error(`${path} is ${bytes.length} bytes, not ${size}`);
  return bytes;
}

async function* readChunks(path: string, size: number): AsyncGenerator<Uint8Array> {
  using file = await Deno.open(path);
  let left = size;
  while (left > 0) {
    const chunk = new Uint8Array(Math.min(left, CHUNK));
    let filled = 0;
    while (filled < chunk.length) {
      const n = await file.read(chunk.subarray(filled));
      if (n === null) throw new Error(`${path} is shorter than ${size} bytes`);
      filled += n;
    }
    left -= filled;
    yield chunk;
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
