/**
 * Image shipping, all through the Engine API: a pull of the config's `images` by this machine's
 * engine, then for each image ONE archive streamed (teed) into a load (`POST /images/load`) on
 * every host that needs it (a peer placed there runs it) and lacks it or has a different image
 * ID — no temp files, no docker CLI, hosts fed at once, the slowest setting the pace, a failing
 * host dropped without stalling the others. The archive is built from the local engine's layer
 * store with only the layers some host lacks (store_archive.ts), or, when that store cannot be
 * read, is the local engine's export (`GET /images/get`, what `docker save` writes).
 *
 * The method per host comes from its probe (shipping_choice.ts), not from a refusal: a host
 * whose engine keeps the classic store is sent the archive without the layers it holds; one with
 * the containerd store, which refuses such an archive, the whole image. Progress goes out as
 * `image-transfer` events, and what each shipment did as one `image-shipped` (or
 * `image-skipped`) event.
 */
import { abortable, deadline } from "../../base/async.ts";
import type { UnstampedEvent } from "../../engine/events.ts";
import type { ImageInfo } from "./docker.ts";
import { type DockerEngine, EngineApiError } from "./engine_api.ts";
import {
  type ArchiveEntry,
  ArchiveIndex,
  type ArchivePiece,
  chainIds,
  TarSplitter,
} from "./image_archive.ts";
import { errorMessage } from "../../base/errors.ts";
import type { ImageStore } from "./image_store.ts";
import { LayerStore } from "./layer_store.ts";
import { type StoreArchive, storeArchive } from "./store_archive.ts";
import { chooseShipping } from "./shipping_choice.ts";

/** Images the run needs that this machine does not have and could not pull. */
export class ImageMissingError extends Error {
  constructor(
    /** The missing image references. */
    readonly images: string[],
    /** Why each pull failed, by image. */
    readonly pullErrors: Map<string, string>,
  ) {
    super(
      images.map((image) =>
        `image ${image} is not on this machine and \`docker pull\` failed ` +
        `(${pullErrors.get(image) ?? "unknown error"}); build it first: docker build -t ${image} .`
      ).join("\n"),
    );
    this.name = "ImageMissingError";
  }
}

/** Shipping failed for some (image, host) pairs; the others may have succeeded. */
export class ImageShippingError extends Error {
  constructor(readonly failures: { image: string; host: string; message: string }[]) {
    super(
      failures.map((f) => `${f.host}: shipping ${f.image} failed: ${f.message}`).join("\n"),
    );
    this.name = "ImageShippingError";
  }
}

/** A host images are shipped to. */
export interface ShipTarget {
  /** Display name (events, messages). */
  name: string;
  engine: DockerEngine;
}

/** On-the-wire compression: gzip on this machine; the engine's load detects gzip itself. */
export type Compression = "none" | "gzip";

/**
 * Default: none. Measured by bench/image_shipping_bench.ts on 2026-11-28 (107 MB of random bytes
 * to testbed host B): gzip on the wire took 3.53× as long as without it. The single-threaded
 * `gzip -1` (~100-150 MB/s on our machines) is slower than a fast link, and compressed image
 * layers barely shrink; choose gzip for slow links and compressible images.
 */
export const DEFAULT_COMPRESSION: Compression = "none";

/** Bytes buffered per host between the archive and the host's load. */
const BUFFER_BYTES = 4 << 20;

export interface PullOptions {
  images: string[];
  /** The local engine. */
  local: DockerEngine;
  emit: (event: UnstampedEvent) => void;
  signal: AbortSignal;
}

/**
 * A pull of every image by this machine's engine, in parallel. A failed pull of an image that is
 * here anyway is a warning (offline, or built locally).
 * @returns every image's local ID and size
 * @throws ImageMissingError naming every image that is neither here nor pullable
 */
export async function pullImages(options: PullOptions): Promise<Map<string, ImageInfo>> {
  const { images, local, emit, signal } = options;
  const pullErrors = new Map<string, string>();
  await Promise.all(images.map(async (image) => {
    emit({ type: "image-pull", image, state: "started" });
    try {
      await local.pull(image, signal);
      emit({ type: "image-pull", image, state: "done" });
    } catch (error) {
      signal.throwIfAborted();
      pullErrors.set(image, pullFailure(error));
    }
  }));
  const found = await local.images(images, signal);
  const missing = images.filter((image) => found.get(image) == null);
  for (const [image, detail] of pullErrors) {
    // An image built on this machine is the common case: its pull fails, the local copy serves.
    if (found.get(image) == null) emit({ type: "image-pull", image, state: "failed", detail });
    else {
      emit({
        type: "image-pull",
        image,
        state: "done",
        detail: "not pulled, using the local image",
      });
      emit({
        type: "warning",
        message: `could not pull ${image} (${detail}); using the local image`,
      });
    }
  }
  if (missing.length > 0) throw new ImageMissingError(missing, pullErrors);
  return new Map(images.map((image) => [image, found.get(image)!]));
}

