/**
 * TimedRemote: a `Remote` that reports every command it runs with how long it took, for the
 * `--verbose` trace. Setup and teardown cost is counted in sequential round trips to each host
 * (each one is a remote shell start-up over SSH), and this is where they show.
 */
import type { Duplex } from "node:stream";
import type { ExecOptions, ExecResult, Remote, RemoteProcess } from "./remote.ts";
import { commandLine } from "./shell.ts";
import { errorMessage } from "../base/errors.ts";

/** Longest command text a trace line shows before it is cut with `…`. */
const MAX_COMMAND_CHARS = 120;

export class TimedRemote implements Remote {
  /**
   * @param remote the remote whose commands are timed
   * @param trace receives one line per finished command (and one per started stream)
   */
  constructor(readonly remote: Remote, readonly trace: (message: string) => void) {}

  get name(): string {
    return this.remote.name;
  }

  get disconnected(): AbortSignal {
    return this.remote.disconnected;
  }

  orchestratorAddress(): Promise<string | null> {
    return this.remote.orchestratorAddress();
  }

  async execute(argv: string[], options?: ExecOptions): Promise<ExecResult> {
    const started = performance.now();
    try {
      const result = await this.remote.execute(argv, options);
      this.#report(argv, started, `exit ${result.code ?? "killed"}`);
      return result;
    } catch (error) {
      this.#report(argv, started, `failed: ${errorMessage(error)}`);
      throw error;
    }
  }

  spawn(argv: string[], options?: { signal?: AbortSignal }): RemoteProcess {
    const started = performance.now();
    const process = this.remote.spawn(argv, options);
    process.status.then((status) =>
      this.#report(argv, started, `stream ended, exit ${status.code ?? "killed"}`)
    );
    return process;
  }

  dialSocket(path: string, signal?: AbortSignal): Promise<Duplex> {
    return this.remote.dialSocket(path, signal);
  }

  close(): Promise<void> {
    return this.remote.close();
  }

  #report(argv: string[], started: number, outcome: string): void {
    const ms = Math.round(performance.now() - started);
    this.trace(`${this.name}: \`${shorten(commandLine(argv))}\` ${ms} ms, ${outcome}`);
  }
}

function shorten(text: string): string {
  const line = text.replaceAll("\n", " ");
  return line.length <= MAX_COMMAND_CHARS ? line : `${line.slice(0, MAX_COMMAND_CHARS - 1)}…`;
}
