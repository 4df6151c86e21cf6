/**
 * The config loader fuzzed with fast-check, in-process: two thousand configs (the examples with a
 * value replaced by any JSON value or removed, re-serialised as YAML; the examples' text cut,
 * spliced or sprinkled with YAML punctuation; random YAML-ish text) go through `parseConfig`. Each
 * is a config, or a `ConfigError` that `tm` prints as one `file[:line:col]: …` line per problem
 * with exit 2: never another error (a stack trace, exit 1). A failure prints fast-check's seed
 * and the smallest input it found.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import { describeError, ExitCode } from "../../src/base/errors.ts";
import { ConfigError } from "../../src/plan/config_error.ts";
import { parseConfig } from "../../src/plan/load.ts";
import { changed, jsonChange } from "../support/json_mutation.ts";

const EXAMPLES_DIR = new URL("../../examples/", import.meta.url);
const EXAMPLES: string[] = [];
for await (const entry of Deno.readDir(EXAMPLES_DIR)) {
  if (entry.name.endsWith(".yaml")) {
    EXAMPLES.push(await Deno.readTextFile(new URL(entry.name, EXAMPLES_DIR)));
  }
}
EXAMPLES.sort();
const FILE = "fuzz.yaml";

/** A value put somewhere in a config: any JSON value, or one of the shapes configs get wrong. */
const configChange = jsonChange([
  null,
  "",
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  [],
  {},
  "*",
  "a|b",
  "(a+)+$",
  "\u202e",
]);

/** An example with up to three values changed, written back as YAML. */
const mutatedExample = fc.record({
  example: fc.nat({ max: EXAMPLES.length - 1 }),
  changes: fc.array(configChange, { minLength: 1, maxLength: 3 }),
}).map(({ example, changes }) => stringify(changes.reduce(changed, parse(EXAMPLES[example]))));

/** YAML's punctuation and a few words, for text that is nearly a config. */
const YAML_BITS = [
  ":",
  "- ",
  "{",
  "}",
  "[",
  "]",
  ",",
  "&a ",
  "*a",
  "!!str ",
  "!!binary ",
  "|",
  ">",
  "'",
  '"',
  "#",
  "\n",
  "  ",
  "\t",
  "---\n",
  "...\n",
  "? ",
  "<<: ",
  "~",
  "null",
  "peers",
  "hosts",
  "time",
  "name",
  "1e999",
  "0x1F",
  ".inf",
  "\\",
  "\u0000",
  "\ufeff",
];

/** An example's text cut at one place and sprinkled with YAML punctuation at others. */
const damagedText = fc.record({
  example: fc.nat({ max: EXAMPLES.length - 1 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  inserts: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...YAML_BITS)), { maxLength: 6 }),
}).map(({ example, cut, inserts }) => {
  let text = EXAMPLES[example];
  for (const [at, bit] of inserts) {
    const i = at % (text.length + 1);
    text = text.slice(0, i) + bit + text.slice(i);
  }
  return cut === undefined ? text : text.slice(0, cut % (text.length + 1));
});

/** Text made of YAML's punctuation and words only. */
const yamlish = fc.array(fc.oneof(fc.constantFrom(...YAML_BITS), fc.string({ maxLength: 4 })), {
  maxLength: 40,
}).map((bits) => bits.join(""));

/** `tm validate`'s outcome for `text`: a config, or one located line per problem and exit 2. */
function assertLoadsOrOneLinePerProblem(text: string): void {
  try {
    parseConfig(text, FILE);
  } catch (error) {
    assert(
      error instanceof ConfigError,
      `${(error as Error)?.stack ?? error}\nconfig:\n${text.slice(0, 3000)}`,
    );
    const { text: printed, exitCode } = describeError(error);
    assertEquals(exitCode, ExitCode.usage);
    const lines = printed.split("\n");
    assertEquals(lines.length, error.problems.length, printed);
    for (const line of lines) assert(line.startsWith(FILE), line);
  }
}

Deno.test("parseConfig on hundreds of examples with a value changed: a config, or one located line per problem and exit 2", () => {
  fc.assert(fc.property(mutatedExample, assertLoadsOrOneLinePerProblem), { numRuns: 600 });
});

Deno.test("parseConfig on thousands of cut and spliced example texts and YAML-ish text: a config, or one located line per problem and exit 2", () => {
  fc.assert(fc.property(fc.oneof(damagedText, yamlish), assertLoadsOrOneLinePerProblem), {
    numRuns: 1_500,
  });
});
