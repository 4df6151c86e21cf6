import { assertEquals, assertRejects } from "../support/assert.ts";
import { forEachFrame, TruncatedFrameError } from "../../src/base/framed_stream.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

/** A stream of `text`'s bytes cut into chunks of `size` (frames split across reads). */
function chunked(text: string, size: number): ReadableStream<Uint8Array> {
  const all = bytes(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= all.length) return controller.close();
      controller.enqueue(all.slice(at, at += size));
    },
  });
}

Deno.test("forEachFrame hands each part's bytes in order, whatever the chunking, empty parts too", async () => {
  const framed = "0 5\nhello1 0\n2 11\nhello\nworld";
  for (const size of [1, 3, 7, 1000]) {
    const parts: [string, string][] = [];
    await forEachFrame(chunked(framed, size), async (name, body) => {
      parts.push([name, await new Response(body).text()]);
    });
    assertEquals(parts, [["0", "hello"], ["1", ""], ["2", "hello\nworld"]], `chunks of ${size}`);
  }
});

Deno.test("forEachFrame skips what a handler leaves unread of its part", async () => {
  const parts: string[] = [];
  await forEachFrame(chunked("a 6\nskipmeb 2\nok", 4), async (name, body) => {
    if (name === "a") await body.cancel();
    else parts.push(await new Response(body).text());
  });
  assertEquals(parts, ["ok"]);
});

Deno.test("forEachFrame rejects a stream that ends inside a part", async () => {
  const error = await assertRejects(
    () =>
      forEachFrame(chunked("a 10\nshort", 4), async (_name, body) => {
        await new Response(body).text().catch(() => "");
      }),
    TruncatedFrameError,
  );
  assertEquals(error.part, "a");
});
