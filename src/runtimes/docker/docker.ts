/**
 * Docker: the docker CLI on one host, run through a `Remote`, with typed results parsed from its
 * JSON output; and the types the Engine API client (engine_api.ts) shares with it. It serves only
 * the local Redis container (docker_redis.ts), which starts once per run, off the timeline: every
 * Docker operation on the hosts goes through the Engine API. Failures are `DockerError`s naming
 * the host, the command and what docker printed on stderr.
 */
import { COMMAND_NOT_FOUND } from "../../transport/local.ts";
import type { ExecResult, Remote } from "../../transport/remote.ts";
import { commandLine } from "../../transport/shell.ts";
import { redactUrls } from "../../base/url_redaction.ts";

/** A docker command failed (non-zero exit, or docker is missing or unreachable). */
export class DockerError extends Error {
  constructor(
    /** Host display name. */
    readonly host: string,
    /** The command as run, e.g. `["docker", "run", ...]`. */
    readonly argv: string[],
    /** Exit code; null when killed. */
    readonly code: number | null,
    /** What docker printed on stderr, trimmed. */
    readonly stderr: string,
    message?: string,
  ) {
    super(
      message ??
        `${host}: docker ${argv[1] ?? ""} failed (exit ${code ?? "killed"}): ${
          dockerCause(stderr) || "no output"
        } (command: ${shownCommand(argv)})`,
    );
    this.name = "DockerError";
  }
}

/** What `docker run -d` starts. */
export interface RunSpec {
  image: string;
  /** Container name. Default: docker picks one. */
  name?: string;
  labels?: Record<string, string>;
  /** Environment; values arrive literally (newlines, quotes, `$()` included). */
  env?: Record<string, string>;
  /** Published ports, e.g. `{ host: 11984, container: 11984, protocol: "udp" }`. */
  ports?: { host: number; container: number; protocol?: "tcp" | "udp"; bind?: string }[];
  /** Bind mounts `source:target`. */
  volumes?: { source: string; target: string }[];
  /** `--add-host` entries, e.g. `host.docker.internal:host-gateway`. */
  addHosts?: string[];
  /** Command after the image. Default: the image's. */
  command?: string[];
  /** Replaces the image's entrypoint (the Engine API only). Default: the image's. */
  entrypoint?: string[];
}

/** One row of `docker ps`. */
export interface ContainerSummary {
  id: string;
  name: string;
  /** created, running, exited, ... */
  state: string;
  /** The values of the labels asked for (missing labels are absent). */
  labels: Record<string, string>;
}

/** The parts of an image's inspect (`GET /images/{name}/json`) tm uses. */
export interface ImageInfo {
  /** `sha256:...` */
  id: string;
  /** Uncompressed size in bytes. */
  size: number;
  /** Diff IDs of its layers, bottom first (`.RootFS.Layers`). */
  layers: string[];
}

/** A `docker events` line (container events). */
export interface DockerEvent {
  /** die, start, destroy, ... */
  action: string;
  id: string;
  attributes: Record<string, string>;
  /** Daemon clock, nanoseconds since the epoch. */
  timeNano: number;
}

export interface DockerOptions {
  /** The docker command. Default: `["docker"]`. */
  command?: string[];
}

export class Docker {
  readonly #docker: string[];

  constructor(readonly remote: Remote, options: DockerOptions = {}) {
    this.#docker = options.command ?? ["docker"];
  }

  /** Host display name. */
  get host(): string {
    return this.remote.name;
  }

  /** Runs `docker <args>`; returns the result whatever the exit code. */
  async raw(
    args: string[],
    options: { signal?: AbortSignal; stdin?: string | Uint8Array } = {},
  ): Promise<ExecResult & { argv: string[] }> {
    const argv = [...this.#docker, ...args];
    const result = await this.remote.execute(argv, options);
    return { ...result, argv };
  }

  /** Runs `docker <args>`; throws DockerError unless it exits 0; returns stdout. */
  async call(args: string[], options: { signal?: AbortSignal } = {}): Promise<string> {
    const result = await this.raw(args, options);
    if (result.code !== 0) throw this.#error(result);
    return result.stdout;
  }

  /** `docker run -d`; resolves with the container ID. */
  async run(spec: RunSpec, signal?: AbortSignal): Promise<string> {
    const out = await this.call(runArgs(spec), { signal });
    return out.trim();
  }

  /** `docker rm -v [-f]` of containers (IDs or names); missing ones are ignored. */
  async rm(containers: string[], options: { force?: boolean; signal?: AbortSignal } = {}) {
    if (containers.length === 0) return;
    const result = await this.raw(
      ["rm", "-v", ...(options.force ? ["-f"] : []), ...containers],
      { signal: options.signal },
    );
    if (result.code === 0) return;
    const problems = result.stderr.split("\n").filter((line) =>
      line.trim() !== "" && !/no such container/i.test(line)
    );
    if (problems.length > 0) throw this.#error({ ...result, stderr: problems.join("\n") });
  }

  /**
   * Containers (all states) carrying every `label` filter (`key` or `key=value`), plus name
   * filters (docker's substring/regexp match). `labelKeys` are read into `labels`.
   */
  async containers(
    filters: { labels?: string[]; names?: string[] },
    options: { labelKeys?: string[]; signal?: AbortSignal } = {},
  ): Promise<ContainerSummary[]> {
    const keys = options.labelKeys ?? [];
    const labelFields = keys.map((key) =>
      `${JSON.stringify(key)}:{{json (.Label ${JSON.stringify(key)})}}`
    )
      .join(",");
    const format =
      `{"id":{{json .ID}},"name":{{json .Names}},"state":{{json .State}},"labels":{${labelFields}}}`;
    const args = ["ps", "-a", "--no-trunc", "--format", format];
    for (const label of filters.labels ?? []) args.push("--filter", `label=${label}`);
    for (const name of filters.names ?? []) args.push("--filter", `name=${name}`);
    const out = await this.call(args, { signal: options.signal });
    return out.split("\n").filter((line) => line !== "").map((line) => {
      const row = JSON.parse(line) as ContainerSummary;
      row.labels = Object.fromEntries(Object.entries(row.labels).filter(([, v]) => v !== ""));
      return row;
    });
  }

  /**
   * The last `lines` lines of a container's output (`Infinity`: all of it), stdout and stderr
   * interleaved in the order they were written (merged by docker's timestamps).
   */
  async logs(container: string, lines = 50, signal?: AbortSignal): Promise<string[]> {
    const result = await this.raw(
      ["logs", "--timestamps", "--tail", Number.isFinite(lines) ? String(lines) : "all", container],
      { signal },
    );
    if (result.code !== 0) throw this.#error(result);
    return mergeTimestamped(result.stdout, result.stderr).slice(-lines);
  }

  #error(result: ExecResult & { argv: string[] }, why?: string): DockerError {
    const stderr = result.stderr.trim();
    let message: string | undefined;
    if (result.code === COMMAND_NOT_FOUND && /not found/i.test(stderr)) {
      message = `${this.host}: docker is not installed (or not on PATH for non-interactive ` +
        `sessions): ${stderr}`;
    } else if (/cannot connect to the docker daemon|docker daemon.*running/i.test(stderr)) {
      message = `${this.host}: the Docker daemon is not reachable: ${stderr}`;
    } else if (/permission denied.*docker.sock/i.test(stderr)) {
      message =
        `${this.host}: no permission to use Docker (add the SSH user to the docker group): ${stderr}`;
    } else if (why) {
      message = `${this.host}: docker ${result.argv[1] ?? ""}: ${why}: ${
        dockerCause(stderr)
      } (command: ${shownCommand(result.argv)})`;
    }
    return new DockerError(this.host, result.argv, result.code, stderr, message);
  }
}

