import { assertEquals } from "../support/assert.ts";
import { OutputStream } from "../../src/base/output_stream.ts";

/** A writer that takes at most `chunk` bytes per call and fails with `failures` in turn. */
function writer(options: { chunk?: number; failures?: Error[] } = {}) {
  const received: string[] = [];
  const failures = [...(options.failures ?? [])];
  let calls = 0;
  return {
    received,
    calls: () => calls,
    writeSync(bytes: Uint8Array): number {
      calls++;
      const failure = failures.shift();
      if (failure) throw failure;
      const taken = bytes.subarray(0, options.chunk ?? bytes.length);
      received.push(new TextDecoder().decode(taken));
      return taken.length;
    },
  };
}

Deno.test("OutputStream.write() writes all of a string through short writes", () => {
  const file = writer({ chunk: 3 });
  const stream = new OutputStream("stdout", file);
  assertEquals(stream.write("hello world\n"), true);
  assertEquals(file.received.join(""), "hello world\n");
  assertEquals(stream.gone, undefined);
});

Deno.test("OutputStream.write() returns false once the reader is gone and never writes again", () => {
  const eio = new Error("Input/output error (os error 5)");
  const file = writer({ failures: [eio] });
  const stream = new OutputStream("stdout", file);
  assertEquals(stream.write("lost\n"), false);
  assertEquals(stream.gone, eio);
  assertEquals(stream.write("also lost\n"), false);
  assertEquals(file.calls(), 1);
  assertEquals(file.received, []);
});

Deno.test("OutputStream.write() retries a write interrupted by a signal", () => {
  const file = writer({ failures: [new Deno.errors.Interrupted("interrupted")] });
  const stream = new OutputStream("stderr", file);
  assertEquals(stream.write("kept\n"), true);
  assertEquals(file.received, ["kept\n"]);
  assertEquals(stream.gone, undefined);
});
