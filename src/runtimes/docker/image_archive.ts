/**
 * The archive `docker save` writes, read as it streams: split into tar entries without copying
 * their data, with the image's layers recognised, so that a host which already holds a layer
 * (by chain ID) can be sent the archive without it. `docker load` looks a layer up by chain ID
 * before it opens the layer's file, so a held layer's file need not be in the archive.
 *
 * Two layouts are recognised:
 * - Docker before 25 (the "legacy" layout): one directory per layer named by a v1 ID, with a
 *   `json` file before its `layer.tar`. The v1 ID is a hash over that `json` and the layer's
 *   chain ID (moby's `image/v1.CreateID`), so the `json` tells which layer the directory holds.
 * - Docker 25 and later (OCI layout): layers are `blobs/sha256/<digest>`. From the classic store
 *   a layer is uncompressed and its digest is its diff ID. From the containerd image store a
 *   layer keeps the digest it was pulled with (compressed): the image's manifest blob, which
 *   lists the layer digests in the config's order, tells which diff ID each is, once the config
 *   blob has shown the diff IDs are this image's. Blobs come in digest order, so a layer blob
 *   ahead of its manifest in the archive cannot be recognised, and is sent.
 * An entry that is not recognised is always sent.
 */

/** Tar's block size: headers and data are padded to it. */
const BLOCK = 512;
/** Entries whose content the index reads (`<v1 id>/json`, `manifest.json`) are small. */
const MAX_INDEXED_BYTES = 1 << 20;

/** One file of the archive. */
export interface ArchiveEntry {
  /** Path inside the archive, e.g. `<v1 id>/layer.tar` or `blobs/sha256/<hex>`. */
  readonly name: string;
  /** Bytes of content (without header and padding). */
  readonly size: number;
}

/**
 * A run of archive bytes that belongs to one entry (its header, some of its data, its padding);
 * `entry` is null for the end-of-archive blocks.
 */
export interface ArchivePiece {
  readonly entry: ArchiveEntry | null;
  readonly bytes: Uint8Array;
}

/**
 * Chain IDs of an image's layers from its diff IDs (`docker image inspect` `.RootFS.Layers`):
 * the first layer's chain ID is its diff ID, each next one `sha256(<parent chain> <diff id>)`.
 */
export async function chainIds(diffIds: readonly string[]): Promise<string[]> {
  const chains: string[] = [];
  for (const diffId of diffIds) {
    const parent = chains.at(-1);
    chains.push(parent === undefined ? diffId : `sha256:${await sha256Hex(`${parent} ${diffId}`)}`);
  }
  return chains;
}

/**
 * Which layer a legacy layout's directory holds: the position `i` at which moby's
 * `v1.CreateID(json without id, chains[i], parent)` equals `dir`, or undefined.
 * @param json the directory's `json` file, exactly as in the archive
 * @param dir the directory's name (the v1 ID, 64 hex digits)
 */
export async function legacyLayerPosition(
  json: string,
  dir: string,
  chains: readonly string[],
): Promise<number | undefined> {
  const members = topLevelMembers(json);
  if (!members) return undefined;
  members.delete("id");
  const parent = members.get("parent");
  // The v1 ID hashes the parent with its algorithm; the file holds the bare hex.
  if (parent !== undefined && /^"[0-9a-f]{64}"$/.test(parent)) {
    members.set("parent", `"sha256:${parent.slice(1)}`);
  }
  // Docker sets `os` on a layer's json after computing its ID (all layers but the top one).
  const variants = [members];
  if (members.has("os")) {
    const withoutOs = new Map(members);
    withoutOs.delete("os");
    variants.push(withoutOs);
  }
  for (const [position, chain] of chains.entries()) {
    for (const variant of variants) {
      const hashed = new Map(variant).set("layer_id", JSON.stringify(chain));
      // Go marshals a map with its keys sorted, compact: the raw values are kept as they were.
      const text = `{${
        [...hashed.keys()].sort().map((key) => `${JSON.stringify(key)}:${hashed.get(key)}`)
          .join(",")
      }}`;
      if (await sha256Hex(text) === dir) return position;
    }
  }
  return undefined;
}

