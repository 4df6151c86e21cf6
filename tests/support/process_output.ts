/**
 * Test support: reading a child process's output line by line, and checking whether a pid
 * still exists.
 */

/** The lines of a byte stream as they arrive (without their `\n`; a last unterminated line too). */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    const complete = buffer.split("\n");
    buffer = complete.pop() ?? "";
    yield* complete;
  }
  if (buffer !== "") yield buffer;
}

/** True while a process with this pid exists (zombies included). */
export function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
