/**
 * The one owner of "make text from outside safe for a terminal": peers choose their statuses and
 * log lines, hosts their docker output, and none of it may drive the terminal that shows it
 * (clear the screen, set colours or the title, ring the bell) or forge a line of tm's own. Every
 * view (console, TUI, summary, stderr trace, the log file) shows such text through this module.
 *
 * Escaped, visibly: C0 controls including ESC, BEL, CR, LF and TAB (`\x1b`, `\n`, `\t`), DEL and
 * the C1 controls U+0080–U+009F (a terminal may read U+009B as ESC [), the Unicode line and
 * paragraph separators U+2028 and U+2029 (editors and browsers break the line there, so a peer
 * could forge a line of its own), and the Unicode bidi formatting characters (U+061C, U+200E,
 * U+200F, U+202A–U+202E, U+2066–U+2069), which reorder what follows them on screen
 * (`\u202eevil` shows as "live"). Everything else, including the backslash, is left as it is.
 *
 * The same rule serves every view, the file views too: the log file, `report.html` (its data is
 * escaped before the page sees it) and `junit.xml` (before its XML escaping).
 */

// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// deno-lint-ignore no-control-regex
const ANY_UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeOne(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * `text` on one line with every control, line separator and bidi character written as a visible
 * escape.
 */
export function escapeControls(text: string): string {
  return ANY_UNSAFE.test(text) ? text.replace(UNSAFE, escapeOne) : text;
}

/**
 * `value` with `escapeControls` applied to every string inside it (object properties, array
 * items, nested). Returns `value` itself when nothing needed escaping, so the common case does not
 * allocate; otherwise a copy, the original left untouched.
 */
export function escapeControlsIn<T>(value: T): T {
  if (typeof value === "string") return escapeControls(value) as T;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const safe = escapeControlsIn(item);
      if (safe !== item) (copy ??= [...value])[i] = safe;
    });
    return (copy ?? value) as T;
  }
  if (
    value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype
  ) {
    const record = value as Record<string, unknown>;
    let copy: Record<string, unknown> | undefined;
    for (const key in record) {
      const item = record[key];
      const safe = escapeControlsIn(item);
      if (safe !== item) (copy ??= { ...record })[key] = safe;
    }
    return (copy ?? value) as T;
  }
  return value;
}
