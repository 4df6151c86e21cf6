/**
 * LocalRemote: a `Remote` that runs commands on this machine through `Deno.Command` (an argv,
 * no shell), so the Docker code drives the local engine exactly as it drives a host over SSH.
 */
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import type { ExecOptions, ExecResult, Remote, RemoteProcess } from "./remote.ts";
import { RemoteError } from "./remote.ts";

/** Exit code a shell reports for a command it cannot find; used when `argv[0]` is missing. */
export const COMMAND_NOT_FOUND = 127;

export interface LocalRemoteOptions {
  /** Display name in messages. Default: "local". */
  name?: string;
  /** Extra environment for every command (e.g. `DOCKER_HOST`). Default: none. */
  env?: Record<string, string>;
}

export class LocalRemote implements Remote {
  readonly name: string;
  readonly #env: Record<string, string> | undefined;
  readonly #children = new Set<RemoteProcess>();
  readonly #disconnected = new AbortController();
  #closed = false;

  constructor(options: LocalRemoteOptions = {}) {
    this.name = options.name ?? "local";
    this.#env = options.env;
  }

  /** Aborted by `close()` only: this machine cannot be lost. */
  get disconnected(): AbortSignal {
    return this.#disconnected.signal;
  }

  /** Always null: commands run on this machine, which reaches itself through loopback. */
  orchestratorAddress(): Promise<string | null> {
    return Promise.resolve(null);
  }

  async execute(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const child = this.spawn(argv, { signal: options.signal });
    const writing = (async () => {
      const writer = child.stdin.getWriter();
      try {
        if (options.stdin !== undefined) {
          const bytes = typeof options.stdin === "string"
            ? new TextEncoder().encode(options.stdin)
            : options.stdin;
          await writer.write(bytes);
        }
        await writer.close();
      } catch {
        // The command exited without reading all of its input; its status tells the story.
      }
    })();
    const [stdout, stderr, status] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.status,
      writing,
    ]).then(([out, err, status]) => [out, err, status] as const);
    options.signal?.throwIfAborted();
    return { code: status.code, stdout, stderr };
  }

  spawn(argv: string[], options: { signal?: AbortSignal } = {}): RemoteProcess {
    if (this.#closed) throw new Error(`${this.name}: remote is closed`);
    if (argv.length === 0) throw new TypeError("spawn: empty argv");
    options.signal?.throwIfAborted();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(argv[0], {
        args: argv.slice(1),
        env: this.#env,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return notFound(argv[0]);
      throw error;
    }
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
    };
    const onAbort = () => kill();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const process: RemoteProcess = {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      status: child.status.then((s) => ({ code: s.signal === null ? s.code : null })),
      kill,
    };
    this.#children.add(process);
    process.status.finally(() => {
      options.signal?.removeEventListener("abort", onAbort);
      this.#children.delete(process);
    });
    return process;
  }

  /** A connection to the Unix socket `path` on this machine. */
  dialSocket(path: string, signal?: AbortSignal): Promise<Duplex> {
    signal?.throwIfAborted();
    if (this.#closed) return Promise.reject(new Error(`${this.name}: remote is closed`));
    return new Promise((resolve, reject) => {
      const socket = connect({ path });
      const onError = (error: Error) =>
        reject(
          new RemoteError(
            this.name,
            "channel",
            `cannot reach the socket ${path}: ${error.message}`,
            {
              cause: error,
            },
          ),
        );
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.removeListener("error", onError);
        socket.setNoDelay(true);
        resolve(socket);
      });
    });
  }

  /** Kills every command still running; idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#disconnected.abort(new RemoteError(this.name, "channel", "the remote was closed"));
    const waits = [...this.#children].map((child) => {
      child.kill();
      return child.status;
    });
    return Promise.all(waits).then(() => {});
  }
}

/** A finished process that reports "command not found" the way a remote shell would. */
function notFound(command: string): RemoteProcess {
  const message = new TextEncoder().encode(`${command}: command not found\n`);
  return {
    stdin: new WritableStream(),
    stdout: new ReadableStream({ start: (c) => c.close() }),
    stderr: new ReadableStream({
      start: (c) => {
        c.enqueue(message);
        c.close();
      },
    }),
    status: Promise.resolve({ code: COMMAND_NOT_FOUND }),
    kill: () => {},
  };
}