export interface ShipOptions {
  /** Images to ship, with their local ID and size (from `pullImages`). */
  images: Map<string, ImageInfo>;
  /** The local engine (its layer store, or its export). */
  local: DockerEngine;
  targets: ShipTarget[];
  /**
   * Which targets need each image, by target name (the hosts its peers are placed on); an
   * image it does not list goes nowhere. Default: every target needs every image.
   */
  destinations?: Map<string, string[]>;
  emit: (event: UnstampedEvent) => void;
  /** Aborting ends every export and load; nothing partial is left (the engine discards it). */
  signal: AbortSignal;
  /** Default: DEFAULT_COMPRESSION. */
  compression?: Compression;
  /** Minimum ms between two progress events of one (image, host). Default: 100. */
  progressIntervalMs?: number;
  /** A host that accepts no data for this long is dropped, ms. Default: 60 000. */
  stallTimeoutMs?: number;
  /**
   * Build archives from the local engine's layer store when it can be read (layer_store.ts);
   * false: always the engine's export. Default: true.
   */
  layerStore?: boolean;
}

/** One image shipped to one host. */
export interface Shipment {
  image: string;
  host: string;
  /** What was sent to the host (less than the archive when it held some layers). */
  bytes: number;
  /** The bytes of the image's whole archive, every layer in it: what `bytes` compares with. */
  archive: number;
  /** From the start of the image's shipment to its end, retries included. */
  ms: number;
  /** The image's layers, and how many of them the host held and was not sent. */
  layers: number;
  held: number;
  /** Why the host was sent the whole image though it might hold some layers; none if it wasn't. */
  whole?: string;
}

/** What shipping did, per image: hosts that received it and hosts that already had it. */
export interface ShipReport {
  shipped: Shipment[];
  skipped: { image: string; host: string }[];
}

/**
 * What a host holds: the images asked about, its image store (null: it could not say), and the
 * chain IDs of every layer it has (asked only for an image it holds no build of: two requests one
 * after the other, and an inspect per image on the host).
 */
interface HostHoldings {
  images: Map<string, ImageInfo | null>;
  store: ImageStore | null;
  chains: () => Promise<Set<string>>;
}

/**
 * Ships every image to every target that needs it (`destinations`) and lacks it (missing or
 * different ID). Images one after the other, hosts of one image at once. A host whose store takes
 * a partial archive (classic) is sent the archive without the layers it already holds (see
 * image_archive.ts); if its engine refuses that anyway, it is sent the whole image. A host with
 * the containerd store is sent the whole image at once. Each shipment ends in an
 * `image-shipped` event saying what was sent and why.
 * @throws ImageShippingError after trying everything, if any (image, host) failed
 */
