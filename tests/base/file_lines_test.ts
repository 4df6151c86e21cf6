import fc from "fast-check";
import { assertEquals, assertThrows } from "../support/assert.ts";
import { fileLines } from "../../src/base/file_lines.ts";

/** `text` as lines the way fileLines reads them: split at `\n`, no empty line after a last `\n`. */
function linesOf(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

Deno.test("fileLines yields every line of any text in order, whatever the chunk size, multibyte characters cut across chunks included", () => {
  const path = Deno.makeTempFileSync({ prefix: "tm-file-lines-test-" });
  try {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: "grapheme" }), fc.constantFrom("\n", "é\n", "😀")), {
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 16 }),
        (parts, chunkBytes) => {
          const text = parts.join("");
          Deno.writeTextFileSync(path, text);
          assertEquals([...fileLines(path, chunkBytes)], linesOf(text));
        },
      ),
      { numRuns: 300 },
    );
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("fileLines yields a last line without its newline, nothing for an empty file, and throws for a missing one", () => {
  const path = Deno.makeTempFileSync({ prefix: "tm-file-lines-test-" });
  try {
    Deno.writeTextFileSync(path, "a\n\nb");
    assertEquals([...fileLines(path)], ["a", "", "b"]);
    Deno.writeTextFileSync(path, "");
    assertEquals([...fileLines(path)], []);
  } finally {
    Deno.removeSync(path);
  }
  assertThrows(() => [...fileLines(path)], Deno.errors.NotFound);
});
