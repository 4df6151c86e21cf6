/**
 * What a Redis URL names, read without connecting: its database and endpoint; and the error a
 * lease refuses with. Pure (no ioredis), so `tm` parses `--redis-url` without loading a client.
 */
import { redactUrls as redactUrl } from "../base/url_redaction.ts";

/** No database could be leased: out of range, or every one held by a live run. */
export class RedisLeaseError extends Error {
  constructor(
    message: string,
    /** The live runs holding the databases asked for, by database. */
    readonly holders: { db: number; holder: string }[] = [],
  ) {
    super(message);
    this.name = "RedisLeaseError";
  }
}

/** The database `/<db>` of a Redis URL names; undefined when it names none. */
export function databaseOf(url: string): number | undefined {
  const path = new URL(url).pathname.replace(/^\/|\/$/g, "");
  if (path === "") return undefined;
  if (!/^\d+$/.test(path)) {
    throw new RedisLeaseError(
      `${redactUrl(url)}: the path of a Redis URL is a database number, not ${
        JSON.stringify(path)
      }`,
    );
  }
  return Number(path);
}

/** `url` with its path set to `/<db>`. */
export function withDatabase(url: string, db: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}

/** `<host>:<port>` of a Redis URL (port 6379 when absent), lower case. */
export function endpointOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname.toLowerCase()}:${parsed.port || "6379"}`;
}
