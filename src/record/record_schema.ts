/**
 * The zod schemas of what a run record holds (docs/run-record.md): `events.jsonl`'s header and
 * event lines, and `summary.json`. A record is read back by `tm report` and `tm runs` from a disk
 * anyone may have edited, truncated or filled with something else; what the readers rely on is
 * checked here, with the same schema library as the config, so a damaged record is one line
 * naming the file, the line and the field, never a JavaScript error from deep inside a report.
 *
 * The schemas only check: the readers keep the value read, so fields and event types a later tm
 * adds are kept and ignored (the format's versioning rule, src/record/events_jsonl.ts). Strings
 * that name an open set (a phase, a fault, a log level) are any string: a report shows them as
 * they are. Each line is checked by one parse, its type's schema chosen by `type`, with zod's
 * stripping objects: on 200,000 peer-log lines, reading took 2.4 times JSON.parse alone (best of
 * 6 on the shared 2-core machine); a loose base schema, then the type's, took twice as long again.
 */
import { z } from "zod";
import type { EngineEventType } from "../engine/events.ts";

const count = z.number().int().nonnegative();
const port = z.number().int().min(0).max(65_535);
const verdict = z.enum(["passed", "failed", "interrupted"]);
const lines = z.array(z.string());

const placedPeer = z.object({
  peer: z.string(),
  hostIndex: z.number(),
  host: z.string(),
  address: z.string(),
  port,
  image: z.string(),
  listenAddr: z.string(),
});

const timelineCommand = z.object({
  index: z.number(),
  time: z.number(),
  peer: z.string(),
  command: z.string(),
});

const shaping = z.object({
  delayMs: z.number().optional(),
  jitterMs: z.number().optional(),
  lossPercent: z.number().optional(),
  rateKbit: z.number().optional(),
});

const faultAction = z.object({
  fault: z.string(),
  peers: lines,
  groups: z.array(lines).optional(),
  shaping: shaping.optional(),
});

const checkOutcome = z.object({
  index: count,
  description: z.string(),
  peers: lines,
  passed: z.boolean(),
  atMs: z.number(),
  evidence: lines.optional(),
});

const peerSummary = z.object({
  peer: z.string(),
  host: z.string(),
  status: z.string().nullable(),
  restarts: count,
  warnings: count,
  errors: count,
  exitCode: z.number().nullable().optional(),
  failure: z.string().optional(),
});

const state = z.enum(["started", "progress", "done", "failed"]);
const optionalString = z.string().optional();
const optionalNumber = z.number().optional();

/**
 * Each event type's fields but `t` and `type`. An event type missing here (one a later tm added)
 * is checked for `t` and `type` only, and ignored by the readers.
 */
const EVENT_FIELDS: Partial<Record<EngineEventType, z.ZodObject>> = {
  "run-started": z.object({
    test: z.string(),
    runId: z.string(),
    plan: z.array(placedPeer),
    timeline: z.array(timelineCommand),
    faults: z.array(faultAction.extend({ index: z.number(), time: z.number() })).optional(),
    logFile: optionalString,
    recordDir: optionalString,
  }),
  "phase": z.object({ phase: z.string() }),
  "redis-ready": z.object({ url: z.string() }),
  "host-connecting": z.object({ host: z.string(), address: z.string() }),
  "host-connected": z.object({ host: z.string(), address: z.string(), ms: z.number() }),
  "host-ready": z.object({ host: z.string(), docker: z.string() }),
  "host-lost": z.object({ host: z.string(), reason: z.string(), giveUpMs: z.number() }),
  "host-reconnected": z.object({
    host: z.string(),
    outageMs: z.number(),
    attempts: z.number(),
  }),
  "image-pull": z.object({
    image: z.string(),
    state: z.enum(["started", "done", "failed"]),
    detail: optionalString,
  }),
  "image-transfer": z.object({
    image: z.string(),
    host: z.string(),
    bytes: z.number(),
    total: optionalNumber,
    state,
    detail: optionalString,
  }),
  "image-skipped": z.object({ image: z.string(), host: z.string(), reason: z.string() }),
  "peer-starting": z.object({ peer: z.string(), host: z.string() }),
  "peer-launched": z.object({
    peer: z.string(),
    host: z.string(),
    id: optionalString,
    imageId: optionalString,
  }),
  "peer-status": z.object({
    peer: z.string(),
    status: z.string(),
    previous: z.string().nullable(),
    address: optionalString,
  }),
  "peer-log": z.object({ peer: z.string(), level: z.string(), message: z.string() }),
  "peer-exited": z.object({
    peer: z.string(),
    code: z.number().nullable(),
    expected: z.boolean(),
    output: lines.optional(),
    outputAt: lines.optional(),
  }),
  "peer-output": z.object({ peer: z.string(), output: lines, outputAt: lines.optional() }),
  "command-sent": z.object({
    peer: z.string(),
    command: z.string(),
    index: optionalNumber,
    dueMs: optionalNumber,
    lateMs: optionalNumber,
  }),
  "commands-acknowledged": z.object({
    indexes: z.array(z.number()),
    dueMs: z.number(),
    ackLateMs: z.number(),
  }),
  "command-undeliverable": z.object({
    peer: z.string(),
    command: z.string(),
    reason: z.string(),
    index: optionalNumber,
  }),
  "fault-applied": z.object({
    action: faultAction,
    index: optionalNumber,
    dueMs: optionalNumber,
    lateMs: optionalNumber,
    detail: optionalString,
  }),
  "fault-failed": z.object({
    action: faultAction,
    index: optionalNumber,
    dueMs: optionalNumber,
    reason: z.string(),
    targetGone: z.boolean(),
    detail: optionalString,
  }),
  "check-decided": z.object({ check: checkOutcome }),
  "left-behind": z.object({
    host: z.string(),
    containers: lines,
    reason: z.string(),
    remove: optionalString,
  }),
  "warning": z.object({ message: z.string(), peer: optionalString, host: optionalString }),
  "error": z.object({ message: z.string(), peer: optionalString, host: optionalString }),
  "trace": z.object({ message: z.string(), level: optionalString }),
  "run-finished": z.object({
    verdict,
    exitCode: z.number().int(),
    reason: optionalString,
    durationMs: z.number(),
    peers: z.array(peerSummary),
    checks: z.array(checkOutcome),
  }),
};

