/**
 * The test's seed and the one generator every random choice of the plan draws from (bootstrap
 * picks, chaos schedules), so that a run repeats exactly from the number its summary prints.
 *
 * The generator is mulberry32: 32 bits of state, a full period of 2^32, and a few lines; plan
 * choices need reproducibility, not cryptographic strength.
 */
/** Seeds are 32-bit unsigned integers: what the generator below takes whole. */
export const MAX_SEED = 0xffff_ffff;

/** The seed a test file gives (`seed:`), else a new one drawn from the system's randomness. */
export function resolveSeed(configured: number | undefined): number {
  if (configured !== undefined) return configured;
  return crypto.getRandomValues(new Uint32Array(1))[0] % (MAX_SEED + 1);
}

/** A deterministic source of numbers in [0, 1), the same sequence for the same seed. */
export type Random = () => number;

/** The generator for `seed`; `label` derives an independent stream per use (e.g. `"chaos"`). */
export function seededRandom(seed: number, label = ""): Random {
  let state = (seed ^ hashLabel(label)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, bound) drawn from `random`. */
export function randomIndex(random: Random, bound: number): number {
  return Math.floor(random() * bound);
}

/** FNV-1a of the label: distinct uses of one seed get unrelated streams. */
function hashLabel(label: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(label)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return label === "" ? 0 : hash;
}
