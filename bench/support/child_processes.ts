/**
 * Simulated peers spread over several child processes (each this benchmark file run again with
 * other arguments), so no one event loop simulates them all and saturates first. The parent
 * talks to them by lines: it writes a word to every child's stdin and reads each child's
 * stdout lines (diagnostics go to stderr, which is inherited).
 */
import { lines } from "../../tests/support/process_output.ts";

/** Children of one benchmark, started together and driven by lines. */
export class ChildProcesses implements AsyncDisposable {
  readonly #children: Deno.ChildProcess[];
  readonly #lines: AsyncGenerator<string>[];
  readonly #writers: WritableStreamDefaultWriter<Uint8Array>[];

  private constructor(children: Deno.ChildProcess[]) {
    this.#children = children;
    this.#lines = children.map((child) => lines(child.stdout));
    this.#writers = children.map((child) => child.stdin.getWriter());
  }

  /**
   * Starts `count` children: `deno run -A <script> ...argsOf(i)`.
   * @param script path of the file to run (a benchmark runs itself with a `--peers` flag)
   */
  static spawn(script: string, count: number, argsOf: (i: number) => string[]): ChildProcesses {
    return new ChildProcesses(
      Array.from({ length: count }, (_, i) =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "--allow-all", script, ...argsOf(i)],
          stdin: "piped",
          stdout: "piped",
          stderr: "inherit",
        }).spawn()),
    );
  }

  /** Waits until every child printed a line starting with `word`; returns those lines by child. */
  each(word: string): Promise<string[]> {
    return Promise.all(this.#lines.map(async (output, i) => {
      for (;;) {
        const next = await output.next();
        if (next.done) throw new Error(`peer process ${i} ended before saying ${word}`);
        if (next.value.startsWith(word)) return next.value;
      }
    }));
  }

  /** Writes `word` and a newline to every child's stdin. */
  async tell(word: string): Promise<void> {
    const bytes = new TextEncoder().encode(`${word}\n`);
    await Promise.all(this.#writers.map((writer) => writer.write(bytes)));
  }

  /** Kills the children that are still running and waits for all of them; idempotent. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#children.map(async (child, i) => {
      await this.#writers[i].close().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await child.status;
      await this.#lines[i].return(undefined).catch(() => {});
    }));
  }
}

/** Child side: the words the parent writes to stdin, one per line. */
export function parentWords(): AsyncGenerator<string> {
  return lines(Deno.stdin.readable);
}
