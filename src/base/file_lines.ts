/**
 * A text file's lines read synchronously a chunk at a time, so a file of any size costs one chunk
 * and one line of memory: the run record's end-of-run reports stream `events.jsonl` through it
 * instead of keeping every event of the run (src/record/run_record.ts).
 */

/** Bytes read at a time. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Each line of the file at `path`, without its `\n`, in order; a last line without `\n` is
 * yielded too (`chunkBytes`: bytes read at a time, default 64 KiB). The file is closed when the iteration ends, completes or throws.
 * @throws Deno.errors.NotFound and the like, when the file cannot be opened or read
 */
export function* fileLines(path: string, chunkBytes = CHUNK_BYTES): Generator<string> {
  using file = Deno.openSync(path, { read: true });
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(chunkBytes);
  let rest = "";
  for (;;) {
    const read = file.readSync(buffer);
    if (read === null) break;
    const text = rest + decoder.decode(buffer.subarray(0, read), { stream: true });
    const lines = text.split("\n");
    rest = lines.pop()!;
    yield* lines;
  }
  rest += decoder.decode();
  if (rest !== "") yield rest;
}
