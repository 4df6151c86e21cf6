/**
 * Test support: run records written by the real recorder (`openRunRecord`) from scripted events
 * into a temp dir, and read back, for the record's unit tests.
 */
import type { EngineEvent } from "../../src/engine/events.ts";
import { type EventsFile, parseEvents } from "../../src/record/events_jsonl.ts";
import { RECORD_FILES } from "../../src/record/record_files.ts";
import { openRunRecord, type RunRecord } from "../../src/record/run_record.ts";
import { PLAN } from "./scripted_events.ts";

/** The config bytes the scripted records are given (with a byte that is not UTF-8). */
export const CONFIG_BYTES = new Uint8Array([
  ...new TextEncoder().encode("name: demo\n# \xff\n"),
  0xff,
]);

/** A temp dir that removes itself. */
export async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "tm-record-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** A run record of test `demo` (or `name`) of PLAN, tm 9.9.9, opened under `parent`. */
export function openDemoRecord(
  parent: string,
  options: { name?: string; date?: Date } = {},
): RunRecord {
  return openRunRecord({
    parent,
    testName: options.name ?? "demo",
    config: CONFIG_BYTES,
    plan: PLAN,
    tm: "9.9.9",
    ...(options.date ? { date: options.date } : {}),
  });
}

/** Records `events` under `parent` as a run of `name`, closes the record, returns it. */
export async function recordRun(
  parent: string,
  events: readonly EngineEvent[],
  options: { name?: string; date?: Date } = {},
): Promise<RunRecord> {
  const record = openDemoRecord(parent, options);
  for (const event of events) record.sink(event);
  await record.close();
  return record;
}

/** The record's `events.jsonl`, parsed. */
export async function readEventsOf(dir: string): Promise<EventsFile> {
  const path = `${dir}/${RECORD_FILES.events}`;
  return parseEvents(await Deno.readTextFile(path), path);
}
