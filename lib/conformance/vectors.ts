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

const Step = z.union([
  z.strictObject({ push: Lines }),
  z.strictObject({ await_status: z.string() }),
  z.strictObject({ signal: z.enum(["SIGTERM", "SIGINT"]) }),
]);

const Case = z.strictObject({
  name: z.string().min(1),
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
  | { signal: "SIGTERM" | "SIGINT" };

/** A case ready to run: every placeholder filled in, every repeat unrolled. */
export interface ConcreteCase {
  name: string;
  peer: string;
  env: Record<string, string>;
  unset: string[];
  redis: VectorCase["redis"];
  steps: Step[];
  expect: {
    exit: number | "nonzero";
    statuses?: string[];
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
    return step;
  });
  const e = vector.expect;
  return {
    name: vector.name,
    peer: vector.peer,
    env,
    unset: vector.unset,
    redis: vector.redis,
    steps,
    expect: {
      exit: e.exit,
      statuses: e.statuses?.map((s) => fill(s, values)),
      logs: e.logs && expandLines(e.logs, values),
      delayFile: e.delay_file === undefined ? undefined : fill(e.delay_file, values),
      stderrLine: e.stderr_line && {
        includes: e.stderr_line.includes.map((s) => fill(s, values)),
        excludes: e.stderr_line.excludes.map((s) => fill(s, values)),
      },
    },
  };
}
