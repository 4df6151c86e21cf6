/**
 * Several byte streams sent as one: each part is a header line `<name> <size>\n` followed by
 * exactly `<size>` bytes. A host sends every peer config dir of a run in one command this way
 * (one SSH channel instead of one per peer: on a loaded test bed each channel's login cost
 * 0.4–1.3 s, 20 dirs at 8 at a time 5.8 s of a 28 s run).
 */

/** The framed stream ended inside a part or a header. */
export class TruncatedFrameError extends Error {
  constructor(readonly part: string) {
    super(`the framed stream ended inside ${part}`);
    this.name = "TruncatedFrameError";
  }
}

const NEWLINE = 0x0a;
/** A header line longer than this is not one (a stream that is not framed). */
const MAX_HEADER_BYTES = 4096;

/**
 * Hands each part of `stream` to `handle` in order, as a stream of its bytes; a part `handle`
 * does not read to its end is skipped over. Resolves at the end of `stream`, after the last
 * part's `handle`; rejects with `TruncatedFrameError` if it ends inside a part.
 */
export async function forEachFrame(
  stream: ReadableStream<Uint8Array>,
  handle: (name: string, body: ReadableStream<Uint8Array>) => Promise<void>,
): Promise<void> {
  const reader = stream.getReader();
  /** Bytes read from `stream` and not handed out yet. */
  let pending = new Uint8Array(0);
  /** Reads more into `pending`; false at the end of `stream`. */
  const fill = async (): Promise<boolean> => {
    const { done, value } = await reader.read();
    if (done) return false;
    const joined = new Uint8Array(pending.length + value.length);
    joined.set(pending);
    joined.set(value, pending.length);
    pending = joined;
    return true;
  };
  try {
    for (;;) {
      let end = pending.indexOf(NEWLINE);
      while (end < 0) {
        if (pending.length > MAX_HEADER_BYTES) throw new TruncatedFrameError("a header");
        if (!await fill()) {
          if (pending.length === 0) return;
          throw new TruncatedFrameError("a header");
        }
        end = pending.indexOf(NEWLINE);
      }
      const header = new TextDecoder().decode(pending.subarray(0, end));
      pending = pending.subarray(end + 1);
      const match = /^(\S+) (\d+)$/.exec(header);
      if (!match) throw new Error(`not a frame header: ${JSON.stringify(header.slice(0, 80))}`);
      const [, name] = match;
      let left = Number(match[2]);
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (left === 0) return controller.close();
          if (pending.length === 0 && !await fill()) {
            return controller.error(new TruncatedFrameError(name));
          }
          const chunk = pending.subarray(0, Math.min(left, pending.length));
          pending = pending.subarray(chunk.length);
          left -= chunk.length;
          controller.enqueue(chunk.slice());
          if (left === 0) controller.close();
        },
      }, { highWaterMark: 0 });
      await handle(name, body);
      // What `handle` left unread of its part.
      while (left > 0) {
        if (pending.length === 0 && !await fill()) throw new TruncatedFrameError(name);
        const skip = Math.min(left, pending.length);
        pending = pending.subarray(skip);
        left -= skip;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
