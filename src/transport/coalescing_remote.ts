/**
 * CoalescingRemote: a `Remote` that sends the commands issued at the same time to the host as
 * ONE shell script, so they cost one round trip instead of one each.
 *
 * Over SSH every command is a channel whose login shell starts first (the user's shell rc files
 * run for non-interactive SSH commands too): measured on the testbed's host A, about 0.25–0.6 s
 * per command on a loaded 2-core machine, far more than the docker command itself (~20 ms).
 * Setup asks a host five things before its first `docker run` and the engine starts eight peers
 * at a time, so coalescing what is asked in the same tick removes most of those start-ups.
 *
 * Commands queued in one macrotask form a batch (at most `maxBatch`, at most `maxScripts`
 * batches in flight; what is issued meanwhile waits for the next); the script runs them
 * `parallel` at a time, each with its own stdout, stderr and exit code, and prints them back
 * between markers carrying a random token, so whatever the commands print cannot forge a marker.
 * A batch of one is sent as it is. Commands with stdin and streams (`spawn`) pass through.
 */
import type { Duplex } from "node:stream";
import type { ExecOptions, ExecResult, Remote, RemoteProcess } from "./remote.ts";
import { commandLine } from "./shell.ts";

export interface CoalescingOptions {
  /** Most commands in one script. Default: 32. */
  maxBatch?: number;
  /** Commands of a script running at once on the host. Default: 32. */
  parallel?: number;
  /**
   * Scripts in flight at once; commands issued meanwhile wait and go out together in the next.
   * Bounds the docker commands running on a host at `maxScripts × parallel`. Default: 2.
   */
  maxScripts?: number;
  /** Told of every script of several commands as it is sent (for the trace). Default: none. */
  onBatch?: (commands: string[][]) => void;
}

interface Queued {
  argv: string[];
  signal?: AbortSignal;
  /** Part of a script on its way: an abort no longer takes it back. */
  sent: boolean;
  resolve: (result: ExecResult) => void;
  reject: (error: unknown) => void;
}

export class CoalescingRemote implements Remote {
  readonly #remote: Remote;
  readonly #maxBatch: number;
  readonly #parallel: number;
  readonly #maxScripts: number;
  #inFlight = 0;
  readonly #onBatch: (commands: string[][]) => void;
  #queue: Queued[] = [];
  #scheduled = false;

  constructor(remote: Remote, options: CoalescingOptions = {}) {
    this.#remote = remote;
    this.#maxBatch = options.maxBatch ?? 32;
    this.#parallel = options.parallel ?? 32;
    this.#maxScripts = options.maxScripts ?? 2;
    this.#onBatch = options.onBatch ?? (() => {});
  }

  get name(): string {
    return this.#remote.name;
  }

  get disconnected(): AbortSignal {
    return this.#remote.disconnected;
  }

  orchestratorAddress(): Promise<string | null> {
    return this.#remote.orchestratorAddress();
  }

  execute(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (options.stdin !== undefined) return this.#remote.execute(argv, options);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<ExecResult>((resolve, reject) => {
      // Aborted while still queued: never sent. Once sent, the caller waits for its script to
      // end (killed when every caller of that script gave up) and then rejects: like a command
      // of its own, it settles only when nothing it started runs on (a `docker run` aborted
      // mid-way may still create its container, and the teardown must come after it).
      const queued: Queued = {
        argv,
        signal,
        sent: false,
        resolve: (result) => {
          signal?.removeEventListener("abort", onAbort);
          if (signal?.aborted) reject(signal.reason);
          else resolve(result);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(signal?.aborted ? signal.reason : error);
        },
      };
      const onAbort = () => {
        if (queued.sent) return;
        this.#queue = this.#queue.filter((q) => q !== queued);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(queued);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setTimeout(() => this.#flush(), 0);
      }
    });
  }

  spawn(argv: string[], options?: { signal?: AbortSignal }): RemoteProcess {
    return this.#remote.spawn(argv, options);
  }

  dialSocket(path: string, signal?: AbortSignal): Promise<Duplex> {
    return this.#remote.dialSocket(path, signal);
  }

  close(): Promise<void> {
    return this.#remote.close();
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#inFlight < this.#maxScripts && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      for (const q of batch) q.sent = true;
      this.#inFlight++;
      void this.#send(batch).finally(() => {
        this.#inFlight--;
        this.#flush();
      });
    }
  }

  async #send(batch: Queued[]): Promise<void> {
    // The host's command is killed only when every caller gave up on it.
    const signals = batch.map((q) => q.signal);
    const signal = signals.every((s) => s !== undefined) ? allAborted(signals) : undefined;
    try {
      if (batch.length === 1) {
        batch[0].resolve(await this.#remote.execute(batch[0].argv, { signal }));
        return;
      }
      this.#onBatch(batch.map((q) => q.argv));
      const token = crypto.randomUUID();
      const script = batchScript(batch.map((q) => q.argv), token, this.#parallel);
      const result = await this.#remote.execute(["sh", "-c", script], { signal });
      const results = parseBatch(result.stdout, token, batch.length);
      batch.forEach((q, i) => {
        const own = results[i];
        if (own) q.resolve(own);
        else {
          q.reject(
            new Error(
              `${this.name}: \`${commandLine(q.argv)}\` got no result from its batch ` +
                `(exit ${result.code ?? "killed"}): ${result.stderr.trim() || "no output"}`,
            ),
          );
        }
      });
    } catch (error) {
      for (const q of batch) q.reject(error);
    }
  }
}

