/**
 * The conformance vectors (cases.json): their schema, and their expansion into concrete cases
 * (placeholders filled in, `repeat` items unrolled). Pure data handling; no I/O but `loadVectors`.
 */
import { z } from "npm:zod@^4.6.7";

/** `{ "repeat": n, "each": "text with {i}" }`: n strings, `{i}` = 1..n. */
const Repeat = z.strictObject({
  repeat: z.int().min(0),
  each: z.string(),
});

/** A list of strings where an item may be a Repeat. */
const Lines = z.array(z.union([z.string(), Repeat]));

/** The statuses `tm` acts on, as it reads them (address info and failure reason dropped). */
const TmStatus = z.enum(["started", "restarting", "stopped", "failed"]);

const Step = z.union([
  z.strictObject({ push: Lines }),
  z.strictObject({ await_status: z.string() }),
  /** Until the peer SETs a status that `tm` reads as this one (`started|<anything>` → started). */
  z.strictObject({ await_tm_status: TmStatus }),
  z.strictObject({ signal: z.enum(["SIGTERM", "SIGINT"]) }),
  /** Sends nothing for this many seconds; the peer must not exit meanwhile. */
  z.strictObject({ idle: z.number().positive().max(60) }),
  /**
   * What the image's entrypoint does: the peer must exit 42 with the delay file holding
   * `delay`; the runner removes the file, sleeps that long and starts the peer again.
   */
  z.strictObject({ entrypoint_restart: z.strictObject({ delay: z.string() }) }),
]);

/**
 * `protocol`: only what tm relies on (docs/protocol.md), which any peer written against the
 * protocol passes; `library`: the client libraries' own guarantees on top (their wording, the
 * `fail` hook, the connect timeout, SIGTERM).
 */
export const LEVELS = ["protocol", "library"] as const;
export type Level = typeof LEVELS[number];

const Case = z.strictObject({
  name: z.string().min(1),
  level: z.enum(LEVELS),
  /** PEER_NAME, and the prefix of the case's Redis keys. */
  peer: z.string().regex(/^[a-z][a-z0-9-]*$/),
  /** Extra environment for the peer. */
  env: z.record(z.string(), z.string()).default({}),
  /** Variables the runner would set but this case leaves out. */
  unset: z.array(z.enum(["REDIS_URL", "PEER_NAME"])).default([]),
  /**
   * Which REDIS_URL the peer gets: `default` (the runner's server, database 0), `acl-db3` (a
   * user and password the runner creates, database 3), `unreachable` (a closed port, with a
   * user and password that must never be printed).
   */
  redis: z.enum(["default", "acl-db3", "unreachable"]).default("default"),
  steps: z.array(Step),
  expect: z.strictObject({
    /** Exit code, or "nonzero". */
    exit: z.union([z.int().min(0).max(255), z.literal("nonzero")]),
    /** Every status the peer SETs, in order. */
    statuses: z.array(z.string()).optional(),
    /** Every status `tm` acts on, in order, as it reads them (the others are not compared). */
    tm_statuses: z.array(TmStatus).optional(),
    /** How many commands `<peer>_command` still holds after the peer exited. */
    commands_left: z.int().min(0).optional(),
    /**
     * Commands the peer was sent: the log lines that name one of them must name each once in
     * order, none missing at the end. `skip_if_none`: the case is not applicable (skipped) to a
     * peer that logs no line naming them.
     */
    command_log: z.strictObject({ commands: Lines, skip_if_none: z.boolean().default(false) })
      .optional(),
    /** Every line in `<peer>_log`, oldest first. */
    logs: Lines.optional(),
    /** Content of the delay file after the peer exited. */
    delay_file: z.string().optional(),
    /** stderr holds exactly one non-empty line, with every `includes` and no `excludes`. */
    stderr_line: z.strictObject({
      includes: z.array(z.string()),
      excludes: z.array(z.string()).default([]),
    }).optional(),
  }),
});

const Vectors = z.object({ cases: z.array(Case).min(1) });

/** One case as written in cases.json. */
export type VectorCase = z.infer<typeof Case>;
/** One step of a case, placeholders filled in. */
export type Step =
  | { push: string[] }
  | { await_status: string }
  | { await_tm_status: TmStatus }
  | { signal: "SIGTERM" | "SIGINT" }
  | { idle: number }
  | { entrypoint_restart: { delay: string } };

