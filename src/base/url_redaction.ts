/**
 * The one place a URL's password is hidden before tm prints or writes it: `redis://user:s3cret@h`
 * becomes `redis://user:***@h` on the console, in the TUI, in the log file and in error messages.
 * Peers still get the real URL in their environment; only what tm shows is masked.
 */

/**
 * `scheme://user:password@` with the password cut at the first `@`, `/` or whitespace (RFC 3986
 * has those percent-encoded inside a password, so the cut is exact for well-formed URLs).
 */
const CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:)[^\s@/]+@/gi;

/** `text` with the password of every URL in it replaced by `***`; anything else unchanged. */
export function redactUrls(text: string): string {
  return text.replace(CREDENTIALS, "$1***@");
}
