/**
 * Test support: polling for a state that announces itself by no event (a terminal's screen, a
 * file another process writes).
 */

/**
 * Calls `probe` every 100 ms until it returns a value other than undefined, and returns it.
 * A probe that throws counts as "not yet"; its last error is quoted if time runs out.
 * @param ms how long to keep trying (default 20 s)
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const deadline = performance.now() + ms;
  let last: unknown;
  while (performance.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Like `until`, for a yes/no `check`: resolves once it returns true. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  await until(what, async () => (await check()) || undefined, ms);
}
