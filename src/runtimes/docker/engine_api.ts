/**
 * DockerEngine: one host's Docker Engine API, spoken by docker-modem over byte streams the host's
 * `Remote` opens to the engine's socket: over SSH a forwarded channel on the one connection per
 * host (no exec, no login), locally the socket itself. Sockets are kept alive and reused, so a
 * request costs one round trip (measured on the test bed: ~18 ms per `/version` over SSH with
 * reuse, ~390 ms with dockerode's own `ssh` protocol, which logs in per request).
 *
 * docker-modem (the HTTP layer under dockerode) rather than dockerode: dockerode's first line
 * loads its BuildKit session (grpc-js, proto-loader, protobufjs), which tm never uses, and that
 * cost tm 13 MiB of resident memory more than docker-modem alone (measured in one process
 * beside ioredis, ssh2, yaml and zod). Each request here is the path, method and status codes
 * dockerode would send.
 *
 * The API version is negotiated, as the docker CLI does: the engine's own, capped at the newest
 * this client knows (`NEWEST_API`); an engine older than 20.10 (API 1.41) is refused with the
 * versions named. Every call is traced with its duration for `--verbose`. Failures are
 * `EngineApiError`s naming the host, the operation and the engine's message.
 */
import DockerModem from "docker-modem";
import { Agent, request as httpRequest } from "node:http";
import { type Duplex, Readable } from "node:stream";
import type { IncomingMessage } from "node:http";
import { Buffer } from "node:buffer";
import type { ContainerSummary, DockerEvent, ImageInfo, RunSpec } from "./docker.ts";
import { parseDockerEvent } from "./docker.ts";
import { abortable } from "../../base/async.ts";
import { errorMessage } from "../../base/errors.ts";
import { redactUrls } from "../../base/url_redaction.ts";
import { LocalRemote } from "../../transport/local.ts";
import { type EngineInfo, type ImageStore, imageStoreOf } from "./image_store.ts";
import type { OutputLine } from "../../engine/runtime.ts";
import { OutputLineSplitter } from "./output_lines.ts";

/** The oldest engine tm supports: Docker 20.10. */
export const OLDEST_API = "1.41";
/** The newest API version whose requests this client makes (Docker 27.x). */
export const NEWEST_API = "1.47";
/** The engine's socket when the host names none (`DOCKER_HOST` unset). */
export const DEFAULT_ENGINE_SOCKET = "/var/run/docker.sock";
/**
 * HTTP sockets (over SSH: forwarded channels) open at once per host. More requests wait for a
 * free one: 16 covers the engine's launches issued together without one channel per peer.
 */
const MAX_SOCKETS = 16;
/** Events remembered to drop a repeat (see `events`): far more than arrive at once. */
const RECENT_EVENTS = 1024;

/** An Engine API request failed: the engine's answer or the transport's. */
export class EngineApiError extends Error {
  constructor(
    /** Host display name. */
    readonly host: string,
    /** What was asked: `pause tm-x--alice`. */
    readonly operation: string,
    /** HTTP status; null when no answer came (transport). */
    readonly status: number | null,
    /** The engine's message, or the transport's. */
    readonly reason: string,
  ) {
    super(`${host}: docker ${operation}: ${reason}`);
    this.name = "EngineApiError";
  }
}

/** The engine is older than tm supports, or does not answer like a Docker engine. */
export class EngineVersionError extends Error {
  constructor(readonly host: string, readonly engine: string, readonly api: string) {
    super(
      `${host}: Docker ${engine} speaks Engine API ${api}; tm needs Docker 20.10 (API ` +
        `${OLDEST_API}) or newer: upgrade Docker on ${host}`,
    );
    this.name = "EngineVersionError";
  }
}

/** The socket path of a `DOCKER_HOST` value (`unix://…`); null if it is not a Unix socket. */
export function engineSocketOf(dockerHost: string | undefined): string | null {
  const value = (dockerHost ?? "").trim();
  if (value === "") return DEFAULT_ENGINE_SOCKET;
  const match = /^unix:\/\/(\/.*)$/.exec(value);
  return match ? match[1] : null;
}

/**
 * Makes `util.inspect` print `value` as `[name]` instead of walking its object graph (see the
 * DockerEngine constructor for why).
 */
export function opaqueToInspect<T extends object>(value: T, name: string): T {
  Object.defineProperty(value, Symbol.for("nodejs.util.inspect.custom"), {
    value: () => `[${name}]`,
    enumerable: false,
  });
  return value;
}

/** Compares two API versions (`1.41` < `1.47`). */
export function compareApiVersions(a: string, b: string): number {
  const [a1, a2] = a.split(".").map(Number);
  const [b1, b2] = b.split(".").map(Number);
  return a1 - b1 || a2 - b2;
}

