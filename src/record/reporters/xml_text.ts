/**
 * Text made safe for XML 1.0: markup characters escaped, and the characters XML 1.0 cannot hold
 * at all (control characters but tab and newlines, lone surrogates, U+FFFE/U+FFFF) written as
 * visible `\xNN` / `\uNNNN` escapes. Peer output is hostile: it may hold any of them, or `]]>`,
 * and the JUnit file must still parse.
 */

/** Characters XML 1.0 cannot hold: C0 controls but tab and newlines, lone surrogates, U+FFFE/F. */
const NOT_XML = new RegExp(
  "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\ufffe\\uffff]" +
    "|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]",
  "g",
);

/** `text` with the characters XML 1.0 forbids replaced by visible escapes. */
export function xmlCharacters(text: string): string {
  return text.replace(NOT_XML, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`;
  });
}

/**
 * Character data: `&`, `<`, `>` escaped (so `]]>` cannot appear), `\r` kept as a reference (a
 * parser would turn `\r\n` into `\n`), forbidden characters shown.
 */
export function xmlText(text: string): string {
  return xmlCharacters(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/\r/g, "&#13;");
}

/**
 * An attribute value for double quotes: as `xmlText`, plus `"` and the whitespace a parser would
 * otherwise normalise to spaces (tab, newlines) as character references.
 */
export function xmlAttribute(text: string): string {
  return xmlText(text).replace(/"/g, "&quot;").replace(/\t/g, "&#9;").replace(/\n/g, "&#10;");
}
