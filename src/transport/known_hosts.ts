/**
 * OpenSSH `known_hosts`: parsing (plain, hashed `|1|salt|hash`, `[host]:port`, markers), host
 * key checks with OpenSSH's verdicts, fingerprints as OpenSSH prints them, and appending a new
 * host the way `StrictHostKeyChecking accept-new` does.
 */
import { createHash, createHmac } from "node:crypto";
import { Buffer } from "node:buffer";

/** One host key line of a known_hosts file. */
export interface KnownHostEntry {
  /** 1-based line number in the file. */
  readonly line: number;
  /** `@revoked` keys are refused; `@cert-authority` lines sign host certificates (not used here). */
  readonly marker: "revoked" | "cert-authority" | null;
  /** Comma-separated host patterns (plain entries); null for a hashed entry. */
  readonly patterns: readonly string[] | null;
  /** Salt and HMAC-SHA1 of the host name (hashed entries); null for a plain entry. */
  readonly hashed: { readonly salt: Uint8Array; readonly hash: Uint8Array } | null;
  /** Key type as written, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** The public key blob (decoded base64 of the key field). */
  readonly key: Uint8Array;
}

/** The outcome of checking a host's key against known_hosts. */
export type HostKeyVerdict =
  | { readonly status: "known"; readonly entry: KnownHostEntry }
  | { readonly status: "unknown" }
  /** The host is known with a different key of the same type. */
  | { readonly status: "changed"; readonly entry: KnownHostEntry }
  | { readonly status: "revoked"; readonly entry: KnownHostEntry };

/**
 * Parses known_hosts text. Blank lines, comments and lines that are not host keys (malformed,
 * unknown hash versions) are skipped, as OpenSSH does.
 */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i].trim().split(/[ \t]+/);
    if (fields[0] === "" || fields[0].startsWith("#")) continue;
    let marker: KnownHostEntry["marker"] = null;
    if (fields[0].startsWith("@")) {
      if (fields[0] === "@revoked") marker = "revoked";
      else if (fields[0] === "@cert-authority") marker = "cert-authority";
      else continue;
      fields.shift();
    }
    if (fields.length < 3) continue;
    const [hostField, keyType, keyBase64] = fields;
    const key = decodeBase64(keyBase64);
    if (!key || key.length === 0) continue;
    let patterns: string[] | null = null;
    let hashed: KnownHostEntry["hashed"] = null;
    if (hostField.startsWith("|")) {
      const parts = hostField.split("|");
      if (parts.length !== 4 || parts[1] !== "1") continue;
      const salt = decodeBase64(parts[2]);
      const hash = decodeBase64(parts[3]);
      if (!salt || !hash || hash.length !== 20) continue;
      hashed = { salt, hash };
    } else {
      patterns = hostField.split(",").filter((p) => p !== "");
      if (patterns.length === 0) continue;
    }
    entries.push({ line: i + 1, marker, patterns, hashed, keyType, key });
  }
  return entries;
}

/** The name known_hosts uses for a host: `address` on port 22, else `[address]:port`. */
export function hostName(address: string, port = 22): string {
  const host = address.toLowerCase();
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * Whether an entry names `address:port`. Plain patterns may use `*`, `?` and `!` negation (a
 * matching negation excludes the host); hashed entries are compared with HMAC-SHA1.
 */
export function entryMatches(entry: KnownHostEntry, address: string, port = 22): boolean {
  const name = hostName(address, port);
  if (entry.hashed) {
    const digest = createHmac("sha1", entry.hashed.salt).update(name).digest();
    return Buffer.compare(digest, entry.hashed.hash) === 0;
  }
  let matched = false;
  for (const pattern of entry.patterns ?? []) {
    const negated = pattern.startsWith("!");
    if (globMatches(negated ? pattern.slice(1) : pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/**
 * Checks the key a host presented. Revoked wins; then a matching entry with the same key is
 * "known"; an entry of the same key type with another key is "changed"; otherwise "unknown"
 * (including a host known only with keys of other types, which OpenSSH also treats as new).
 */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  address: string,
  port: number,
  key: Uint8Array,
): HostKeyVerdict {
  const matching = entries.filter((e) =>
    e.marker !== "cert-authority" && entryMatches(e, address, port)
  );
  const revoked = matching.find((e) => e.marker === "revoked" && sameBytes(e.key, key));
  if (revoked) return { status: "revoked", entry: revoked };
  const hostKeys = matching.filter((e) => e.marker === null);
  const known = hostKeys.find((e) => sameBytes(e.key, key));
  if (known) return { status: "known", entry: known };
  const type = keyTypeOf(key);
  const changed = hostKeys.find((e) => keyTypeOf(e.key) === type);
  if (changed) return { status: "changed", entry: changed };
  return { status: "unknown" };
}

/** Key types (as in key blobs, e.g. `ssh-ed25519`) known_hosts records for a host, in file order. */
export function knownKeyTypes(
  entries: readonly KnownHostEntry[],
  address: string,
  port: number,
): string[] {
  const types = entries
    .filter((e) => e.marker === null && entryMatches(e, address, port))
    .map((e) => keyTypeOf(e.key));
  return [...new Set(types)];
}

/** The key type inside a public key blob (its first SSH string), e.g. `ssh-ed25519`. */
export function keyTypeOf(key: Uint8Array): string {
  if (key.length < 4) return "";
  const length = new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(0);
  if (length > key.length - 4) return "";
  return new TextDecoder().decode(key.subarray(4, 4 + length));
}

/** The key's SHA256 fingerprint as OpenSSH prints it: `SHA256:` + unpadded base64. */
export function fingerprint(key: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** The key type as OpenSSH names it in messages: ED25519, ECDSA, RSA, DSA. */
export function keyTypeLabel(key: Uint8Array): string {
  const type = keyTypeOf(key);
  if (type === "ssh-ed25519") return "ED25519";
  if (type.startsWith("ecdsa-sha2-")) return "ECDSA";
  if (type === "ssh-rsa") return "RSA";
  if (type === "ssh-dss") return "DSA";
  if (type.startsWith("sk-ssh-ed25519")) return "ED25519-SK";
  if (type.startsWith("sk-ecdsa")) return "ECDSA-SK";
  return type.toUpperCase();
}

/** The line accept-new appends for a new host (plain host name, no hashing), without newline. */
export function knownHostsLine(address: string, port: number, key: Uint8Array): string {
  return `${hostName(address, port)} ${keyTypeOf(key)} ${Buffer.from(key).toString("base64")}`;
}

/**
 * Appends a host's key to a known_hosts file, creating the file (mode 600) and its directory
 * (mode 700) if needed, and starting on a new line if the file does not end with one.
 */
export async function appendKnownHost(
  path: string,
  address: string,
  port: number,
  key: Uint8Array,
): Promise<void> {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  if (dir !== "") await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  let prefix = "";
  try {
    const file = await Deno.open(path, { read: true });
    try {
      const { size } = await file.stat();
      if (size > 0) {
        await file.seek(size - 1, Deno.SeekMode.Start);
        const last = new Uint8Array(1);
        await file.read(last);
        if (last[0] !== 0x0a) prefix = "\n";
      }
    } finally {
      file.close();
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const text = `${prefix}${knownHostsLine(address, port, key)}\n`;
  await Deno.writeTextFile(path, text, { append: true, create: true, mode: 0o600 });
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${source}$`).test(name);
}

function decodeBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return new Uint8Array(Buffer.from(text, "base64"));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