export async function shipImages(options: ShipOptions): Promise<ShipReport> {
  const { images, destinations, emit, signal } = options;
  const report: ShipReport = { shipped: [], skipped: [] };
  const names = [...images.keys()];
  // A host no image is destined for is not even asked.
  const targets = destinations
    ? options.targets.filter((t) => names.some((n) => destinations.get(n)?.includes(t.name)))
    : options.targets;
  if (names.length === 0 || targets.length === 0) return report;
  // Every host is asked at once, each question on a kept-alive socket of its own: the images
  // and the store; every layer it holds only if an image needs it (a host holding the image, or
  // another build of it, is not made to inspect every image it has).
  const asked = targets.map((target) => ({
    images: target.engine.images(names, signal),
    // Never rejects (an abort is seen where the images are awaited), so nothing is left unheard
    // when a host's images fail first.
    store: target.engine.imageStore(signal).catch((error) => {
      if (!signal.aborted) {
        emit({
          type: "trace",
          message: `ship → ${target.name}: ${errorMessage(error)}; taken as the classic store`,
        });
      }
      return null;
    }),
  }));
  const layers: (Promise<Set<string>> | undefined)[] = targets.map(() => undefined);
  const holdings = Promise.all(
    asked.map(async (question, i): Promise<HostHoldings> => ({
      images: await question.images,
      store: await question.store,
      chains: () => layers[i] ??= layerChains(targets[i], signal),
    })),
  );
  holdings.catch(() => {}); // awaited in teeImage
  try {
    const store = options.layerStore === false ? null : await openStore(options);
    const failures: { image: string; host: string; message: string }[] = [];
    for (const [image, info] of images) {
      const wanted = destinations?.get(image);
      const needy = holdings.then((held) =>
        Promise.all(targets.map(async (target, i): Promise<Destination[]> => {
          if (destinations && !wanted?.includes(target.name)) return [];
          const choice = chooseShipping({
            host: target.name,
            image: info,
            there: held[i].images.get(image) ?? null,
            store: held[i].store,
          });
          switch (choice.method) {
            case "skip":
              report.skipped.push({ image, host: target.name });
              emit({ type: "image-skipped", image, host: target.name, reason: choice.reason });
              return [];
            case "whole":
              return [{ target, chains: new Set<string>(), whole: choice.why }];
            case "partial":
              return [{
                target,
                chains: choice.from === "build"
                  ? new Set(await chainIds(choice.layers))
                  : await held[i].chains(),
              }];
          }
        })).then((each) => each.flat())
      );
      // Awaited in teeImage, which may end first (aborted before it asks): a rejection left
      // unhandled there ended tm with a stack trace instead of its verdict (a run whose Redis
      // lease failed while its image was being looked at, about one run in four under load).
      needy.catch(() => {});
      const started = performance.now();
      const results = await teeImage(image, info, needy, options, store);
      const ms = Math.round(performance.now() - started);
      for (const result of results) {
        if (result.error !== undefined) {
          failures.push({ image, host: result.host, message: result.error });
          continue;
        }
        const shipment: Shipment = {
          image,
          host: result.host,
          bytes: result.bytes,
          archive: result.archive,
          ms,
          layers: info.layers.length,
          held: result.held,
          ...(result.whole !== undefined ? { whole: result.whole } : {}),
        };
        report.shipped.push(shipment);
        emit({
          type: "image-shipped",
          image,
          host: result.host,
          sent: result.bytes,
          total: result.archive,
          layers: shipment.layers,
          held: shipment.held,
          ms,
          ...(result.whole !== undefined ? { whole: result.whole } : {}),
        });
      }
    }
    signal.throwIfAborted();
    if (failures.length > 0) throw new ImageShippingError(failures);
    return report;
  } finally {
    // Nothing outlives shipping, not even a question no image needed the answer to.
    await Promise.all(layers);
  }
}

/** The local layer store, or null (traced) when it cannot be read and the export serves. */
async function openStore(options: ShipOptions): Promise<LayerStore | null> {
  try {
    return await LayerStore.open(options.local, options.signal);
  } catch (error) {
    options.signal.throwIfAborted();
    options.emit({
      type: "trace",
      message: `ship: ${errorMessage(error)}; exporting through the engine`,
    });
    return null;
  }
}

/** The chain IDs of every layer a host holds (none known if it cannot say). */
async function layerChains(target: ShipTarget, signal: AbortSignal): Promise<Set<string>> {
  const layers = await target.engine.imageLayers(signal).catch(() => [] as string[][]);
  const held = new Set<string>();
  for (const diffIds of layers) for (const chain of await chainIds(diffIds)) held.add(chain);
  return held;
}

/**
 * A host an image goes to, with the layer chains it holds (empty: send every layer), and why it
 * is sent the whole image regardless, if it is.
 */
interface Destination {
  target: ShipTarget;
  chains: ReadonlySet<string>;
  whole?: string;
}

interface Sink {
  target: ShipTarget;
  chains: ReadonlySet<string>;
  whole?: string;
  /** Ends this host's load (its request) when the host fails. */
  stop: AbortController;
  /** Writes into a per-host buffer the load's request body reads (reading and sending overlap). */
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** The host's load: settles once the engine answered (or the request broke). */
  loading: Promise<void>;
  /** Archive bytes read so far when this host was last written to (progress). */
  bytes: number;
  /** Bytes actually sent. */
  sent: number;
  lastEmit: number;
  /** The entry the last piece belonged to, and whether it is left out for this host. */
  entry: ArchiveEntry | null | undefined;
  leaving: boolean;
  /** Layers left out because the host holds them. */
  leftOut: number;
  /** The engine read the archive and refused it (its answer, not a broken transfer). */
  refused?: boolean;
  error?: string;
}

