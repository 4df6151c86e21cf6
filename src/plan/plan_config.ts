/**
 * The config a run uses, from the file's: the seed set (the file's, else a new one), and each
 * chaos entry replaced by the faults it draws from it (`src/faults/chaos.ts`). The loader calls it
 * once the file is valid; tests and benchmarks that build a config in code call it too.
 */
import { expandTimeline } from "../faults/chaos.ts";
import type { Config, FileConfig } from "./schema.ts";
import { resolveSeed } from "./seed.ts";

/**
 * @param seed the seed validation drew chaos from (the loader's); default the file's, else new
 */
export function planConfig(file: FileConfig, seed = resolveSeed(file.seed)): Config {
  const expanded = expandTimeline(file.commands, file.peers.map((peer) => peer.name), seed);
  return {
    ...file,
    seed,
    // Commands stay in file order: the engine's timeline (`buildTimeline`) is what sorts them.
    commands: expanded.commands,
    ...(expanded.chaos.length > 0 ? { chaos: expanded.chaos } : {}),
  };
}