/** The version to speak with an engine whose API is `engineApi`: its own, at most NEWEST_API. */
export function negotiatedVersion(engineApi: string): string {
  return compareApiVersions(engineApi, NEWEST_API) > 0 ? NEWEST_API : engineApi;
}

/** A container's state, as `inspect` tells it. */
export interface ContainerState {
  running: boolean;
  paused: boolean;
  /** The process's pid on the host; 0 when not running. */
  pid: number;
  exitCode: number;
  /** Its address and gateway on its first network (Docker's bridge); null when none. */
  address: string | null;
  gateway: string | null;
}

/**
 * One Engine API request as docker-modem takes it: `path` ends in `?` where `options` go as the
 * query (and, for a POST, also as the JSON body, as dockerode sends them).
 */
export interface EngineRequest {
  path: string;
  method: "GET" | "POST" | "DELETE";
  options?: Record<string, unknown>;
  /** The answers that are not failures (`true`), and the wording of those that are. */
  statusCodes: Record<number, true | string>;
}

/** docker-modem's request: one HTTP exchange, its JSON answer parsed (a Buffer otherwise). */
interface Modem {
  version?: string;
  dial(
    options:
      & EngineRequest
      & { abortSignal?: AbortSignal; isStream?: boolean }
      & Record<
        string,
        unknown
      >,
    done: (error: unknown, answer?: unknown) => void,
  ): void;
}

export interface DockerEngineOptions {
  /** Host display name, for messages and traces. */
  host: string;
  /** Opens one byte stream to the engine's socket (a forwarded SSH channel, a local socket). */
  dial: (signal?: AbortSignal) => Promise<Duplex>;
  /** Receives one line per API call with its duration. Default: none. */
  trace?: (message: string) => void;
  /**
   * The engine's Unix socket when it is on this machine (its data root is then a path here);
   * absent for an engine reached over SSH. Default: absent.
   */
  localSocket?: string;
}

export class DockerEngine {
  readonly host: string;
  /** The engine's Unix socket if it is on this machine (`DockerEngineOptions.localSocket`). */
  readonly localSocket: string | null;
  readonly #agent: Agent;
  readonly #modem: Modem;
  readonly #trace: (message: string) => void;
  #negotiated: Promise<{ engine: string; api: string }> | null = null;
  /** The API version spoken, once negotiated: calls on the faults' path then start at once. */
  #spoken: string | null = null;

