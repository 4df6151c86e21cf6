/**
 * A container's output read as it streams from `/containers/{id}/logs?timestamps=1`: the
 * engine's multiplexed frames (an 8-byte header — stream 1 stdout or 2 stderr, 3 zero bytes, a
 * big-endian length — then the payload) turned into lines with the engine's timestamp of each,
 * in the order the engine sent them (its log driver's order: stdout and stderr as written). One
 * frame at a time is held, never the whole output. A TTY container's output has no frames: it
 * is read as stdout.
 */
import type { OutputLine } from "../../engine/runtime.ts";

const HEADER = 8;
/** A line of `docker logs --timestamps`: RFC 3339 with nanoseconds, a space, the text. */
const TIMESTAMP = /^(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)) /;

/** Turns the chunks of one container's log stream into lines; `end()` gives what was left. */
export class OutputLineSplitter {
  #pending: Uint8Array = new Uint8Array(0);
  /** Undefined until the first bytes show whether the stream is framed. */
  #framed: boolean | undefined;
  /** Per stream (1 stdout, 2 stderr): the decoder and the line begun, with its timestamp. */
  readonly #streams = new Map<number, { decoder: TextDecoder; at: string; text: string }>();

  /** The lines completed by `chunk`, in order. */
  push(chunk: Uint8Array): OutputLine[] {
    const bytes = this.#pending.length === 0 ? chunk : concat(this.#pending, chunk);
    const lines: OutputLine[] = [];
    this.#framed ??= bytes.length >= 4 ? looksFramed(bytes) : undefined;
    if (this.#framed === undefined) {
      this.#pending = bytes;
      return lines;
    }
    if (!this.#framed) {
      this.#text(1, bytes, lines);
      this.#pending = new Uint8Array(0);
      return lines;
    }
    let at = 0;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    while (at + HEADER <= bytes.length) {
      const length = view.getUint32(at + 4);
      if (at + HEADER + length > bytes.length) break;
      this.#text(bytes[at] === 2 ? 2 : 1, bytes.subarray(at + HEADER, at + HEADER + length), lines);
      at += HEADER + length;
    }
    // Copied: the caller's chunk may be reused once push returns.
    this.#pending = bytes.slice(at);
    return lines;
  }

  /** Lines left unfinished when the stream ended (no final newline; a cut last frame). */
  end(): OutputLine[] {
    const lines: OutputLine[] = [];
    if (this.#pending.length > 0) {
      const rest = this.#framed === false || this.#framed === undefined
        ? this.#pending
        : this.#pending.subarray(Math.min(HEADER, this.#pending.length));
      this.#pending = new Uint8Array(0);
      this.#text(1, rest, lines);
    }
    for (const [number, stream] of this.#streams) {
      stream.text += stream.decoder.decode();
      if (stream.text !== "") lines.push({ at: stream.at, text: stream.text });
      this.#streams.delete(number);
    }
    return lines;
  }

  /**
   * One frame's text: the engine prefixes each log message with its timestamp; a message
   * without a newline (a long line the driver split) is continued by the next one.
   */
  #text(number: number, payload: Uint8Array, lines: OutputLine[]): void {
    let stream = this.#streams.get(number);
    if (!stream) {
      stream = { decoder: new TextDecoder(), at: "", text: "" };
      this.#streams.set(number, stream);
    }
    let text = stream.decoder.decode(payload, { stream: true });
    if (this.#framed) {
      // A frame is one log message: the engine's timestamp, a space, the message.
      const stamp = TIMESTAMP.exec(text);
      if (stamp) {
        if (stream.text === "") stream.at = stamp[1];
        text = text.slice(stamp[0].length);
      }
    }
    let from = 0;
    for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", from)) {
      let line = (stream.text + text.slice(from, end)).replace(/\r$/, "");
      let at = stream.at;
      // Unframed output (a TTY) has no message boundaries: the stamp begins each whole line.
      const stamp = this.#framed ? null : TIMESTAMP.exec(line);
      if (stamp) {
        at = stamp[1];
        line = line.slice(stamp[0].length);
      }
      lines.push({ at, text: line });
      stream.text = "";
      stream.at = "";
      from = end + 1;
    }
    stream.text += text.slice(from);
  }
}

/** Whether bytes begin like a multiplexed frame header (stream 0–2, then three zero bytes). */
function looksFramed(bytes: Uint8Array): boolean {
  return bytes[0] <= 2 && bytes[1] === 0 && bytes[2] === 0 && bytes[3] === 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
