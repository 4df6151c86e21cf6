/**
 * The config a run uses, from the test file: groups, selectors and chaos expanded and the seed
 * set (`expansion.ts`), the seed being the file's, else a new one. The loader does this once the
 * file is valid; tests and benchmarks that build a config in code call this.
 */
import { expandTestFile } from "./expansion.ts";
import type { Config, TestFile } from "./schema.ts";
import { resolveSeed } from "./seed.ts";

/** @param seed default: the file's, else a new one */
export function planConfig(file: TestFile, seed = resolveSeed(file.seed)): Config {
  return expandTestFile(file, seed);
}
