/**
 * Test support: a command on a real terminal that the test can close. A private tmux server
 * gives the command a pty; `setsid -c` makes the command the leader of that terminal's session,
 * as a login shell or `ssh -t host cmd` runs it, so closing the terminal (`hangUp()`, tmux
 * kill-server) makes the kernel send it SIGHUP, and its stdin, stdout and stderr fail with EIO
 * from then on. A shell outside that session waits for the command and records its exit code.
 */
import { until } from "./until.ts";

/** What to run: an argv, extra environment variables, a working directory. */
export interface TerminalCommand {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

/** A command running on its own terminal; `await using` closes the terminal and its files. */
export interface TerminalRun extends AsyncDisposable {
  /** The command's pid (the leader of its terminal's session). */
  pid(): Promise<number>;
  /** What the terminal shows now. */
  screen(): Promise<string>;
  /** Closes the terminal: the command gets SIGHUP, and its terminal is gone. Idempotent. */
  hangUp(): Promise<void>;
  /** The command's exit code (128 + n if signal n killed it), once it exited; `ms` default 120 s. */
  exitCode(ms?: number): Promise<number>;
}

/** Options of `runInTerminal`. */
export interface TerminalOptions {
  /** Terminal size (default 120 × 30). */
  columns?: number;
  rows?: number;
}

/** A single-quoted POSIX shell word. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Starts `command` on a new terminal (a private tmux server). */
export async function runInTerminal(
  command: TerminalCommand,
  options: TerminalOptions = {},
): Promise<TerminalRun> {
  const dir = await Deno.makeTempDir({ prefix: "tm-terminal-" });
  // The server's socket lives in `dir`, so removing `dir` leaves nothing in tmux's own dir.
  const socket = `${dir}/tmux.sock`;
  const pidFile = `${dir}/pid`;
  const codeFile = `${dir}/code`;
  const env = Object.entries(command.env).map(([name, value]) => quote(`${name}=${value}`));
  // The inner sh records its pid and execs setsid, which takes the terminal over (as root
  // `setsid -c` may take it from the outer shell's session) and execs the command in place.
  const script = [
    `cd ${quote(command.cwd)} || exit 99`,
    `sh -c 'echo $$ > "$0"; exec "$@"' ${quote(pidFile)} setsid -c env ${env.join(" ")} ${
      command.argv.map(quote).join(" ")
    }`,
    `echo $? > ${quote(codeFile)}.part && mv ${quote(codeFile)}.part ${quote(codeFile)}`,
  ].join("\n");
  await Deno.writeTextFile(`${dir}/run.sh`, script + "\n");
  const tmux = async (...args: string[]) => {
    const { code, stdout, stderr } = await new Deno.Command("tmux", {
      args: ["-S", socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(stderr).trim()}`);
    }
    return new TextDecoder().decode(stdout);
  };
  await tmux(
    "new-session",
    "-d",
    "-s",
    "main",
    "-x",
    String(options.columns ?? 120),
    "-y",
    String(options.rows ?? 30),
    `sh ${quote(`${dir}/run.sh`)}`,
  ).catch(async (error) => {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  });
  let closed = false;
  const hangUp = async () => {
    if (closed) return;
    closed = true;
    await tmux("kill-server").catch(() => {});
  };
  const readNumber = async (path: string) => {
    try {
      const text = (await Deno.readTextFile(path)).trim();
      return text === "" ? undefined : Number(text);
    } catch {
      return undefined;
    }
  };
  return {
    pid: () => until("the command's pid", () => readNumber(pidFile)),
    screen: () => tmux("capture-pane", "-p", "-t", "main"),
    hangUp,
    exitCode: (ms = 120_000) => until("the command's exit", () => readNumber(codeFile), ms),
    async [Symbol.asyncDispose]() {
      await hangUp();
      // The outer shell records the exit code; let it finish before its directory goes.
      await until("the command's exit", () => readNumber(codeFile), 60_000).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
