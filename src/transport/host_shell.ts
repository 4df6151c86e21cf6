/**
 * HostShell: one long-lived `sh` per host, on one channel, that runs the commands which still
 * need the host itself (`tc` and `nsenter` for network faults, the fault tools check, `$HOME`
 * and the peer config dirs) one after another. Over SSH a command of its own is a channel and a
 * login shell (the user's rc files run first); through this shell it is one write and one read.
 *
 * Each command's stdout comes back up to a marker line carrying a random token (so nothing a
 * command prints can forge it) with its exit code and the length of its stderr, which the shell
 * kept in a temporary file and prints next. A shell that ended (the connection dropped, a
 * command aborted) is started again at the next command.
 */
import { Buffer } from "node:buffer";
import type { ExecOptions, ExecResult, Remote, RemoteProcess } from "./remote.ts";
import { RemoteError } from "./remote.ts";
import { commandLine } from "./shell.ts";
import { errorMessage } from "../base/errors.ts";

/** What runs a command on a host: a `Remote`, or its `HostShell`. */
export type HostCommands = Pick<Remote, "name" | "execute">;

export interface HostShellOptions {
  /** Receives one line per command with its duration, for `--verbose`. Default: none. */
  trace?: (message: string) => void;
}

/** Starts the shell: its stderr file, removed when it exits. */
const PRELUDE = "tm_err=$(mktemp) || exit 97; trap 'rm -f \"$tm_err\"' EXIT\n";

interface Running {
  process: RemoteProcess;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Bytes read and not yet consumed by a command. */
  buffer: Buffer;
  /** Woken whenever bytes arrive or the output ends. */
  wake: () => void;
  ended: boolean;
}

export class HostShell implements HostCommands {
  readonly #remote: Remote & { ready?(signal?: AbortSignal): Promise<void> };
  readonly #trace: (message: string) => void;
  #shell: Running | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** `remote` may be a ReconnectingRemote: a new shell then waits for the connection. */
  constructor(
    remote: Remote & { ready?(signal?: AbortSignal): Promise<void> },
    options: HostShellOptions = {},
  ) {
    this.#remote = remote;
    this.#trace = options.trace ?? (() => {});
  }

  get name(): string {
    return this.#remote.name;
  }

  /**
   * Runs `argv` in the shell once the commands before it are done, stdin closed. Resolves
   * whatever the exit code; rejects on a transport failure or abort (the shell is then ended,
   * which stops the command, and a new one serves the next command). `stdin` is not supported.
   */
  execute(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (options.stdin !== undefined) {
      return Promise.reject(new TypeError("HostShell.execute: stdin is not supported"));
    }
    const run = this.#queue.then(() => this.#run(argv, options.signal));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Ends the shell; idempotent. Commands after it reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const shell = this.#shell;
    this.#shell = null;
    if (!shell) return;
    await shell.writer.close().catch(() => {});
    shell.process.kill();
    await shell.process.status;
  }

  async #run(argv: string[], signal?: AbortSignal): Promise<ExecResult> {
    signal?.throwIfAborted();
    if (this.#closed) throw new RemoteError(this.name, "channel", "the host's shell was closed");
    const started = performance.now();
    try {
      const shell = await this.#open(signal);
      const token = crypto.randomUUID().replaceAll("-", "");
      const line = `${commandLine(argv)} </dev/null 2>"$tm_err"; tm_code=$?; ` +
        `printf '\\n%s %s %s\\n' ${token} "$tm_code" "$(($(wc -c <"$tm_err")))"; ` +
        `cat "$tm_err"\n`;
      await shell.writer.write(new TextEncoder().encode(line));
      const result = await this.#read(shell, token, argv, signal);
      this.#report(argv, started, `exit ${result.code}`);
      return result;
    } catch (error) {
      this.#report(argv, started, `failed: ${errorMessage(error)}`);
      throw error;
    }
  }

  async #open(signal?: AbortSignal): Promise<Running> {
    if (this.#shell && !this.#shell.ended) return this.#shell;
    this.#shell = null;
    await this.#remote.ready?.(signal);
    const process = this.#remote.spawn(["sh"], { signal: undefined });
    const writer = process.stdin.getWriter();
    const shell: Running = {
      process,
      writer,
      buffer: Buffer.alloc(0),
      wake: () => {},
      ended: false,
    };
    process.stderr.cancel().catch(() => {});
    void (async () => {
      try {
        for await (const chunk of process.stdout) {
          shell.buffer = Buffer.concat([shell.buffer, chunk]);
          shell.wake();
        }
      } catch {
        // ended below
      }
      shell.ended = true;
      shell.wake();
    })();
    this.#shell = shell;
    await writer.write(new TextEncoder().encode(PRELUDE));
    return shell;
  }

  /** Reads one command's answer: stdout, the marker line, then its stderr. */
  async #read(
    shell: Running,
    token: string,
    argv: string[],
    signal?: AbortSignal,
  ): Promise<ExecResult> {
    const marker = Buffer.from(`\n${token} `);
    const onAbort = () => this.#end(shell);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        const at = shell.buffer.indexOf(marker);
        if (at >= 0) {
          const lineEnd = shell.buffer.indexOf(0x0a, at + marker.length);
          if (lineEnd >= 0) {
            const [code, length] = shell.buffer.subarray(at + marker.length, lineEnd).toString()
              .split(" ").map(Number);
            const end = lineEnd + 1 + length;
            if (shell.buffer.length >= end) {
              const stdout = shell.buffer.subarray(0, at).toString("utf8");
              const stderr = shell.buffer.subarray(lineEnd + 1, end).toString("utf8");
              shell.buffer = shell.buffer.subarray(end);
              return { code, stdout, stderr };
            }
          }
        }
        signal?.throwIfAborted();
        if (shell.ended) {
          this.#end(shell);
          throw new RemoteError(
            this.name,
            "channel",
            `the host's shell ended while \`${argv[0]}\` ran`,
          );
        }
        await new Promise<void>((resolve) => shell.wake = resolve);
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Ends a shell (an aborted command goes with it); the next command starts a new one. */
  #end(shell: Running): void {
    if (this.#shell === shell) this.#shell = null;
    shell.ended = true;
    shell.process.kill();
    shell.wake();
  }

  #report(argv: string[], started: number, outcome: string): void {
    const ms = Math.round(performance.now() - started);
    const text = commandLine(argv).replaceAll("\n", " ");
    const shown = text.length <= 120 ? text : `${text.slice(0, 119)}…`;
    this.#trace(`${this.name}: shell \`${shown}\` ${ms} ms, ${outcome}`);
  }
}
