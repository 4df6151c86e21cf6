/**
 * The REDIS_URL peers on one host get, from the URL the orchestrator itself uses.
 *
 * A container cannot reach the orchestrator's 127.0.0.1, so a loopback host in the URL is
 * replaced by the orchestrator's address as that host sees it (the first field of
 * `$SSH_CONNECTION` there). When that is unknown or loopback too (the host is this machine),
 * containers go through `host.docker.internal`, which `--add-host=host.docker.internal:host-gateway`
 * maps to the host's bridge gateway. `redis.advertise` (host or host:port) overrides all of it.
 * User, password, database and scheme (`rediss://`) are kept. Pure: no I/O.
 */

/** The name containers use for the machine they run on. */
export const HOST_GATEWAY_NAME = "host.docker.internal";

/** The `--add-host` value that makes HOST_GATEWAY_NAME resolve (Docker 20.10+). */
export const HOST_GATEWAY_MAPPING = `${HOST_GATEWAY_NAME}:host-gateway`;

/** Where peers on one host find Redis. */
export interface PeerRedisRoute {
  /** The REDIS_URL to give the peers. */
  url: string;
  /** The containers need `--add-host=host.docker.internal:host-gateway`. */
  needsHostGateway: boolean;
}

export interface PeerRedisOptions {
  /** `Remote.orchestratorAddress()` of the host: how it sees us; null for this machine. */
  orchestratorAddress: string | null;
  /** `redis.advertise`: host or host:port (`[v6]:port` for IPv6) that overrides everything. */
  advertise?: string;
}

/** A hostname (as in a URL, IPv6 with or without brackets) that means "this machine". */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  return h === "localhost" || h.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(h) ||
    h === "::1" || h === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(h) || h === "0.0.0.0" ||
    h === "::";
}

/**
 * The REDIS_URL for peers on a host.
 * @param orchestratorUrl the URL tm connects to (`redis://127.0.0.1:<port>` for the Redis
 *   container, or `--redis-url` as given)
 * @throws TypeError if `orchestratorUrl` is not a URL
 */
export function peerRedisUrl(orchestratorUrl: string, options: PeerRedisOptions): PeerRedisRoute {
  const url = new URL(orchestratorUrl);
  if (options.advertise !== undefined) {
    const { host, port } = splitHostPort(options.advertise);
    return {
      url: rebuild(url, host, port ?? url.port),
      needsHostGateway: host.toLowerCase() === HOST_GATEWAY_NAME,
    };
  }
  if (url.hostname === "" || !isLoopback(url.hostname)) {
    return { url: orchestratorUrl, needsHostGateway: false };
  }
  const seen = options.orchestratorAddress;
  if (seen !== null && seen !== "" && !isLoopback(seen)) {
    return { url: rebuild(url, seen, url.port), needsHostGateway: false };
  }
  return { url: rebuild(url, HOST_GATEWAY_NAME, url.port), needsHostGateway: true };
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address. */
export function splitHostPort(value: string): { host: string; port?: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] };
  const colons = value.split(":").length - 1;
  if (colons === 1) {
    const [host, port] = value.split(":");
    if (/^\d+$/.test(port)) return { host, port };
  }
  return { host: value };
}

function rebuild(url: URL, host: string, port: string): string {
  const bare = host.replace(/^\[|\]$/g, "");
  const hostPart = bare.includes(":") ? `[${bare.replaceAll("%", "%25")}]` : bare;
  const auth = url.username !== "" || url.password !== ""
    ? `${url.username}${url.password !== "" ? `:${url.password}` : ""}@`
    : "";
  const path = url.pathname === "/" && !hasRootPath(url.href) ? "" : url.pathname;
  return `${url.protocol}//${auth}${hostPart}${
    port !== "" ? `:${port}` : ""
  }${path}${url.search}${url.hash}`;
}

/** Whether the original URL spelled a path (`redis://h:1/` vs `redis://h:1`). */
function hasRootPath(href: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*\//i.test(href);
}