/** The arguments of `docker run -d` for a spec. */
export function runArgs(spec: RunSpec): string[] {
  const args = ["run", "-d"];
  if (spec.name) args.push("--name", spec.name);
  for (const [key, value] of Object.entries(spec.labels ?? {})) {
    args.push("--label", `${key}=${value}`);
  }
  for (const port of spec.ports ?? []) {
    const bind = port.bind ? `${port.bind}:` : "";
    args.push("-p", `${bind}${port.host}:${port.container}/${port.protocol ?? "tcp"}`);
  }
  for (const [key, value] of Object.entries(spec.env ?? {})) args.push("-e", `${key}=${value}`);
  for (const volume of spec.volumes ?? []) args.push("-v", `${volume.source}:${volume.target}`);
  for (const host of spec.addHosts ?? []) args.push("--add-host", host);
  args.push(spec.image, ...(spec.command ?? []));
  return args;
}

/**
 * Merges `docker logs --timestamps` stdout and stderr into one list in time order and strips
 * the timestamps. RFC 3339 timestamps with nanoseconds compare as
 * strings.
 */
export function mergeTimestamped(
  stdout: string,
  stderr: string,
): string[] {
  const parse = (text: string) =>
    text.split("\n").filter((line) => line !== "").map((line) => {
      const space = line.indexOf(" ");
      return space > 0 && /^\d{4}-\d\d-\d\dT/.test(line)
        ? { at: line.slice(0, space), text: line.slice(space + 1) }
        : { at: "", text: line };
    });
  const out = parse(stdout);
  const err = parse(stderr);
  const merged: string[] = [];
  let i = 0;
  let j = 0;
  while (i < out.length || j < err.length) {
    if (j >= err.length || (i < out.length && padNanos(out[i].at) <= padNanos(err[j].at))) {
      merged.push(out[i++].text);
    } else merged.push(err[j++].text);
  }
  return merged;
}

/** Docker trims trailing zeros of the fraction; pad it so timestamps compare as strings. */
function padNanos(at: string): string {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/.exec(at);
  if (!match) return at;
  return `${match[1]}.${(match[2] ?? "").padEnd(9, "0")}${match[3]}`;
}

/** One line of the engine's event stream (`/events`, `docker events --format '{{json .}}'`). */
export function parseDockerEvent(line: string): DockerEvent {
  const raw = JSON.parse(line) as {
    Action?: string;
    status?: string;
    id?: string;
    Actor?: { ID?: string; Attributes?: Record<string, string> };
    timeNano?: number;
  };
  return {
    action: raw.Action ?? raw.status ?? "",
    id: raw.Actor?.ID ?? raw.id ?? "",
    attributes: raw.Actor?.Attributes ?? {},
    timeNano: raw.timeNano ?? 0,
  };
}

/**
 * Docker's stderr as the cause in a one-line message: its lines joined, the `docker:` and
 * `Error response from daemon:` lead-ins and the `Run 'docker run --help'` footer dropped, and
 * 64-digit IDs cut to docker's 12-digit short form, so the cause (`bind: address already in
 * use`) comes early enough that a view cutting the line to its width still shows it.
 */
function dockerCause(stderr: string): string {
  return stderr.split("\n").map((line) => line.trim())
    .filter((line) => line !== "" && !/^Run '.*--help' for more information\.?$/.test(line))
    .join("; ")
    .replace(/^(docker: )?(Error response from daemon: )?/, "")
    .replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, "$1");
}

/** A command line for a message: URL passwords (a peer's REDIS_URL) masked, then abbreviated. */
function shownCommand(argv: string[]): string {
  return abbreviate(redactUrls(commandLine(argv)));
}

function abbreviate(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