/** The first line of `events.jsonl`, once it says it is one (`format`, `version`). */
export const EventsHeaderSchema = z.object({
  format: z.string(),
  version: z.number(),
  tm: z.string(),
  wall: z.string(),
});

const eventBase = { t: z.number(), type: z.string() };
const lineBase = { wall: z.string(), timelineMs: z.number().optional() };

/** An event line whose type this tm does not know: only `t` and `type` are checked. */
const UNKNOWN_EVENT_LINE = z.object({ ...lineBase, event: z.object(eventBase) });

/** Each known type's whole line, checked in one parse. */
const EVENT_LINES = new Map(
  Object.entries(EVENT_FIELDS).map(([type, fields]) => [
    type,
    z.object({ ...lineBase, event: fields.extend(eventBase) }),
  ]),
);

/**
 * What is wrong with one parsed event line (src/record/events_jsonl.ts, `RecordedEvent`), one
 * line naming the field (`run-started event: plan: Invalid input: expected array, received
 * object`); null if it is a recorded event.
 */
export function recordedEventProblem(value: unknown): string | null {
  const event = (value as { event?: { type?: unknown } } | null)?.event;
  const type = typeof event?.type === "string" ? event.type : undefined;
  const known = type === undefined ? undefined : EVENT_LINES.get(type);
  const result = (known ?? UNKNOWN_EVENT_LINE).safeParse(value);
  if (result.success) return null;
  const path = result.error.issues[0].path;
  if (!known || path[0] !== "event" || path.length < 2 || path[1] === "t") {
    return `not an event line: ${firstProblem(result.error)}`;
  }
  return `${type} event: ${firstProblem(result.error, 1)}`;
}

/** `summary.json` (src/record/run_summary.ts, `RunSummary`): what `tm runs` reads of it. */
export const RunSummarySchema = z.object({
  summaryVersion: z.number(),
  test: z.string(),
  runId: z.string(),
  startedAt: z.iso.datetime({ offset: true }),
  durationMs: z.number().nonnegative(),
  verdict,
  exitCode: z.number().int(),
});

/**
 * What is wrong with `value` as `schema` has it, one line: the first problem, with its field path
 * (`durationMs: Invalid input: expected number, received string`); null if nothing is.
 */
export function schemaProblem(schema: z.ZodType, value: unknown): string | null {
  const result = schema.safeParse(value);
  return result.success ? null : firstProblem(result.error);
}

/** The first issue, its path without its first `skip` keys, and how many more there are. */
function firstProblem(error: z.ZodError, skip = 0): string {
  const issue = error.issues[0];
  const path = issue.path.slice(skip).map((key, i) =>
    typeof key === "number" ? `[${key}]` : `${i === 0 ? "" : "."}${String(key)}`
  ).join("");
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : "";
  return `${path ? `${path}: ` : ""}${issue.message}${more}`;
}
