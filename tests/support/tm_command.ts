/**
 * Test support: `tm` run to the end as a subprocess (`deno run -A main.ts <args>`), its output
 * captured, colour off. End-to-end tests on the test bed use `Workspace.run` (tests/support/e2e.ts),
 * which adds the test bed's environment.
 */

import denoJson from "../../deno.json" with { type: "json" };

/** The repository root, where `main.ts` is. */
export const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * The V8 flags tm runs with, as `deno run` takes them: those of deno.json's `tm` task (their
 * owner; the `compile` task and the release build carry the same, tests/cli/launch_flags_test.ts).
 * For what measures tm as users run it (bench/support/testbed_rounds.ts).
 */
export const TM_V8_FLAGS: string[] = denoJson.tasks.tm.split(/\s+/).filter((arg) =>
  arg.startsWith("--v8-flags=")
);

/** What a finished tm printed and returned. */
export interface TmOutput {
  code: number;
  stdout: string;
  stderr: string;
  /** The signal that ended it (null: it exited). */
  signal: Deno.Signal | null;
}

/** Runs tm with `args` in `cwd` (where a run writes its log file and run record) to its end. */
export function runTm(cwd: string, ...args: string[]): Promise<TmOutput> {
  return runTmUntil(undefined, cwd, ...args);
}

/** As `runTm`; tm is killed (SIGTERM) if `signal` aborts first: a hang ends as `signal`. */
export async function runTmUntil(
  signal: AbortSignal | undefined,
  cwd: string,
  ...args: string[]
): Promise<TmOutput> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    ...(signal ? { signal } : {}),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    signal: output.signal,
  };
}
