/**
 * Test support: the whole `tm` command on a real terminal under a private tmux server (100×30),
 * driven with send-keys: for the TUI's end-to-end tests (tests/e2e/tui_test.ts, steer_test.ts).
 */
import type { Workspace } from "./e2e.ts";
import { until } from "./until.ts";

/**
 * How long a terminal test waits for each state of a real run. Real runs start containers and
 * ship images, on an engine other test files share: in a full suite run here, one run's Redis
 * container took 24 s to start (its `redis` phase 26.5 s) while host A's engine started ~40
 * containers for other tests (the engine's log), and its peers started 12 s after that.
 */
export const TERMINAL_WAIT_MS = 120_000;

/**
 * Polls `probe` until it returns a value, for up to TERMINAL_WAIT_MS; a probe that throws
 * counts as "not yet", and its last error is quoted if time runs out.
 */
export function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return until(what, probe, TERMINAL_WAIT_MS);
}

const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** A private tmux server running one shell command in a 100×30 window. */
export async function terminal(ws: Workspace, command: string) {
  const socket = `${ws.name}-tmux`;
  const tmux = async (...args: string[]): Promise<string> => {
    const out = await new Deno.Command("tmux", { args: ["-L", socket, ...args], stderr: "piped" })
      .output();
    if (!out.success) {
      throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
    return new TextDecoder().decode(out.stdout);
  };
  await tmux("-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30", command);
  return {
    screen: () => tmux("capture-pane", "-p", "-t", "e2e"),
    /** The screen and everything that scrolled off it. */
    history: () => tmux("capture-pane", "-p", "-S", "-", "-t", "e2e"),
    display: async (format: string) =>
      (await tmux("display-message", "-p", "-t", "e2e", format)).trim(),
    keys: (...keys: string[]) => tmux("send-keys", "-t", "e2e", ...keys),
    async [Symbol.asyncDispose]() {
      await tmux("kill-server").catch(() => {});
    },
  };
}

/** The shell command running tm in the workspace; its exit code goes to `<dir>/exit`. */
export function tmCommand(ws: Workspace, args: string[]): string {
  const { argv, env, cwd } = ws.command(args);
  const variables = Object.entries(env).map(([name, value]) => `${name}=${quote(value)}`);
  return [
    `cd ${quote(cwd)}`,
    `env -u CI -u NO_COLOR ${variables.join(" ")} ` +
    `${argv.map(quote).join(" ")} 2>${quote(`${ws.dir}/stderr`)}`,
    `echo $? > ${quote(`${ws.dir}/exit`)}`,
    "exec sleep 600",
  ].join("; ");
}

/** tm's exit code once it exited (the shell wrote it), else undefined. */
export async function exitCode(ws: Workspace): Promise<number | undefined> {
  try {
    const text = (await Deno.readTextFile(`${ws.dir}/exit`)).trim();
    return text === "" ? undefined : Number(text);
  } catch {
    return undefined;
  }
}