  constructor(options: DockerEngineOptions) {
    this.host = options.host;
    this.localSocket = options.localSocket ?? null;
    this.#trace = options.trace ?? (() => {});
    this.#agent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
    // docker-modem formats every request's options with `util.inspect(…, { showHidden: true,
    // depth: null })` for its debug log, even when that log is off; the options hold this agent,
    // and through it every open socket and the whole SSH client. Measured on the test bed: 20
    // container runs over SSH cost 42.7 s of CPU and took 31 s (4.3 s on the local socket, 4.7 s
    // through OpenSSH's `-L`); with the agent printed as a name, they take as long as over `-L`.
    opaqueToInspect(this.#agent, "Agent");
    // Node's Agent asks for a socket through createConnection; a callback lets it be async.
    (this.#agent as unknown as {
      createConnection: (options: unknown, done: (error: Error | null, s?: Duplex) => void) => void;
    }).createConnection = (_options, done) => {
      options.dial().then((socket) => done(null, socket), (error) => done(error));
    };
    this.#modem = new DockerModem({
      protocol: "http",
      host: "docker-engine",
      port: 80,
      agent: this.#agent,
    }) as unknown as Modem;
    this.#traceRequests();
  }

  /**
   * This machine's engine, on the Unix socket `DOCKER_HOST` names (/var/run/docker.sock when
   * unset), as the docker CLI finds it.
   * @throws Error naming DOCKER_HOST when it is not a Unix socket
   */
  static local(
    options: { host?: string; trace?: (message: string) => void; dockerHost?: string } = {},
  ): DockerEngine {
    const dockerHost = options.dockerHost ?? Deno.env.get("DOCKER_HOST");
    const socket = engineSocketOf(dockerHost);
    if (socket === null) {
      throw new Error(
        `DOCKER_HOST is ${dockerHost} here; tm reaches this machine's engine through its Unix ` +
          "socket: unset DOCKER_HOST, or set it to unix://<path>",
      );
    }
    const host = options.host ?? "this machine";
    const remote = new LocalRemote({ name: host });
    return new DockerEngine({
      host,
      localSocket: socket,
      trace: options.trace,
      dial: (signal) => remote.dialSocket(socket, signal),
    });
  }

  /**
   * The engine's version, and the API version spoken from now on (asked once). Throws
   * `EngineVersionError` for an engine older than 20.10.
   */
  version(signal?: AbortSignal): Promise<{ engine: string; api: string }> {
    this.#negotiated ??= this.#call("version", async () => {
      const answer = await this.#dial<{ ApiVersion?: string; Version?: string }>({
        path: "/version",
        method: "GET",
        statusCodes: { 200: true, 500: "server error" },
      });
      const api = answer.ApiVersion ?? "0.0";
      if (compareApiVersions(api, OLDEST_API) < 0) {
        throw new EngineVersionError(this.host, answer.Version ?? "?", api);
      }
      const spoken = negotiatedVersion(api);
      this.#modem.version = `v${spoken}`;
      this.#spoken = spoken;
      return { engine: answer.Version ?? "?", api: spoken };
    });
    this.#negotiated.catch(() => this.#negotiated = null);
    return abortable(this.#negotiated, signal);
  }

  /** Image ID, size and layers of each image; missing ones map to null. */
  async images(images: string[], signal?: AbortSignal): Promise<Map<string, ImageInfo | null>> {
    await this.version(signal);
    const found = await Promise.all(images.map(async (image) => {
      try {
        const info = await this.#call(
          `image inspect ${image}`,
          () =>
            this.#dial<{ Id: string; Size: number; RootFS?: { Layers?: string[] } }>({
              path: `/images/${image}/json`,
              method: "GET",
              statusCodes: { 200: true, 404: "no such image", 500: "server error" },
            }, signal),
          signal,
        );
        return [image, {
          id: info.Id,
          size: info.Size,
          layers: info.RootFS?.Layers ?? [],
        }] as const;
      } catch (error) {
        if (error instanceof EngineApiError && error.status === 404) return [image, null] as const;
        throw error;
      }
    }));
    return new Map(found);
  }

  /**
   * Containers (all states) carrying every label filter (`key` or `key=value`), plus name
   * filters (the engine's regexp match). `labelKeys` are read into `labels`; every label when
   * absent.
   */
  async containers(
    filters: { labels?: string[]; names?: string[] },
    options: { labelKeys?: string[]; signal?: AbortSignal } = {},
  ): Promise<ContainerSummary[]> {
    await this.version(options.signal);
    const query: Record<string, string[]> = {};
    if (filters.labels?.length) query.label = filters.labels;
    if (filters.names?.length) query.name = filters.names;
    const rows = await this.#call(
      "ps",
      () =>
        this.#dial<
          { Id: string; Names?: string[]; State: string; Labels?: Record<string, string> }[]
        >({
          path: "/containers/json?",
          method: "GET",
          options: { all: true, filters: JSON.stringify(query) },
          statusCodes: { 200: true, 400: "bad parameter", 500: "server error" },
        }, options.signal),
      options.signal,
    );
    return rows.map((row) => ({
      id: row.Id,
      name: (row.Names?.[0] ?? "").replace(/^\//, ""),
      state: row.State,
      labels: options.labelKeys
        ? Object.fromEntries(
          options.labelKeys.flatMap((key) =>
            row.Labels?.[key] !== undefined && row.Labels[key] !== ""
              ? [[key, row.Labels[key]]]
              : []
          ),
        )
        : { ...row.Labels },
    }));
  }

  /** Creates and starts a container (what `docker run -d` does); resolves with its ID. */
  async run(spec: RunSpec, signal?: AbortSignal): Promise<string> {
    await this.version(signal);
    const ports = spec.ports ?? [];
    const key = (p: (typeof ports)[number]) => `${p.container}/${p.protocol ?? "tcp"}`;
    const body = {
      ...(spec.name ? { name: spec.name } : {}),
      Image: spec.image,
      Labels: spec.labels ?? {},
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      ...(spec.command ? { Cmd: spec.command } : {}),
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      ExposedPorts: Object.fromEntries(ports.map((p) => [key(p), {}])),
      HostConfig: {
        PortBindings: Object.fromEntries(
          ports.map((p) => [key(p), [{ HostIp: p.bind ?? "", HostPort: String(p.host) }]]),
        ),
        Binds: (spec.volumes ?? []).map((v) => `${v.source}:${v.target}`),
        ExtraHosts: spec.addHosts ?? [],
      },
    };
    // Not abortable once asked: an aborted create may still land, and nothing may be left that
    // the caller does not know of. An abort is honoured once the engine answered.
    const what = `run ${spec.name ?? spec.image}`;
    const { Id: id } = await this.#call(what, () =>
      this.#dial<{ Id: string }>({
        path: "/containers/create?",
        method: "POST",
        options: body,
        statusCodes: {
          200: true,
          201: true,
          400: "bad parameter",
          404: "no such container",
          406: "impossible to attach",
          500: "server error",
        },
      }));
    try {
      signal?.throwIfAborted();
      await this.#call(`start ${spec.name ?? id}`, () => this.#dial(startRequest(id)));
      signal?.throwIfAborted();
    } catch (error) {
      // A container that could not start (port taken) is not left behind, as `docker run` would.
      await this.remove([id], { force: true }).catch(() => {});
      throw error;
    }
    return id;
  }

  /** Starts a stopped container. */
  async start(container: string, signal?: AbortSignal): Promise<void> {
    await this.version(signal);
    await this.#call(
      `start ${container}`,
      () => this.#dial(startRequest(container), signal),
      signal,
    );
  }

  /**
   * Freezes a container's processes (the cgroup freezer). Once the version is negotiated, the
   * request is written before this returns its promise (`#post`): a fault's call is on its way
   * when the timeline's dispatch goes on.
   */
  async pause(container: string, signal?: AbortSignal): Promise<void> {
    if (this.#spoken === null) await this.version(signal);
    await this.#post(
      `pause ${container}`,
      `/containers/${encodeURIComponent(container)}/pause`,
      signal,
    );
  }

  async unpause(container: string, signal?: AbortSignal): Promise<void> {
    if (this.#spoken === null) await this.version(signal);
    await this.#post(
      `unpause ${container}`,
      `/containers/${encodeURIComponent(container)}/unpause`,
      signal,
    );
  }

  /** Sends a signal (default SIGKILL) to a container's main process. */
  async kill(container: string, signalName = "KILL", signal?: AbortSignal): Promise<void> {
    if (this.#spoken === null) await this.version(signal);
    await this.#post(
      `kill ${container}`,
      `/containers/${encodeURIComponent(container)}/kill?signal=${encodeURIComponent(signalName)}`,
      signal,
    );
  }

  /** A container's state, pid and address. */
  async inspect(container: string, signal?: AbortSignal): Promise<ContainerState> {
    await this.version(signal);
    const info = await this.#call(
      `inspect ${container}`,
      () =>
        this.#dial<ContainerInspectAnswer>({
          path: `/containers/${container}/json?`,
          method: "GET",
          statusCodes: { 200: true, 404: "no such container", 500: "server error" },
        }, signal),
      signal,
    );
    const network = Object.values(info.NetworkSettings?.Networks ?? {})[0];
    return {
      running: info.State?.Running ?? false,
      paused: info.State?.Paused ?? false,
      pid: info.State?.Pid ?? 0,
      exitCode: info.State?.ExitCode ?? 0,
      address: network?.IPAddress || null,
      gateway: network?.Gateway || null,
    };
  }

  /** Removes containers (with their anonymous volumes); missing ones are ignored. */
  async remove(
    containers: string[],
    options: { force?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    if (containers.length === 0) return;
    await this.version(options.signal);
    const results = await Promise.allSettled(
      containers.map((container) =>
        this.#call(
          `rm ${container}`,
          () =>
            this.#dial({
              path: `/containers/${container}?`,
              method: "DELETE",
              options: { v: true, force: options.force ?? false },
              statusCodes: {
                200: true,
                204: true,
                400: "bad parameter",
                404: "no such container",
                500: "server error",
              },
            }, options.signal),
          options.signal,
        )
      ),
    );
    const failure = results.find((r) =>
      r.status === "rejected" &&
      !(r.reason instanceof EngineApiError && r.reason.status === 404)
    );
    if (failure) throw (failure as PromiseRejectedResult).reason;
  }

  /**
   * Removes (forced, with volumes) every container carrying all `labels` (`key=value`).
   * @returns the IDs removed
   */
  async removeLabelled(labels: string[], options: { signal?: AbortSignal } = {}) {
    const found = await this.containers({ labels }, { labelKeys: [], signal: options.signal });
    const ids = found.map((c) => c.id);
    await this.remove(ids, { force: true, signal: options.signal });
    return ids;
  }

  /**
   * A container's whole output as it streams, one line at a time with the engine's timestamp,
   * stdout and stderr in the order the engine's log driver wrote them: memory holds one chunk,
   * never the output. Ends when the output does, or when `signal` aborts; a transport failure
   * midway throws an EngineApiError. `tail`: only the last that many lines. Default: all.
   * `of: "services"`: a swarm service's output (its tasks', through the manager). Default:
   * a container's.
   */
  async *outputLines(
    container: string,
    signal?: AbortSignal,
    options: { tail?: number; of?: "containers" | "services" } = {},
  ): AsyncIterable<OutputLine> {
    await this.version(signal);
    const of = options.of ?? "containers";
    const operation = `${of === "services" ? "service logs" : "logs"} ${container}`;
    const stream = await this.#call(
      operation,
      () =>
        new Promise<Duplex>((resolve, reject) =>
          this.#modem.dial({
            path: `/${of}/${encodeURIComponent(container)}/logs?`,
            method: "GET",
            isStream: true,
            abortSignal: signal,
            statusCodes: {
              200: true,
              404: `no such ${of === "services" ? "service" : "container"}`,
              500: "server error",
              503: "node is not part of a swarm",
            },
            options: {
              stdout: true,
              stderr: true,
              timestamps: true,
              follow: false,
              tail: options.tail ?? "all",
            },
          }, (error, stream) => error ? reject(error) : resolve(stream as Duplex))
        ),
      signal,
    );
    const stop = () => stream.destroy();
    signal?.addEventListener("abort", stop, { once: true });
    const splitter = new OutputLineSplitter();
    try {
      try {
        for await (const chunk of stream) yield* splitter.push(chunk as Uint8Array);
      } catch (error) {
        if (signal?.aborted) return;
        throw new EngineApiError(this.host, operation, null, errorMessage(error));
      }
      if (!signal?.aborted) yield* splitter.end();
    } finally {
      signal?.removeEventListener("abort", stop);
      stream.destroy();
    }
  }

  /**
   * The engine's events matching `filters` (`key=value`, e.g. `label=tm.run=x`, `event=die`),
   * from `since` (`seconds.nanoseconds` of the engine's clock: buffered events are replayed) on.
   * Ends when `signal` aborts or the stream breaks.
   */
  async *events(
    filters: string[],
    options: { since?: string; signal?: AbortSignal } = {},
  ): AsyncIterable<DockerEvent> {
    const { signal } = options;
    await this.version(signal);
    const query: Record<string, string[]> = {};
    for (const filter of filters) {
      const at = filter.indexOf("=");
      (query[filter.slice(0, at)] ??= []).push(filter.slice(at + 1));
    }
    const stream = await this.#call(
      "events",
      () =>
        new Promise<Duplex>((resolve, reject) =>
          this.#modem.dial({
            path: "/events?",
            method: "GET",
            isStream: true,
            abortSignal: signal,
            options: {
              ...(options.since ? { since: options.since } : {}),
              filters: JSON.stringify(query),
            },
            statusCodes: { 200: true, 500: "server error" },
          }, (error, stream) => error ? reject(error) : resolve(stream as Duplex))
        ),
      signal,
    );
    const stop = () => stream.destroy();
    signal?.addEventListener("abort", stop, { once: true });
    // The engine may send one event twice when it happens as the stream starts: it logs an
    // event, then publishes it, and a subscriber that came between gets it from the log
    // (`since`) and again live (seen on Engine 20.10 under load: pause, unpause, pause,
    // unpause). An event is its container, action and nanosecond time: a repeat is dropped.
    const recent = new Set<string>();
    const order: string[] = [];
    try {
      let buffer = "";
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let at: number;
        while ((at = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, at).trim();
          buffer = buffer.slice(at + 1);
          if (line === "") continue;
          const event = parseDockerEvent(line);
          const key = `${event.id} ${event.action} ${event.timeNano}`;
          if (recent.has(key)) continue;
          recent.add(key);
          order.push(key);
          if (order.length > RECENT_EVENTS) recent.delete(order.shift()!);
          yield event;
        }
      }
    } finally {
      signal?.removeEventListener("abort", stop);
      stream.destroy();
    }
  }

  /** Removes images (`docker rmi`); missing ones are fine, others report why per image. */
  async removeImages(
    images: string[],
    signal?: AbortSignal,
  ): Promise<{ removed: string[]; missing: string[]; failed: Map<string, string> }> {
    const report = { removed: [] as string[], missing: [] as string[], failed: new Map() };
    if (images.length === 0) return report;
    await this.version(signal);
    for (const image of images) {
      try {
        await this.#call(
          `rmi ${image}`,
          () =>
            this.#dial({
              path: `/images/${image}?`,
              method: "DELETE",
              statusCodes: {
                200: true,
                404: "no such image",
                409: "conflict",
                500: "server error",
              },
            }, signal),
          signal,
        );
        report.removed.push(image);
      } catch (error) {
        if (error instanceof EngineApiError && error.status === 404) report.missing.push(image);
        else if (error instanceof EngineApiError) report.failed.set(image, error.reason);
        else throw error;
      }
    }
    return report;
  }

  /**
   * The engine's image store (`/info`): classic or containerd, its driver and data root.
   * @throws ImageStoreProbeError when the answer does not say
   */
  async imageStore(signal?: AbortSignal): Promise<ImageStore> {
    await this.version(signal);
    const info = await this.#call(
      "info",
      () =>
        this.#dial<EngineInfo>({
          path: "/info",
          method: "GET",
          statusCodes: { 200: true, 500: "server error" },
        }, signal),
      signal,
    );
    return imageStoreOf(this.host, info);
  }

  /**
   * Diff IDs of the layers of every image the engine holds (`RootFS.Layers`), one list per
   * image: the image list, then an inspect of each (at once). An image removed meanwhile is
   * only missing from the answer.
   */
  async imageLayers(signal?: AbortSignal): Promise<string[][]> {
    await this.version(signal);
    const rows = await this.#call(
      "image ls",
      () =>
        this.#dial<{ Id: string }[]>({
          path: "/images/json?",
          method: "GET",
          options: { all: true },
          statusCodes: { 200: true, 400: "bad parameter", 500: "server error" },
        }, signal),
      signal,
    );
    const found = await this.images(rows.map((row) => row.Id), signal);
    return [...found.values()].flatMap((info) => info ? [info.layers] : []);
  }

  /**
   * Pulls an image from its registry (`POST /images/create`), reading the engine's progress to
   * its end: the pull is over only then, and a failure comes as the stream's last message.
   */
  async pull(image: string, signal?: AbortSignal): Promise<void> {
    await this.version(signal);
    const { name, tag } = splitReference(image);
    const response = await this.#stream(`pull ${image}`, {
      path: "/images/create?",
      method: "POST",
      options: { fromImage: name, ...(tag ? { tag } : {}) },
      statusCodes: { 200: true, 404: "no such image", 500: "server error" },
    }, signal);
    await this.#progress(`pull ${image}`, response, signal);
  }

  /**
   * Tags `image` as `repo:tag` (`POST /images/{name}/tag`), as `docker tag` does; an existing
   * `repo:tag` is moved to it.
   */
  async tag(image: string, repo: string, tag: string, signal?: AbortSignal): Promise<void> {
    await this.request(`tag ${image} ${repo}:${tag}`, {
      path: `/images/${image}/tag?`,
      method: "POST",
      options: { repo, tag },
      statusCodes: {
        200: true,
        201: true,
        400: "bad parameter",
        404: "no such image",
        409: "conflict",
        500: "server error",
      },
    }, signal);
  }

  /**
   * Pushes `repo:tag` to its registry (`POST /images/{name}/push`, `X-Registry-Auth` from
   * `auth`, `{}` for none), reading the engine's progress to its end: the push is over only
   * then, and a failure comes as an `error`/`errorDetail` line. Resolves with the digest the
   * registry stored the manifest under (the stream's `aux.Digest`, `sha256:…`).
   * @throws EngineApiError with the engine's message when the push fails or names no digest
   */
  async push(
    repo: string,
    tag: string,
    auth: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<string> {
    await this.version(signal);
    const operation = `push ${repo}:${tag}`;
    const response = await this.#stream(operation, {
      path: `/images/${repo}/push?`,
      method: "POST",
      options: { tag },
      headers: { "X-Registry-Auth": btoa(JSON.stringify(auth)) },
      statusCodes: { 200: true, 404: "no such image", 500: "server error" },
    }, signal);
    const messages = await this.#progress(operation, response, signal);
    const digest = messages.findLast((m) => m.aux?.Digest)?.aux?.Digest;
    if (!digest) {
      throw new EngineApiError(this.host, operation, 200, "the registry named no digest");
    }
    return digest;
  }

  /**
   * The archive `docker save` writes of `images` (`GET /images/get`), streamed as the engine
   * writes it. Cancelling the stream, or aborting `signal`, ends the request.
   */
  async exportImages(images: string[], signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    await this.version(signal);
    const response = await this.#stream(`save ${images.join(" ")}`, {
      path: "/images/get?",
      method: "GET",
      options: { names: images },
      statusCodes: { 200: true, 404: "no such image", 500: "server error" },
    }, signal);
    const stop = () => response.destroy(signal?.reason);
    signal?.addEventListener("abort", stop, { once: true });
    response.once("close", () => signal?.removeEventListener("abort", stop));
    return Readable.toWeb(response) as ReadableStream<Uint8Array>;
  }

  /**
   * Loads an image archive (`POST /images/load`, plain or gzip) read from `archive` as it comes,
   * and reads the engine's answer to its end: resolves once the engine loaded the whole archive.
   * @throws EngineApiError with the engine's message when it refuses the archive
   */
  async loadImages(archive: ReadableStream<Uint8Array>, signal?: AbortSignal): Promise<string[]> {
    await this.version(signal);
    // A Node stream the modem pipes into the request; never walked by its inspect (see the
    // constructor): it holds the archive's buffers.
    const body = opaqueToInspect(
      Readable.fromWeb(archive as import("node:stream/web").ReadableStream),
      "archive",
    );
    // Ending the body with an error ends the request (the modem destroys it): the engine sees
    // the client gone and discards what it staged. An abort of the HTTP request alone was not
    // seen to close it.
    const stop = () => body.destroy(signal?.reason ?? new Error("load aborted"));
    signal?.addEventListener("abort", stop, { once: true });
    try {
      const response = await this.#stream("load", {
        path: "/images/load?",
        method: "POST",
        options: { quiet: true },
        file: body,
        headers: { "Content-Type": "application/x-tar" },
        statusCodes: { 200: true, 400: "bad archive", 500: "server error" },
      }, signal);
      const messages = await this.#progress("load", response, signal);
      return messages.flatMap((m) => m.stream ? [m.stream.trim()] : []).filter((m) => m !== "");
    } catch (error) {
      body.destroy(error as Error);
      throw error;
    } finally {
      signal?.removeEventListener("abort", stop);
    }
  }

  /**
   * What `docker system prune -af` removes: stopped containers, unused networks, every unused
   * image and the build cache. Resolves with the bytes reclaimed.
   */
  async pruneAll(signal?: AbortSignal): Promise<number> {
    await this.version(signal);
    let reclaimed = 0;
    const prune = async (what: string, path: string, query: Record<string, unknown> = {}) => {
      const answer = await this.#call(
        `${what} prune`,
        () =>
          this.#dial<{ SpaceReclaimed?: number }>({
            path,
            method: "POST",
            options: query,
            statusCodes: { 200: true, 409: "a prune is running", 500: "server error" },
          }, signal),
        signal,
      );
      reclaimed += answer?.SpaceReclaimed ?? 0;
    };
    // In docker's order: containers first, so that their images and networks become unused.
    await prune("container", "/containers/prune?");
    await prune("network", "/networks/prune?");
    await prune("image", "/images/prune?", { filters: { dangling: ["false"] } });
    await prune("builder", "/build/prune?", { all: true });
    return reclaimed;
  }

  /**
   * Any other Engine API request, on this engine's negotiated version: for a runtime of its own
   * (the swarm's `/services`, `/nodes`, `/tasks`), with the same errors and traces as every call
   * here. Resolves with the engine's JSON answer.
   */
  async request<T>(operation: string, request: EngineRequest, signal?: AbortSignal): Promise<T> {
    await this.version(signal);
    return await this.#call(operation, () => this.#dial<T>(request, signal), signal);
  }

  /** One request through the modem (no version asked: callers do), its answer parsed. */
  #dial<T = unknown>(request: EngineRequest, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.#modem.dial(
        // The modem deletes what it reads from `options`: each request gets its own copy.
        { ...request, options: { ...request.options }, abortSignal: signal },
        (error, answer) => error ? reject(error) : resolve(answer as T),
      )
    );
  }

  /** Closes the kept-alive sockets; requests after it open new ones. */
  close(): void {
    this.#agent.destroy();
  }

  /**
   * Runs one API call, its failure as an EngineApiError naming the host and operation. An abort
   * of `signal` settles it at once with the signal's reason, whether or not the HTTP layer ends
   * the request (seen: requests aborted while the engine's runs started never called back).
   */
  async #call<T>(operation: string, request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      const pending = request();
      return await (signal ? abortable(pending, signal) : pending);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      if (error instanceof EngineApiError || error instanceof EngineVersionError) throw error;
      const status = (error as { statusCode?: number }).statusCode ?? null;
      const json = (error as { json?: { message?: string } | string | null }).json;
      const message = typeof json === "object" && json?.message
        ? json.message
        : typeof json === "string" && json.trim() !== ""
        ? json.trim()
        : errorMessage(error);
      if ((error as { name?: string }).name === "AbortError") throw error;
      throw new EngineApiError(this.host, redactUrls(operation), status, engineCause(message));
    }
  }

  /**
   * A POST without a body whose answer is no content (`pause`, `unpause`, `kill`: the faults'
   * calls), made with node:http on the same kept-alive sockets, not through dockerode's modem:
   * the modem spends ~0.6 ms at p50 and ~1.3 ms at p90 per request before its first byte is
   * written (URL parse, format and resolve, the query string, and a `util.inspect` of the
   * options, signal included, for a debug log it builds even when the log is off), ~0.3 ms
   * here (measured against the local engine, 60 calls each, interleaved). Traced and failing
   * as every other call.
   */
  #post(operation: string, path: string, signal?: AbortSignal): Promise<void> {
    const started = performance.now();
    const what = `POST /v${this.#spoken}${path.replace(/\?.*$/, "")}`;
    const request = new Promise<void>((resolve, reject) => {
      const answered = httpRequest({
        agent: this.#agent,
        host: "docker-engine",
        method: "POST",
        path: `/v${this.#spoken}${path}`,
        ...(signal ? { signal } : {}),
      }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve();
          const body = Buffer.concat(chunks).toString().trim();
          let message = body;
          try {
            message = (JSON.parse(body) as { message?: string }).message ?? body;
          } catch {
            // Not JSON: the body itself is the message.
          }
          reject(Object.assign(new Error(message || `HTTP ${status}`), { statusCode: status }));
        });
      });
      answered.on("error", reject);
      answered.end();
    });
    request.then(
      () =>
        this.#trace(`${this.host}: API ${what} ${Math.round(performance.now() - started)} ms, ok`),
      (error) =>
        this.#trace(
          `${this.host}: API ${what} ${Math.round(performance.now() - started)} ms, failed: ${
            (error as { statusCode?: number }).statusCode ?? errorMessage(error)
          }`,
        ),
    );
    return this.#call(operation, () => request, signal);
  }

  /** A request whose answer is read as a stream (the modem resolves on the headers). */
  #stream(
    operation: string,
    request: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    return this.#call(
      operation,
      () =>
        new Promise<IncomingMessage>((resolve, reject) =>
          this.#modem.dial(
            { ...request, isStream: true, abortSignal: signal } as never,
            (error: unknown, response: unknown) =>
              error ? reject(streamError(error)) : resolve(response as IncomingMessage),
          )
        ),
      signal,
    );
  }

  /**
   * Reads an engine's JSON progress stream (pull, load) to its end.
   * @throws EngineApiError with the engine's message when a line reports an error
   */
  async #progress(
    operation: string,
    response: IncomingMessage,
    signal?: AbortSignal,
  ): Promise<ProgressMessage[]> {
    const stop = () => response.destroy(signal?.reason);
    signal?.addEventListener("abort", stop, { once: true });
    try {
      const text = await this.#call(operation, async () => {
        let body = "";
        for await (const chunk of response) body += String(chunk);
        return body;
      }, signal);
      const messages = parseProgress(text);
      const failure = messages.find((m) => m.error !== undefined || m.errorDetail !== undefined);
      if (failure) {
        const reason = failure.errorDetail?.message ?? failure.error ?? "failed";
        throw new EngineApiError(this.host, operation, 200, engineCause(reason));
      }
      return messages;
    } finally {
      signal?.removeEventListener("abort", stop);
      response.destroy();
    }
  }

  /** Each request as a trace line with its duration, from the HTTP layer (docker-modem). */
  #traceRequests(): void {
    const modem = this.#modem;
    const dial = modem.dial.bind(modem);
    modem.dial = (options, done) => {
      const started = performance.now();
      dial(options, (error: unknown, ...rest: unknown[]) => {
        const ms = Math.round(performance.now() - started);
        // The modem prefixed the path with the API version.
        const what = `${options.method} ${options.path.replace(/\?$/, "")}`;
        const outcome = error
          ? `failed: ${(error as { statusCode?: number }).statusCode ?? errorMessage(error)}`
          : "ok";
        this.#trace(`${this.host}: API ${what} ${ms} ms, ${outcome}`);
        done(error, ...rest);
      });
    };
  }
}

