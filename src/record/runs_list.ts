/**
 * `tm runs [dir]`: the runs recorded in a directory (default `tm-runs`), oldest first, with name,
 * date, verdict and duration (docs/run-record.md, "tm runs").
 */
import { UsageError } from "../base/errors.ts";
import { readRecordedEvents, readSummary } from "./recorded_run.ts";

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

/**
 * The runs under `dir`; subdirectories without `events.jsonl`, or with one that cannot be read,
 * are skipped.
 * @throws UsageError if `dir` is not a directory
 */
export async function listRuns(dir: string): Promise<RunListing[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isDirectory) names.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(
        `${dir}: no such directory (runs are recorded under --out, default tm-runs)`,
      );
    }
    if (error instanceof Deno.errors.NotADirectory) {
      throw new UsageError(`${dir}: not a directory`);
    }
    throw new UsageError(`${dir}: ${(error as Error).message}`);
  }
  const runs = await Promise.all(names.map((name) => listing(`${dir}/${name}`, name)));
  return runs.filter((run): run is RunListing => run !== null)
    .sort((a, b) => a.date.localeCompare(b.date) || a.name.localeCompare(b.name));
}

async function listing(path: string, name: string): Promise<RunListing | null> {
  const summary = await readSummary(path);
  if (summary) {
    return {
      name,
      date: summary.startedAt,
      verdict: summary.verdict,
      durationMs: summary.durationMs,
    };
  }
  try {
    const { header, events } = await readRecordedEvents(path);
    const finished = events.find((r) => r.event.type === "run-finished")?.event;
    return {
      name,
      date: header.wall,
      verdict: finished?.type === "run-finished" ? finished.verdict : "unfinished",
      durationMs: events.at(-1)?.event.t ?? 0,
    };
  } catch {
    return null;
  }
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
