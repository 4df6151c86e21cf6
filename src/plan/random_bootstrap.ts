/**
 * `bootstrap: { random: K }`: K distinct peers for one peer, drawn from its candidates (every
 * peer, or those `from` selects) without the peer itself, from the test's seeded generator
 * (docs/config.md, "Groups"). Pure: the same seed, peers and order give the same picks.
 */
import { type Random, randomIndex } from "./seed.ts";

/** The label of the seeded stream bootstrap picks draw from (`seededRandom(seed, label)`). */
export const BOOTSTRAP_STREAM = "bootstrap";

/**
 * Picks `k` distinct names of `candidates` other than the one at `selfAt` (the peer itself; -1
 * when it is not a candidate), in the candidates' order.
 * Robert Floyd's sampling: exactly `k` draws and a set of `k` entries, so 10,000 peers picking
 * from 10,000 candidates cost O(N·K), not the O(N²) of shuffling a copy per peer.
 *
 * @throws RangeError when fewer than `k` candidates other than the peer exist (validation says so
 *   first, with the file position)
 */
export function pickBootstrap(
  candidates: readonly string[],
  selfAt: number,
  k: number,
  random: Random,
): string[] {
  const pool = selfAt < 0 ? candidates.length : candidates.length - 1;
  if (k > pool) {
    throw new RangeError(`cannot pick ${k} bootstrap peers out of ${pool}`);
  }
  const chosen = new Set<number>();
  for (let j = pool - k; j < pool; j++) {
    const t = randomIndex(random, j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  // Indexes count the pool (the candidates without `self`): skip over `self`'s slot.
  return [...chosen].sort((a, b) => a - b).map((i) =>
    candidates[selfAt >= 0 && i >= selfAt ? i + 1 : i]
  );
}