/** `POST /containers/<id>/start`, as `run` and `start` send it. */
function startRequest(container: string): EngineRequest {
  return {
    path: `/containers/${container}/start?`,
    method: "POST",
    statusCodes: {
      200: true,
      204: true,
      304: "container already started",
      404: "no such container",
      500: "server error",
    },
  };
}

/** What tm reads of `GET /containers/<id>/json`. */
interface ContainerInspectAnswer {
  State?: { Running?: boolean; Paused?: boolean; Pid?: number; ExitCode?: number };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string; Gateway?: string }> };
}

/** The engine's message in one line, 64-digit IDs cut to docker's 12-digit short form. */
function engineCause(message: string): string {
  return message.split("\n").map((line) => line.trim()).filter((line) => line !== "")
    .join("; ").replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, "$1");
}

/** One line of the engine's JSON progress stream (pull, load). */
interface ProgressMessage {
  stream?: string;
  /** A push's result: the digest of the manifest the registry stored. */
  aux?: { Digest?: string };
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** The JSON messages of a progress stream; a line that is not JSON is kept as `stream` text. */
export function parseProgress(text: string): ProgressMessage[] {
  return text.split("\n").map((line) => line.trim()).filter((line) => line !== "").map((line) => {
    try {
      const parsed = JSON.parse(line) as unknown;
      return typeof parsed === "object" && parsed !== null
        ? parsed as ProgressMessage
        : { stream: line };
    } catch {
      return { stream: line };
    }
  });
}

/**
 * `name` and `tag` of an image reference, as `/images/create` takes them (`registry:5000/a/b:1`
 * is `registry:5000/a/b` and `1`; a digest reference keeps its digest in the name).
 */
export function splitReference(image: string): { name: string; tag: string | null } {
  if (image.includes("@")) return { name: image, tag: null };
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  return colon > slash
    ? { name: image.slice(0, colon), tag: image.slice(colon + 1) }
    : { name: image, tag: "latest" };
}

/**
 * A streamed request's failure with the engine's message as `json` (the modem puts it only in
 * its own message: `(HTTP code 404) no such image - <message> `).
 */
function streamError(error: unknown): unknown {
  const e = error as { json?: unknown; message?: string };
  if (e && typeof e === "object" && e.json == null && typeof e.message === "string") {
    const match = /^\(HTTP code \d+\) [^-]* - ([\s\S]*?)\s*$/.exec(e.message);
    if (match) e.json = { message: match[1] };
  }
  return error;
}