/** A status `tm` acts on (see `tmReading`). */
export type TmStatus = z.infer<typeof TmStatus>;

/** A case ready to run: every placeholder filled in, every repeat unrolled. */
export interface ConcreteCase {
  name: string;
  level: Level;
  peer: string;
  env: Record<string, string>;
  unset: string[];
  redis: VectorCase["redis"];
  steps: Step[];
  expect: {
    exit: number | "nonzero";
    statuses?: string[];
    tmStatuses?: TmStatus[];
    commandsLeft?: number;
    commandLog?: { commands: string[]; skipIfNone: boolean };
    logs?: string[];
    delayFile?: string;
    stderrLine?: { includes: string[]; excludes: string[] };
  };
}

/** cases.json is malformed: names the file and the path of the bad value. */
export class VectorsError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "VectorsError";
  }
}

/** Reads and validates a vectors file. */
export async function loadVectors(file: string): Promise<VectorCase[]> {
  let data: unknown;
  try {
    data = JSON.parse(await Deno.readTextFile(file));
  } catch (error) {
    throw new VectorsError(file, (error as Error).message);
  }
  const parsed = Vectors.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VectorsError(file, `${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data.cases;
}

/** Values of the placeholders of one case (`{vlad}` etc.); `{i}` is added by repeats. */
export type Placeholders = Record<string, string>;

/** Replaces `{name}` by its value; an unknown placeholder is a mistake in the vectors. */
export function fill(text: string, values: Placeholders): string {
  return text.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new Error(`unknown placeholder ${whole} in ${JSON.stringify(text)}`);
    }
    return value;
  });
}

/** Unrolls repeats and fills placeholders of a list of lines. */
export function expandLines(lines: z.infer<typeof Lines>, values: Placeholders): string[] {
  return lines.flatMap((line) =>
    typeof line === "string"
      ? [fill(line, values)]
      : Array.from({ length: line.repeat }, (_, i) =>
        fill(line.each, { ...values, i: String(i + 1) }))
  );
}

/** The concrete case for `values` (computed by the runner: vlad, multiaddr, delay file...). */
export function concreteCase(vector: VectorCase, values: Placeholders): ConcreteCase {
  const env = Object.fromEntries(Object.entries(vector.env).map(([k, v]) => [k, fill(v, values)]));
  const steps: Step[] = vector.steps.map((step) => {
    if ("push" in step) return { push: expandLines(step.push, values) };
    if ("await_status" in step) return { await_status: fill(step.await_status, values) };
    if ("entrypoint_restart" in step) {
      return { entrypoint_restart: { delay: fill(step.entrypoint_restart.delay, values) } };
    }
    return step;
  });
  const e = vector.expect;
  return {
    name: vector.name,
    level: vector.level,
    peer: vector.peer,
    env,
    unset: vector.unset,
    redis: vector.redis,
    steps,
    expect: {
      exit: e.exit,
      statuses: e.statuses?.map((s) => fill(s, values)),
      tmStatuses: e.tm_statuses,
      commandsLeft: e.commands_left,
      commandLog: e.command_log && {
        commands: expandLines(e.command_log.commands, values),
        skipIfNone: e.command_log.skip_if_none,
      },
      logs: e.logs && expandLines(e.logs, values),
      delayFile: e.delay_file === undefined ? undefined : fill(e.delay_file, values),
      stderrLine: e.stderr_line && {
        includes: e.stderr_line.includes.map((s) => fill(s, values)),
        excludes: e.stderr_line.excludes.map((s) => fill(s, values)),
      },
    },
  };
}

/**
 * A status as `tm` reads it: `started` and `failed` with anything after a `|`, `restarting`,
 * `stopped`; undefined for the statuses it only displays (`connecting`, ...).
 */
export function tmReading(status: string): TmStatus | undefined {
  const word = status.split("|", 1)[0];
  if (word === "started" || word === "failed") return word;
  if (status === "restarting" || status === "stopped") return status;
  return undefined;
}

/** The cases a level runs: `protocol` its own; `library` every case (it includes the protocol). */
export function casesOfLevel<T extends { level: Level }>(cases: readonly T[], level: Level): T[] {
  return level === "library" ? [...cases] : cases.filter((c) => c.level === level);
}