/** A signal aborted once every one of `signals` is. */
function allAborted(signals: (AbortSignal | undefined)[]): AbortSignal {
  const controller = new AbortController();
  let left = signals.length;
  for (const signal of signals) {
    const done = () => {
      if (--left === 0) controller.abort(signal!.reason);
    };
    if (signal!.aborted) done();
    else signal!.addEventListener("abort", done, { once: true });
  }
  return controller.signal;
}

/**
 * The script that runs `commands`, at most `parallel` at a time (a sliding window: a FIFO holds
 * one token per free slot), each one's output in its own files under a temporary directory,
 * then prints them in order between `token` markers:
 * `<token>:<i>:o\n<stdout>\n<token>:<i>:e\n<stderr>\n<token>:<i>:c:<code>\n`.
 */
export function batchScript(commands: string[][], token: string, parallel: number): string {
  const lines = [
    `d=$(mktemp -d) || exit 125`,
    `trap 'rm -rf "$d"' EXIT`,
    `mkfifo "$d/slots" && exec 3<>"$d/slots" || exit 125`,
    `i=0; while [ $i -lt ${Math.max(1, parallel)} ]; do echo >&3; i=$((i + 1)); done`,
  ];
  commands.forEach((argv, i) => {
    lines.push(
      `read _ <&3; { ${commandLine(argv)} >"$d/${i}o" 2>"$d/${i}e" </dev/null 3>&-; ` +
        `echo $? >"$d/${i}c"; echo >&3; } &`,
    );
  });
  lines.push("wait");
  commands.forEach((_, i) => {
    lines.push(
      `printf '%s\\n' '${token}:${i}:o'; cat "$d/${i}o"; ` +
        `printf '\\n%s\\n' '${token}:${i}:e'; cat "$d/${i}e"; ` +
        `printf '\\n%s:%s\\n' '${token}:${i}:c' "$(cat "$d/${i}c" 2>/dev/null)"`,
    );
  });
  return lines.join("\n");
}

/** Each command's result from a batch script's stdout; undefined where it is missing. */
export function parseBatch(
  stdout: string,
  token: string,
  count: number,
): (ExecResult | undefined)[] {
  const results: (ExecResult | undefined)[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const open = `${token}:${i}:o\n`;
    const middle = `\n${token}:${i}:e\n`;
    const close = `\n${token}:${i}:c:`;
    const start = stdout.indexOf(open, at);
    const mid = start < 0 ? -1 : stdout.indexOf(middle, start + open.length);
    const end = mid < 0 ? -1 : stdout.indexOf(close, mid + middle.length);
    const eol = end < 0 ? -1 : stdout.indexOf("\n", end + close.length);
    if (eol < 0) {
      results.push(undefined);
      continue;
    }
    const code = stdout.slice(end + close.length, eol);
    results.push({
      code: /^\d+$/.test(code) ? Number(code) : null,
      stdout: stdout.slice(start + open.length, mid),
      stderr: stdout.slice(mid + middle.length, end),
    });
    at = eol + 1;
  }
  return results;
}
