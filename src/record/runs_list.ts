/**
 * `tm runs [dir]`: the runs recorded in a directory (default `tm-runs`), oldest first, with name,
 * date, verdict and duration (docs/run-record.md, "tm runs").
 */
import { Limiter } from "../base/async.ts";
import { errorMessage, UsageError } from "../base/errors.ts";
import { RECORD_FILES } from "./record_files.ts";
import { NotARunDirectoryError, readRecordedEvents, readSummary } from "./recorded_run.ts";

/** One run in the list. */
export interface RunListing {
  /** The run directory's name. */
  name: string;
  /** When it started, ISO 8601 UTC. */
  date: string;
  /** `passed`, `failed`, `interrupted`, or `unfinished` (no summary: tm was killed). */
  verdict: string;
  /** ms; for an unfinished run, up to its last recorded event. */
  durationMs: number;
}

/** A directory entry `tm runs` did not list, and why. */
export interface SkippedRun {
  /** The entry's name. */
  name: string;
  /** One line: what is wrong, naming the file. */
  reason: string;
}

/** What `tm runs` found. */
export interface RunsFound {
  runs: RunListing[];
  /** Directories (or links to them) that are not readable runs. */
  skipped: SkippedRun[];
  /** Runs listed from `events.jsonl` because their `summary.json` is damaged: why, one line each. */
  notes: string[];
}

/** How many runs are read at once (a run without a summary is read whole). */
const READ_AT_ONCE = 4;

/**
 * The runs under `dir`, oldest first. Subdirectories and symbolic links to directories are runs;
 * one without a readable `events.jsonl` (nor a valid `summary.json`) is skipped and said so.
 * Other files (log files) are not runs and are passed over.
 * @throws UsageError if `dir` is not a directory
 */
export async function listRuns(dir: string): Promise<RunsFound> {
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(
        `${dir}: no such directory (runs are recorded under --out, default tm-runs)`,
      );
    }
    if (error instanceof Deno.errors.NotADirectory) {
      throw new UsageError(`${dir}: not a directory`);
    }
    throw new UsageError(`${dir}: ${errorMessage(error)}`);
  }
  const found: RunsFound = { runs: [], skipped: [], notes: [] };
  const limiter = new Limiter(READ_AT_ONCE);
  await Promise.all(entries.map((entry) =>
    limiter.run(async () => {
      const path = `${dir.replace(/\/+$/, "")}/${entry.name}`;
      if (!entry.isDirectory) {
        if (!entry.isSymlink) return;
        try {
          if (!(await Deno.stat(path)).isDirectory) return;
        } catch (error) {
          const target = await Deno.readLink(path).catch(() => "?");
          const reason = error instanceof Deno.errors.NotFound
            ? `${path}: a symbolic link to ${target}, which does not exist`
            : `${path}: a symbolic link to ${target}, which cannot be read: ${errorMessage(error)}`;
          found.skipped.push({ name: entry.name, reason });
          return;
        }
      }
      try {
        found.runs.push(await listing(path, entry.name, found.notes));
      } catch (error) {
        const reason = error instanceof NotARunDirectoryError
          ? `${path}: not a run (no ${RECORD_FILES.events})`
          : errorMessage(error);
        found.skipped.push({ name: entry.name, reason });
      }
    })
  ));
  found.runs.sort((a, b) => a.date.localeCompare(b.date) || a.name.localeCompare(b.name));
  found.skipped.sort((a, b) => a.name.localeCompare(b.name));
  found.notes.sort();
  return found;
}

/**
 * One run, from its summary if it has a valid one, else from its events.
 * @throws UsageError if neither can be read
 */
async function listing(path: string, name: string, notes: string[]): Promise<RunListing> {
  const read = await readSummary(path);
  if (read && "summary" in read) {
    const { summary } = read;
    return {
      name,
      date: summary.startedAt,
      verdict: summary.verdict,
      durationMs: summary.durationMs,
    };
  }
  const { header, events } = await readRecordedEvents(path);
  if (read) notes.push(`${read.problem}; ${name} listed from its ${RECORD_FILES.events}`);
  const finished = events.find((r) => r.event.type === "run-finished")?.event;
  return {
    name,
    date: header.wall,
    verdict: finished?.type === "run-finished" ? finished.verdict : "unfinished",
    durationMs: events.at(-1)?.event.t ?? 0,
  };
}

/** The list as a table: a header, then one line per run; or one line saying there are none. */
export function formatRuns(dir: string, runs: readonly RunListing[]): string {
  if (runs.length === 0) return `no runs in ${dir}`;
  const rows = [
    ["RUN", "DATE", "VERDICT", "DURATION"],
    ...runs.map((run) => [
      run.name,
      run.date.replace("T", " ").replace(/\.\d+Z$/, "Z"),
      run.verdict,
      `${(run.durationMs / 1_000).toFixed(1)} s`,
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row.map((cell, column) =>
      column === 3 ? cell.padStart(widths[column]) : cell.padEnd(widths[column])
    )
      .join("  ").trimEnd()
  ).join("\n");
}