type TeeResult = {
  host: string;
  bytes: number;
  /** The bytes of the image's whole archive (every layer). */
  archive: number;
  /** Layers the host held and was not sent. */
  held: number;
  whole?: string;
  error?: string;
};

/**
 * One archive of `image` teed into a load per destination, each without the layers that
 * destination holds. From `store`, the archive carries only the layers some destination lacks;
 * without it, the local engine's export starts before the destinations are known (they come
 * from asking the hosts) and is cancelled if none needs the image. A host whose engine refuses
 * the archive built from the store, or that was being sent one when the store failed, is sent
 * the export; one that refuses the export without the layers it holds, the whole image.
 */
async function teeImage(
  image: string,
  info: ImageInfo,
  destinations: Promise<Destination[]>,
  options: ShipOptions,
  store: LayerStore | null,
): Promise<TeeResult[]> {
  const { local, emit, signal } = options;
  const interval = options.progressIntervalMs ?? 100;
  const stallMs = options.stallTimeoutMs ?? 60_000;
  const sinks: Sink[] = [];
  /** Ends the export and every load: on abort, or when this fails before the end. */
  const stopAll = new AbortController();
  const stopped = AbortSignal.any([signal, stopAll.signal]);
  let source: ReadableStream<Uint8Array> | undefined;
  let finished = false;
  try {
    signal.throwIfAborted();
    const chains = await chainIds(info.layers);
    let exported: Promise<ReadableStream<Uint8Array>> | undefined;
    let archive: StoreArchive | undefined;
    if (store && taggable(image)) {
      const targets = await destinations;
      try {
        archive = await storeArchive(
          store,
          tagged(image),
          info,
          chains,
          (i) => targets.some((t) => !t.chains.has(chains[i])),
        );
      } catch (error) {
        signal.throwIfAborted();
        emit({
          type: "trace",
          message: `ship ${image}: ${errorMessage(error)}; exporting through the engine`,
        });
      }
    }
    // Asked before the destinations are known: the engine starts writing the archive while the
    // hosts say what they hold.
    if (!archive) exported = local.exportImages([image], stopped);
    exported?.catch(() => {}); // awaited below
    const targets = await destinations;
    if (targets.length === 0) {
      await (await exported?.catch(() => undefined))?.cancel().catch(() => {});
      await archive?.stream.cancel().catch(() => {});
      finished = true;
      return [];
    }
    const raw = archive?.stream ?? await exported!;
    /** Layers the archive does not carry at all: every destination holds them. */
    const omitted = archive ? info.layers.length - archive.carried.size : 0;
    const index = new ArchiveIndex(info.layers, chains);
    const splitter = new TarSplitter({
      collect: (name) => index.wants(name),
      onContent: (entry, content) => index.learn(entry, content),
    });
    // Compression hides the archive's entries from the filter: every layer is sent.
    const gzipped = (options.compression ?? DEFAULT_COMPRESSION) === "gzip";
    let rawBytes = 0;
    const counted = raw.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          rawBytes += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    );
    source = gzipped
      ? counted.pipeThrough(
        new CompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
      )
      : counted;

    const fail = (sink: Sink, message: string) => {
      if (sink.error !== undefined) return;
      sink.error = message;
      sink.stop.abort(new Error(message));
      sink.writer.abort(new Error(message)).catch(() => {});
    };
    for (const { target, chains, whole } of targets) {
      emit({
        type: "image-transfer",
        image,
        host: target.name,
        bytes: 0,
        total: info.size,
        state: "started",
      });
      // Without a buffer each chunk would wait for the host to take the previous one before the
      // next is read from the archive; BUFFER_BYTES per host lets both sides run at once.
      const buffer = new TransformStream<Uint8Array, Uint8Array>(
        undefined,
        new ByteLengthQueuingStrategy({ highWaterMark: BUFFER_BYTES }),
      );
      const stop = new AbortController();
      const sink: Sink = {
        target,
        chains: gzipped ? new Set() : chains,
        whole: gzipped && chains.size > 0 ? "gzip on the wire hides the layers it holds" : whole,
        stop,
        writer: buffer.writable.getWriter(),
        loading: Promise.resolve(),
        bytes: 0,
        sent: 0,
        lastEmit: 0,
        entry: undefined,
        leaving: false,
        leftOut: omitted,
      };
      sink.loading = target.engine.loadImages(
        buffer.readable,
        AbortSignal.any([stopped, stop.signal]),
      ).then(() => {}, (error) => {
        if (signal.aborted) return;
        // The engine's answer (it read the archive and said no), or a transfer that broke.
        const answered = error instanceof EngineApiError && error.status !== null;
        if (answered && sink.error === undefined) sink.refused = true;
        fail(
          sink,
          answered
            ? `the engine refused the archive: ${error.reason}`
            : `the transfer broke off (${errorMessage(error)})`,
        );
      });
      sinks.push(sink);
    }

    /** The layer store failed while the archive streamed (a layer changed under us). */
    let storeFailed = false;
    try {
      for await (const chunk of source) {
        const live = sinks.filter((sink) => sink.error === undefined);
        if (live.length === 0) break;
        const pieces = gzipped ? [] : await splitter.push(chunk);
        await Promise.all(
          live.map((sink) =>
            send(sink, gzipped ? [chunk] : keptParts(sink, chunk, pieces, index), stallMs, signal)
              .catch((error) => {
                signal.throwIfAborted();
                fail(sink, `the transfer broke off (${errorMessage(error)})`);
              })
          ),
        );
        const now = performance.now();
        for (const sink of live) {
          if (sink.error !== undefined) continue;
          sink.bytes = rawBytes;
          if (now - sink.lastEmit >= interval) {
            sink.lastEmit = now;
            emit({
              type: "image-transfer",
              image,
              host: sink.target.name,
              bytes: sink.bytes,
              total: info.size,
              state: "progress",
            });
          }
        }
      }
    } catch (error) {
      signal.throwIfAborted();
      const why = archive
        ? `reading the local layer store failed: ${errorMessage(error)}`
        : `the local engine's export broke off: ${errorMessage(error)}`;
      storeFailed = archive !== undefined;
      for (const sink of sinks) fail(sink, why);
    }
    signal.throwIfAborted();
    // Finish every live load: end its body, wait for the engine's verdict.
    await Promise.all(sinks.map(async (sink) => {
      if (sink.error === undefined) {
        await sink.writer.close().catch((error) => fail(sink, errorMessage(error)));
      }
      await sink.loading;
    }));
    signal.throwIfAborted();
    // The loaded image must be the one we have: the archive's manifest says which image it
    // carried and under which name, and the engine accepted it whole. Without a manifest we
    // could read (gzip on the wire, an unknown layout), the host is asked.
    const carried = index.configDigest === info.id && index.repoTags.includes(tagged(image));
    await Promise.all(
      sinks.filter((s) => s.error === undefined && !carried).map(async (sink) => {
        try {
          const id = (await sink.target.engine.images([image], signal)).get(image)?.id ?? null;
          if (id !== info.id) {
            fail(sink, `after the load the host has ${id ?? "no image"}, expected ${info.id}`);
          }
        } catch (error) {
          fail(sink, errorMessage(error));
        }
      }),
    );
    signal.throwIfAborted();
    // The whole archive's bytes: what was read, and the layers it did not carry.
    const wholeBytes = rawBytes + (archive ? archive.omittedBytes : 0);
    const results: TeeResult[] = [];
    const resend: Destination[] = [];
    for (const sink of sinks) {
      const host = sink.target.name;
      // The engine checks each layer it reads against the config's diff IDs: a store whose
      // files changed, or an engine that wants another layout, refuses the archive built from
      // the store; the engine's export (still without the layers the host holds) follows.
      if (storeFailed || (archive && sink.refused)) {
        const why = storeFailed ? sink.error : `${sink.error}, built from the local layer store`;
        emit({
          type: "trace",
          message: `ship ${image} → ${host}: ${why}; exporting through the engine`,
        });
        resend.push({ target: sink.target, chains: sink.chains, whole: sink.whole });
        continue;
      }
      // Only a load that read the whole reduced archive and said no is retried whole; a stall, a
      // broken link or an aborted load would fail the same way again.
      if (sink.refused && sink.leftOut > 0) {
        emit({
          type: "trace",
          message: `ship ${image} → ${host}: the engine refused the archive without the ` +
            `${sink.leftOut} layer(s) the host holds (${sink.error}); sending the whole image`,
        });
        resend.push({
          target: sink.target,
          chains: new Set(),
          whole: `${host} refused the archive without the ${sink.leftOut} layer(s) it holds`,
        });
        continue;
      }
      if (sink.leftOut > 0) {
        emit({
          type: "trace",
          message: `ship ${image} → ${host}: left out ${sink.leftOut} of ${info.layers.length} ` +
            `layer(s) the host holds; sent ${sink.sent} bytes`,
        });
      }
      emit(
        sink.error === undefined
          ? {
            type: "image-transfer",
            image,
            host,
            bytes: rawBytes,
            total: info.size,
            state: "done",
          }
          : {
            type: "image-transfer",
            image,
            host,
            bytes: sink.bytes,
            total: info.size,
            state: "failed",
            detail: sink.error,
          },
      );
      results.push({
        host,
        bytes: sink.sent,
        archive: wholeBytes,
        held: sink.leftOut,
        ...(sink.whole !== undefined ? { whole: sink.whole } : {}),
        ...(sink.error !== undefined ? { error: sink.error } : {}),
      });
    }
    finished = true;
    if (resend.length > 0) {
      results.push(...await teeImage(image, info, Promise.resolve(resend), options, null));
    }
    return results;
  } finally {
    // Aborted, or failed before the end (e.g. a host could not say what it holds): the export
    // and every load end, and the engines discard what they were sent.
    if (!finished) {
      stopAll.abort(signal.reason ?? new Error("shipping failed"));
      await source?.cancel().catch(() => {});
    }
    await Promise.all(sinks.map((sink) => sink.loading));
  }
}

