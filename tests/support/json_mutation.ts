/**
 * Test support for the fuzz tests: one value changed deep inside a JSON value (a record's event,
 * a config), at a path chosen by fast-check.
 */
import fc from "fast-check";

/** As a replacement: the key (or array item) is removed instead. */
export const REMOVE = Symbol("remove");

/** A change: at the path `choices` lead to, `value` (or the key removed). */
export interface JsonChange {
  /** At each level, the key taken is `keys[choice % keys.length]`; the path ends with them. */
  choices: number[];
  value: unknown;
}

/**
 * A change to any JSON value: removed, any JSON value, or one of `extra` (the values the code
 * under test is likeliest to mishandle).
 */
export function jsonChange(extra: readonly unknown[]): fc.Arbitrary<JsonChange> {
  return fc.record({
    choices: fc.array(fc.nat(), { maxLength: 6 }),
    value: fc.oneof(
      fc.constant<unknown>(REMOVE),
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(...extra),
    ),
  });
}

/** `value` with `change` applied, copying only the path it walks; the root is never removed. */
export function changed(value: unknown, change: JsonChange): unknown {
  const result = changedAt(value, change, 0);
  return result === REMOVE ? value : result;
}

function changedAt(value: unknown, change: JsonChange, depth: number): unknown {
  const choice = change.choices[depth];
  if (choice === undefined || value === null || typeof value !== "object") return change.value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value)
    ? [...value]
    : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return change.value === REMOVE ? copy : change.value;
  const key = keys[choice % keys.length];
  const inner = changedAt((copy as Record<string, unknown>)[key], change, depth + 1);
  if (inner === REMOVE) {
    if (Array.isArray(copy)) copy.splice(Number(key), 1);
    else delete copy[key];
  } else (copy as Record<string, unknown>)[key] = inner;
  return copy;
}