/**
 * A JSON object's top-level members with their values as raw text, in order; undefined when
 * `text` is not an object. Values are not re-encoded, so hashing them gives what Go hashed.
 */
export function topLevelMembers(text: string): Map<string, string> | undefined {
  const members = new Map<string, string>();
  let i = skipSpace(text, 0);
  if (text[i] !== "{") return undefined;
  i = skipSpace(text, i + 1);
  if (text[i] === "}") return members;
  for (;;) {
    if (text[i] !== '"') return undefined;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return undefined;
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    if (text[i] !== ":") return undefined;
    const start = skipSpace(text, i + 1);
    const end = valueEnd(text, start);
    if (end < 0) return undefined;
    members.set(key, text.slice(start, end));
    i = skipSpace(text, end);
    if (text[i] === "}") return members;
    if (text[i] !== ",") return undefined;
    i = skipSpace(text, i + 1);
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && " \t\r\n".includes(text[i])) i++;
  return i;
}

/** Index just past the string literal starting at `i`, or -1. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') return j + 1;
  }
  return -1;
}

/** Index just past the JSON value starting at `i`, or -1. */
function valueEnd(text: string, i: number): number {
  if (text[i] === '"') return stringEnd(text, i);
  if (text[i] !== "{" && text[i] !== "[") {
    let j = i;
    while (j < text.length && !",}] \t\r\n".includes(text[j])) j++;
    return j > i ? j : -1;
  }
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (c === '"') {
      j = stringEnd(text, j) - 1;
      if (j < 0) return -1;
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Splits a tar stream into pieces, each belonging to one entry, without copying data. PAX and
 * GNU long-name headers travel with the entry they describe. Entries named in `collect` have
 * their content gathered and passed to `onContent` before the next entry's piece is returned.
 */
export class TarSplitter {
  readonly #collect: (name: string) => boolean;
  readonly #onContent: (entry: ArchiveEntry, content: Uint8Array) => Promise<void> | void;
  /** A header (or a PAX/long-name record) being assembled across chunks. */
  #header = new Uint8Array(BLOCK);
  #headerFill = 0;
  /** Meta headers (PAX, GNU long name) and their data, waiting for the entry they describe. */
  #meta: Uint8Array[] = [];
  #metaKind: "pax" | "longname" | undefined;
  #metaData: Uint8Array[] = [];
  #longName: string | undefined;
  #paxPath: string | undefined;
  #paxSize: number | undefined;
  /** The entry whose data is streaming, the bytes of data and padding still to come. */
  #entry: ArchiveEntry | null | undefined;
  #remaining = 0;
  #dataLeft = 0;
  #content: Uint8Array[] | undefined;
  #ended = false;

  constructor(options: {
    collect?: (name: string) => boolean;
    onContent?: (entry: ArchiveEntry, content: Uint8Array) => Promise<void> | void;
  } = {}) {
    this.#collect = options.collect ?? (() => false);
    this.#onContent = options.onContent ?? (() => {});
  }

  /** The pieces of `chunk`, in order. */
  async push(chunk: Uint8Array): Promise<ArchivePiece[]> {
    const pieces: ArchivePiece[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#ended) {
        // Trailing zero blocks after the end marker.
        pieces.push({ entry: null, bytes: chunk.subarray(at) });
        break;
      }
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - at);
        const bytes = chunk.subarray(at, at + take);
        at += take;
        this.#remaining -= take;
        await this.#data(bytes, pieces);
        continue;
      }
      const take = Math.min(BLOCK - this.#headerFill, chunk.length - at);
      this.#header.set(chunk.subarray(at, at + take), this.#headerFill);
      this.#headerFill += take;
      at += take;
      if (this.#headerFill === BLOCK) {
        const header = this.#header;
        this.#header = new Uint8Array(BLOCK);
        this.#headerFill = 0;
        this.#parseHeader(header, pieces);
      }
    }
    return pieces;
  }

  #parseHeader(header: Uint8Array, pieces: ArchivePiece[]): void {
    if (header.every((b) => b === 0)) {
      this.#ended = true;
      pieces.push({ entry: null, bytes: header });
      return;
    }
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156]);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x" || type === "L") {
      this.#meta.push(header);
      this.#metaKind = type === "x" ? "pax" : "longname";
      this.#metaData = [];
      this.#entry = undefined;
      this.#remaining = padded;
      this.#dataLeft = size;
      return;
    }
    const name = this.#longName ?? this.#paxPath ?? headerName(header);
    const entry: ArchiveEntry = { name, size: this.#paxSize ?? size };
    this.#longName = this.#paxPath = this.#paxSize = undefined;
    for (const bytes of this.#meta) pieces.push({ entry, bytes });
    this.#meta = [];
    pieces.push({ entry, bytes: header });
    this.#entry = entry;
    this.#remaining = Math.ceil(entry.size / BLOCK) * BLOCK;
    this.#dataLeft = entry.size;
    this.#content = this.#collect(name) && entry.size <= MAX_INDEXED_BYTES ? [] : undefined;
    if (this.#remaining === 0) this.#finishEntry();
  }

  async #data(bytes: Uint8Array, pieces: ArchivePiece[]): Promise<void> {
    const data = bytes.subarray(0, Math.min(bytes.length, this.#dataLeft));
    this.#dataLeft -= data.length;
    if (this.#entry === undefined) {
      // Data of a meta header: kept whole, it travels with the next entry.
      this.#meta.push(bytes);
      this.#metaData.push(data);
      if (this.#remaining === 0) this.#finishMeta();
      return;
    }
    pieces.push({ entry: this.#entry, bytes });
    this.#content?.push(data);
    if (this.#remaining === 0) {
      const entry = this.#entry;
      const content = this.#content;
      this.#finishEntry();
      if (entry && content) await this.#onContent(entry, concat(content));
    }
  }

  #finishMeta(): void {
    const text = new TextDecoder().decode(concat(this.#metaData));
    if (this.#metaKind === "longname") this.#longName = text.replace(/\0+$/, "");
    else {
      for (const record of parsePax(text)) {
        if (record.key === "path") this.#paxPath = record.value;
        if (record.key === "size") this.#paxSize = Number(record.value);
      }
    }
  }

  #finishEntry(): void {
    this.#entry = undefined;
    this.#content = undefined;
  }
}

/** Name of a ustar header: `prefix/name`. */
function headerName(header: Uint8Array): string {
  const name = cString(header.subarray(0, 100));
  const ustar = cString(header.subarray(257, 263)).startsWith("ustar");
  const prefix = ustar ? cString(header.subarray(345, 500)) : "";
  return prefix ? `${prefix}/${name}` : name;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** A tar number field: octal text, or base-256 when the high bit of the first byte is set. */
function octal(field: Uint8Array): number {
  if (field[0] & 0x80) {
    let value = field[0] & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const text = cString(field).trim();
  return text === "" ? 0 : parseInt(text, 8);
}

/** PAX records: `<length> <key>=<value>\n`. */
function parsePax(text: string): { key: string; value: string }[] {
  const records: { key: string; value: string }[] = [];
  for (const line of text.split("\n")) {
    const match = line.match(/^\d+ ([^=]+)=(.*)$/s);
    if (match) records.push({ key: match[1], value: match[2] });
  }
  return records;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** What the archive says about the image, learned as it streams. */
export class ArchiveIndex {
  /** Layer position by legacy directory name. */
  readonly #legacyDirs = new Map<string, number>();
  /** Layer positions by blob digest, from a manifest of this image (compressed layers). */
  readonly #blobPositions = new Map<string, number[]>();
  /** Digests of config blobs whose diff IDs are this image's. */
  readonly #configs = new Set<string>();
  /** Manifests seen before their config: config digest → layer digests. */
  readonly #manifests = new Map<string, string[]>();
  /** The image config's digest named by `manifest.json` (`sha256:<hex>`), once seen. */
  configDigest: string | undefined;
  /** The references `manifest.json` tags the image with, once seen. */
  repoTags: string[] = [];

  /** @param chains the image's chain IDs, bottom layer first (see `chainIds`) */
  constructor(readonly diffIds: readonly string[], readonly chains: readonly string[]) {}

  /** Entries whose content `learn` needs (blobs: only small ones are gathered, see TarSplitter). */
  wants(name: string): boolean {
    return name === "manifest.json" || /^[0-9a-f]{64}\/json$/.test(name) ||
      /^blobs\/sha256\/[0-9a-f]{64}$/.test(name);
  }

  /** Reads a wanted entry's content. */
  async learn(entry: ArchiveEntry, content: Uint8Array): Promise<void> {
    const text = new TextDecoder().decode(content);
    if (entry.name === "manifest.json") {
      try {
        const [manifest] = JSON.parse(text) as { Config?: string; RepoTags?: string[] }[];
        const hex = manifest?.Config?.match(/([0-9a-f]{64})(\.json)?$/)?.[1];
        if (hex) this.configDigest = `sha256:${hex}`;
        this.repoTags = manifest?.RepoTags ?? [];
      } catch {
        // Not the manifest we know: the image is then checked on the host instead.
      }
      return;
    }
    if (entry.name.startsWith("blobs/")) return this.#learnBlob(entry.name.slice(-64), content);
    const dir = entry.name.slice(0, 64);
    const position = await legacyLayerPosition(text, dir, this.chains);
    if (position !== undefined) this.#legacyDirs.set(dir, position);
  }

  /** A small blob: this image's config, or a manifest naming its layers, or anything else. */
  #learnBlob(hex: string, content: Uint8Array): void {
    if (content[0] !== 0x7b) return; // `{`: layers are tars, never JSON
    let json: {
      config?: { digest?: unknown };
      layers?: { digest?: unknown }[];
      rootfs?: { diff_ids?: unknown };
    };
    try {
      json = JSON.parse(new TextDecoder().decode(content));
    } catch {
      return;
    }
    const diffIds = json.rootfs?.diff_ids;
    if (
      Array.isArray(diffIds) && diffIds.length === this.diffIds.length &&
      diffIds.every((diffId, i) => diffId === this.diffIds[i])
    ) {
      this.#configs.add(`sha256:${hex}`);
    } else if (typeof json.config?.digest === "string" && Array.isArray(json.layers)) {
      const layers = json.layers.map((layer) => String(layer?.digest));
      if (layers.length === this.diffIds.length) this.#manifests.set(json.config.digest, layers);
    }
    for (const [config, layers] of this.#manifests) {
      if (!this.#configs.has(config)) continue;
      this.#manifests.delete(config);
      layers.forEach((digest, i) => {
        this.#blobPositions.set(digest, [...(this.#blobPositions.get(digest) ?? []), i]);
      });
    }
  }

  /** The positions of the layer `entry` holds (several if a layer repeats), or none. */
  layerPositions(entry: ArchiveEntry): number[] {
    const legacy = entry.name.match(/^([0-9a-f]{64})\/layer\.tar$/);
    if (legacy) {
      const position = this.#legacyDirs.get(legacy[1]);
      return position === undefined ? [] : [position];
    }
    const blob = entry.name.match(/^blobs\/sha256\/([0-9a-f]{64})$/);
    if (blob) {
      const digest = `sha256:${blob[1]}`;
      const uncompressed = this.diffIds.flatMap((diffId, i) => diffId === digest ? [i] : []);
      return uncompressed.length > 0 ? uncompressed : this.#blobPositions.get(digest) ?? [];
    }
    return [];
  }

  /** Whether a host holding the layer chains `held` can be sent the archive without `entry`. */
  canSkip(entry: ArchiveEntry, held: ReadonlySet<string>): boolean {
    const positions = this.layerPositions(entry);
    return positions.length > 0 && positions.every((i) => held.has(this.chains[i]));
  }
}