/** Whether `image` is a name (with or without a tag) an archive's manifest can tag an image with. */
function taggable(image: string): boolean {
  return !image.includes("@") && !/^(sha256:)?[0-9a-f]{64}$/.test(image);
}

/** `image` as docker save's manifest names it: a reference without a tag means `:latest`. */
function tagged(image: string): string {
  const name = image.slice(image.lastIndexOf("/") + 1);
  return name.includes(":") || name.includes("@") ? image : `${image}:latest`;
}

/**
 * The parts of `chunk` a host is sent: every piece but those of layers it holds. The whole
 * chunk when nothing is left out and the pieces are exactly the chunk (the common case: no copy,
 * one write). They are not when a tar header straddles two chunks: the splitter hands the header
 * over whole with the chunk that completes it, so the chunk that begins it must not be sent
 * whole either. Mixing the two sent a header's first bytes twice or not at all: host B's engine
 * refused such an archive ("archive/tar: invalid tar header") and tm sent the whole image.
 */
export function keptParts(
  sink: Pick<Sink, "entry" | "leaving" | "chains" | "leftOut">,
  chunk: Uint8Array,
  pieces: ArchivePiece[],
  index: Pick<ArchiveIndex, "canSkip">,
): Uint8Array[] {
  const kept: Uint8Array[] = [];
  let whole = true;
  let covered = 0;
  for (const piece of pieces) {
    if (piece.entry !== sink.entry) {
      sink.entry = piece.entry;
      sink.leaving = piece.entry !== null && index.canSkip(piece.entry, sink.chains);
      if (piece.entry !== null && sink.leaving) sink.leftOut++;
    }
    if (within(piece.bytes, chunk)) covered += piece.bytes.length;
    if (sink.leaving) whole = false;
    else kept.push(piece.bytes);
  }
  return whole && covered === chunk.length ? [chunk] : kept;
}

