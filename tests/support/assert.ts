/** Test assertions shared by every suite (JSR, so @std/assert, is unreachable: node:assert underneath). */
import { deepStrictEqual, ok } from "node:assert";

/** Deep strict equality, with a diff on failure. */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/** Truthiness. */
export function assert(value: unknown, message?: string): asserts value {
  ok(value, message);
}

/** Awaits `fn`, which must reject with an instance of `type`; returns the error. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof type) return error;
    throw new Error(`expected ${type.name}, got ${error}`, { cause: error });
  }
  throw new Error(`expected ${type.name} to be thrown, but nothing was`);
}

/** Calls `fn`, which must throw an instance of `type` whose message includes `includes`. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  type: abstract new (...args: never[]) => E,
  includes = "",
): E {
  try {
    fn();
  } catch (error) {
    if (error instanceof type && error.message.includes(includes)) return error;
    throw new Error(`expected ${type.name} with ${JSON.stringify(includes)}, got ${error}`, {
      cause: error,
    });
  }
  throw new Error(`expected ${type.name} to be thrown, but nothing was`);
}
