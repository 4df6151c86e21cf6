/** A peer under test: the `--peer-cmd` command line as a local process with its output kept. */

/** A running peer process. */
export class PeerProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  /** Exit code once it exited (128 + n when killed by signal n). */
  readonly exited: Promise<number>;
  /** Everything it wrote on stdout / stderr, once it exited. */
  readonly stdout: Promise<string>;
  readonly stderr: Promise<string>;
  #exitCode: number | undefined;

  /**
   * Runs `command` with `sh -c 'exec <command>'`: shell words and quoting work, and signals sent
   * to this process reach the peer itself, not a shell in between.
   * @param env the peer's whole environment (nothing else is inherited)
   */
  constructor(command: string, env: Record<string, string>) {
    this.#child = new Deno.Command("sh", {
      args: ["-c", `exec ${command}`],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new Response(this.#child.stdout).text();
    this.stderr = new Response(this.#child.stderr).text();
    this.exited = this.#child.status.then((status) => {
      this.#exitCode = status.code;
      return status.code;
    });
  }

  /** The exit code if it exited already. */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  /** Sends `signal` unless it exited already. */
  signal(signal: Deno.Signal): void {
    if (this.#exitCode !== undefined) return;
    try {
      this.#child.kill(signal);
    } catch { /* exited meanwhile */ }
  }

  /** Resolves to its exit code, or undefined if `signal` aborts first. */
  async waitExit(signal: AbortSignal): Promise<number | undefined> {
    if (signal.aborted) return this.#exitCode;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([this.exited, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort!);
    }
  }

  /** Kills it (SIGKILL) if still running and waits for its end and its output. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.signal("SIGKILL");
    await this.exited;
    await Promise.all([this.stdout, this.stderr]);
  }
}
