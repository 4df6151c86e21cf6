/**
 * One host's peer config dirs read in one command (one SSH channel per host, whatever the
 * number of peers: a channel per peer gave "(SSH) Channel open failure" at 1,000 peers), as one
 * tar stream split into one archive per peer as it streams.
 *
 * The host archives the dirs one after the other (`find` walks each in turn), so a peer's
 * entries are contiguous: its archive is handed to the collector while the stream flows, one
 * peer at a time, and ends (two zero blocks) when the next peer's first entry arrives. Memory
 * holds one chunk, never a peer's archive.
 */
import type { ConfigCollector } from "../../engine/runtime.ts";
import { TarSplitter } from "./image_archive.ts";

/**
 * The host side: reads dir names (relative to `~/peer-config`, one a line) on stdin and writes
 * one tar of their regular files and directories (a peer's symlinks, FIFOs and devices are left
 * out), entries named `<dir>/…`. A dir that does not exist (its peer never started) is skipped.
 */
export const CONFIG_ARCHIVE_SCRIPT = "cd && cd peer-config 2>/dev/null || exit 0; " +
  'while IFS= read -r d; do [ -d "$d" ] && find "$d" \\( -type f -o -type d \\) -print0; done ' +
  "| tar --null --no-recursion -T - -cf -";

/** The end of a tar archive: two zero blocks. */
const END_OF_ARCHIVE = new Uint8Array(1024);

/**
 * Splits `archive` (entries `<dir>/…`, each dir's entries contiguous) into one archive per dir
 * of `peerOfDir`, each handed to `collect` as it streams (entries keep their `<dir>/` prefix: one
 * top-level directory per archive). Entries of a dir not in `peerOfDir` are dropped. A collector
 * that stops reading (a size bound) has the rest of its peer's entries dropped. Reads `archive`
 * to its end; an abort of `signal` stops it.
 */
export async function splitConfigArchive(
  archive: ReadableStream<Uint8Array>,
  peerOfDir: ReadonlyMap<string, string>,
  collect: ConfigCollector,
  signal: AbortSignal,
): Promise<void> {
  const splitter = new TarSplitter();
  let current:
    | { dir: string; writer: WritableStreamDefaultWriter<Uint8Array>; done: Promise<void> }
    | undefined;
  let dropping = false;
  const finish = async () => {
    if (!current) return;
    const { writer, done } = current;
    current = undefined;
    if (!dropping) await writer.write(END_OF_ARCHIVE).catch(() => {});
    await writer.close().catch(() => {});
    await done;
  };
  const reader = archive.getReader();
  const abort = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", abort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal.aborted) break;
      for (const piece of await splitter.push(value)) {
        if (piece.entry === null) continue; // the host's end blocks: each archive gets its own
        const dir = piece.entry.name.replace(/^\.\//, "").split("/")[0];
        if (dir !== current?.dir) {
          await finish();
          const peer = peerOfDir.get(dir);
          if (peer === undefined) continue;
          const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
          const writer = writable.getWriter();
          // A collector that returns without reading to the end (or cancelling) must not
          // leave a write waiting forever: its end aborts the stream.
          const done = collect(peer, readable).finally(() => writer.abort().catch(() => {}));
          current = { dir, writer, done };
          dropping = false;
        }
        if (!current || dropping) continue;
        try {
          await current.writer.write(piece.bytes);
        } catch {
          dropping = true; // the collector cancelled: it has what it keeps
        }
      }
    }
  } finally {
    signal.removeEventListener("abort", abort);
    await finish();
    reader.releaseLock();
  }
}
