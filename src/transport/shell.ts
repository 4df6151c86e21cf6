/**
 * Shell quoting: the one place argv becomes a command line for a remote POSIX shell, so
 * values with spaces, quotes, `$()`, backticks or newlines arrive literally.
 */

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word for a POSIX shell: safe words as they are, the rest in single quotes. */
export function quote(word: string): string {
  if (word !== "" && SAFE_WORD.test(word)) return word;
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** Quotes every word and joins them with spaces. */
export function commandLine(argv: readonly string[]): string {
  return argv.map(quote).join(" ");
}
