/**
 * Where a run's record goes: `<parent>/<name>-<YYYY-MM-DD-HH-MM-SS>/` (docs/run-record.md), a
 * directory no other run writes to.
 */

/** Default parent of run records, relative to the working directory. */
export const DEFAULT_RUNS_DIR = "tm-runs";

/**
 * `<name>-YYYY-MM-DD-HH-MM-SS` in local time, characters unsafe in file names replaced by `_`:
 * the stem of a run's log file and of its run record directory.
 */
export function runFileStem(testName: string, date: Date): string {
  // deno-lint-ignore no-control-regex
  const safe = testName.replace(/[\/\\:*?"<>|\x00-\x1f\x7f]/g, "_").replace(/^\.+/, "_").trim();
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}-${
    p(date.getHours())
  }-${p(date.getMinutes())}-${p(date.getSeconds())}`;
  return `${safe || "tm"}-${stamp}`;
}

/**
 * Creates the run's directory under `parent` (created if missing). Two runs started in the same
 * second never share one: if `<stem>` exists, `<stem>-2`, `-3`, … is used, as the log file does.
 * @returns its path
 */
export function createRunDirectory(parent: string, testName: string, date: Date): string {
  Deno.mkdirSync(parent, { recursive: true });
  const stem = `${parent.replace(/\/+$/, "")}/${runFileStem(testName, date)}`;
  for (let n = 1;; n++) {
    const candidate = n === 1 ? stem : `${stem}-${n}`;
    try {
      // mkdir without `recursive` fails on an existing directory: the first to create it owns it.
      Deno.mkdirSync(candidate);
      return candidate;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}