/** Whether `view` is a view of `chunk`'s bytes (the splitter's pieces of it are; copies not). */
function within(view: Uint8Array, chunk: Uint8Array): boolean {
  return view.buffer === chunk.buffer && view.byteOffset >= chunk.byteOffset &&
    view.byteOffset + view.length <= chunk.byteOffset + chunk.length;
}

/** Sends parts of the archive to one host. */
async function send(
  sink: Sink,
  parts: Uint8Array[],
  stallMs: number,
  signal: AbortSignal,
): Promise<void> {
  for (const part of parts) {
    if (part.length === 0) continue;
    await write(sink, part, stallMs, signal);
    sink.sent += part.length;
  }
}

/** Writes a chunk, failing if the host accepts nothing for `stallMs` or on abort. */
async function write(
  sink: Sink,
  chunk: Uint8Array,
  stallMs: number,
  signal: AbortSignal,
): Promise<void> {
  const stalled = () => new Error(`the host accepted no data for ${stallMs / 1000} s`);
  await abortable(deadline(sink.writer.write(chunk), stallMs, stalled), signal);
  if (sink.error !== undefined) throw new Error(sink.error);
}

/** Why a pull failed, in the engine's words. */
function pullFailure(error: unknown): string {
  return error instanceof EngineApiError ? error.reason : errorMessage(error);
}
