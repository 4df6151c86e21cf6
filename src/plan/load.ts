/**
 * Loading a tm config: YAML text → validated `Config`, or a `ConfigError` listing every
 * problem with its YAML path and line:column. `parseConfig` is pure (yaml + zod only);
 * `loadConfigFile` adds reading the file.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { Document } from "yaml";
import { z } from "zod";
import {
  type Config,
  ExpectSchema,
  FileFaultSchema,
  HostSchema,
  PeerEntrySchema,
  SshHostSchema,
  TestFileSchema,
  TimelineEntrySchema,
  TimeoutSchema,
} from "./schema.ts";
import { resolveSeed } from "./seed.ts";
import { ConfigError, type ConfigProblem } from "./config_error.ts";
import { aliasBeyondLimit, type AliasIndex, indexAliases } from "./yaml_aliases.ts";
import {
  closestMatch,
  type ConfigParts,
  type PathProblem,
  type PathSegment,
  validateConfig,
} from "./validate.ts";
import { errorMessage } from "../base/errors.ts";
import { planConfig } from "./plan_config.ts";

/** Where a problem points: at the value of its path, or at the map key that ends it. */
type Anchor = "value" | "key";

interface LocatedProblem extends PathProblem {
  anchor?: Anchor;
}

/** Largest config file read; hand-written configs are a few kilobytes. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

const SHAPE_HINT = "a tm config is a map with name, redis, hosts, peers and commands";

/**
 * Parses and validates a config: YAML syntax, the schema, then the cross-field checks; then
 * expands it (`expansion.ts`): groups into peers, selectors into names, random bootstraps drawn
 * from the file's `seed` (or a new one, set in the result's `seed`).
 *
 * @param text the YAML source
 * @param file the file name used in error messages
 * @throws ConfigError listing every problem found
 */
export function parseConfig(text: string, file: string): Config {
  const tooMany = aliasBeyondLimit(text);
  if (tooMany) {
    const before = text.slice(0, tooMany.offset);
    throw new ConfigError(file, [{
      path: "",
      line: before.split("\n").length,
      column: tooMany.offset - before.lastIndexOf("\n"),
      message: tooMany.message,
    }]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    keepSourceTokens: true,
    prettyErrors: false,
    // The library would print its warnings on stderr (a complex key stringified); tm reports.
    logLevel: "error",
  });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((error) => ({
        path: "",
        ...position(error.pos[0]),
        message: error.code === "MULTIPLE_DOCS"
          ? "invalid YAML: the file holds more than one document (a second ---); a tm config is one document"
          : error.code === "DUPLICATE_KEY"
          ? `invalid YAML: duplicate key ${
            JSON.stringify(/^[^:\n]*/.exec(text.slice(error.pos[0]))![0].trim())
          } (each key may appear once per map)`
          : `invalid YAML: ${error.message}`,
      })),
    );
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) {
    throw new ConfigError(file, [{
      path: "",
      message: `the file is empty (nothing but blank lines or comments); ${SHAPE_HINT}`,
    }]);
  }
  // Before anything resolves an alias (describing a top level that is not a map does): the yaml
  // library throws a bare ReferenceError on an alias with no anchor (`*:`).
  const aliases = indexAliases(doc);
  if (aliases.problems.length > 0) {
    throw new ConfigError(
      file,
      aliases.problems.map(({ offset, message }) => ({ path: "", ...position(offset), message })),
    );
  }
  if (!isMap(root)) {
    const found = isSeq(root) ? "a list" : `a single value (${describe(doc.toJS())})`;
    throw new ConfigError(file, [{
      path: "",
      ...position(root.range?.[0] ?? 0),
      message: `the top level is ${found}, but ${SHAPE_HINT}`,
    }]);
  }

  // aliasProblems bounded what aliases expand to; the library's own count is redundant then.
  const data: unknown = doc.toJS({ maxAliasCount: -1 });
  const result = TestFileSchema.safeParse(data);
  // Drawn once here: validation checks what chaos draws from it, and the run uses the same.
  const seed = resolveSeed(result.success ? result.data.seed : undefined);
  const problems: LocatedProblem[] = result.success ? validateConfig({ ...result.data, seed }) : [
    ...firstPerPath(result.error.issues.flatMap((issue) => issueProblems(issue, data, []))),
    ...validateConfig(partsOf(data)),
  ];
  if (problems.length > 0) {
    const located = problems.map((problem): ConfigProblem => ({
      path: formatPath(problem.path),
      ...locate(doc, aliases, problem.path, problem.anchor ?? "value", position),
      message: problem.message,
    }));
    throw new ConfigError(file, sortByPosition(dedupe(located)));
  }
  // Groups, selectors and chaos are expanded here, once: the engine sees concrete peers.
  return planConfig(result.data!, seed);
}

/**
 * Reads and parses a config file.
 *
 * @throws ConfigError for a missing, unreadable, empty or invalid file (each with its own message)
 */
export async function loadConfigFile(path: string): Promise<Config> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) {
      throw new ConfigError(path, [{ path: "", message: "is a directory, not a config file" }]);
    }
    bytes = await readAtMost(path, MAX_CONFIG_BYTES);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const message = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "cannot read the file: permission denied"
      : `cannot read the file: ${errorMessage(error)}`;
    throw new ConfigError(path, [{ path: "", message }], { cause: error });
  }
  if (bytes.length > MAX_CONFIG_BYTES) {
    throw new ConfigError(path, [{
      path: "",
      message: `is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB; a tm config is a few ` +
        "kilobytes (is this the right file?)",
    }]);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new ConfigError(path, [{ path: "", message: "is not UTF-8 text" }], { cause: error });
  }
  return parseConfig(text, path);
}

/**
 * Reads up to `limit + 1` bytes of `path`, so that a device (`/dev/zero`) or a huge file costs
 * no more than that and a result longer than `limit` says the file is too big.
 */
async function readAtMost(path: string, limit: number): Promise<Uint8Array> {
  using file = await Deno.open(path);
  const buffer = new Uint8Array(limit + 1);
  let filled = 0;
  while (filled < buffer.length) {
    const read = await file.read(buffer.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return buffer.subarray(0, filled);
}

/** `peers[2].runs_on`, `peer_environment["MY VAR"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

// ---- zod issues → problems ----------------------------------------------------------------

type Issue = z.core.$ZodIssue;

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a map",
  record: "a map",
};

function issueProblems(issue: Issue, data: unknown, base: PathSegment[]): LocatedProblem[] {
  const path = [...base, ...issue.path.map((p) => typeof p === "number" ? p : String(p))];
  const { exists, value } = valueAt(data, path);
  switch (issue.code) {
    case "invalid_type": {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (!exists) return [{ path, message: "is required but missing" }];
      if (value === null) {
        return [{
          path,
          message: `is empty; expected ${expected}` +
            (issue.expected === "array" ? " (write [] for an empty list)" : ""),
        }];
      }
      return [{ path, message: `expected ${expected}, got ${describe(value)}` }];
    }
    case "too_small": {
      const min = Number(issue.minimum);
      if (issue.origin === "string") {
        return [{
          path,
          message: min === 1 ? "must not be empty" : `must be at least ${min} characters`,
        }];
      }
      if (issue.origin === "array") {
        return [{ path, message: `must list at least ${min} ${min === 1 ? "entry" : "entries"}` }];
      }
      return [{
        path,
        message: `must be ${issue.inclusive ? "at least" : "greater than"} ${min}, got ${
          describe(value)
        }`,
      }];
    }
    case "too_big": {
      const max = Number(issue.maximum);
      if (issue.origin === "string") {
        return [{ path, message: `must be at most ${max} characters` }];
      }
      if (issue.origin === "array") return [{ path, message: `must list at most ${max} entries` }];
      return [{
        path,
        message: `must be ${issue.inclusive ? "at most" : "less than"} ${max}, got ${
          describe(value)
        }`,
      }];
    }
    case "invalid_format":
      return [{ path, message: `${issue.message}, got ${describe(value)}` }];
    case "invalid_value": {
      const options = issue.values.map(String);
      const near = typeof value === "string" ? closestMatch(value, options) : undefined;
      return [{
        path,
        message: `must be one of ${options.join(", ")}; got ${describe(value)}` +
          (near ? ` (did you mean ${near}?)` : ""),
      }];
    }
    case "unrecognized_keys": {
      const known = knownKeys(TestFileSchema, path, data);
      const localHost = path[0] === "hosts" && path.length === 2 &&
        (value as { connection?: unknown } | null)?.connection === "local";
      return issue.keys.map((key) => {
        if (localHost && key in SshHostSchema.shape) {
          return {
            path: [...path, key],
            anchor: "key" as const,
            message: `"${key}" is for SSH hosts; a host with connection: local needs none`,
          };
        }
        const near = closestMatch(key, known);
        return {
          path: [...path, key],
          anchor: "key" as const,
          message: `unknown field ${JSON.stringify(key)}` +
            (near
              ? ` (did you mean ${near}?)`
              : known.length
              ? ` (known fields: ${known.join(", ")})`
              : ""),
        };
      });
    }
    case "invalid_key":
      return [{
        path,
        anchor: "key",
        message: `${issue.issues[0]?.message ?? "invalid key"}: ${describe(path.at(-1))}`,
      }];
    case "invalid_union": {
      // A discriminated union (hosts by `connection`) whose field names no branch.
      const { discriminator, options } = issue as { discriminator?: string; options?: unknown[] };
      if (discriminator !== undefined && options) {
        const names = options.filter((o): o is string => typeof o === "string");
        const near = typeof value === "string" ? closestMatch(value, names) : undefined;
        return [{
          path,
          message: `must be one of ${names.join(", ")}; got ${describe(value)}` +
            (near ? ` (did you mean ${near}?)` : ""),
        }];
      }
      return unionProblems(issue, data, path, value);
    }
    default:
      return [{ path, message: issue.message }];
  }
}

/**
 * A union failed. If the value had the right type for exactly one branch, that branch's own
 * problems are the useful ones; otherwise say which shapes are accepted.
 */
function unionProblems(
  issue: Extract<Issue, { code: "invalid_union" }>,
  data: unknown,
  path: PathSegment[],
  value: unknown,
): LocatedProblem[] {
  const typeMismatch = (issues: Issue[]) =>
    issues.every((inner) => inner.code === "invalid_type" && inner.path.length === 0);
  if (path.at(-1) === "peers" && path[0] === "commands" && value !== null) {
    return [{
      path,
      message: `expected a list of peer names or "*", got ${describe(value)}` +
        (typeof value === "string" ? ` (for one peer write peer: ${value})` : ""),
    }];
  }
  const branch = timelineBranch(path, value);
  const matching = branch === undefined
    ? issue.errors.filter((issues) => !typeMismatch(issues))
    : [issue.errors[branch]];
  if (matching.length === 1) {
    return matching[0].flatMap((inner) => issueProblems(inner, data, path));
  }
  const last = path.at(-1);
  const expected = last === "environment" || last === "peer_environment"
    ? "a map of NAME: value or a list of NAME=value strings"
    : last === "runs_on"
    ? "a tag or a list of tags"
    : path.at(-2) === "environment" || path.at(-2) === "peer_environment"
    ? "a string, number or true/false"
    : [
      ...new Set(
        issue.errors.flat().flatMap((inner) =>
          inner.code === "invalid_type" ? [EXPECTED[inner.expected] ?? inner.expected] : []
        ),
      ),
    ].join(" or ");
  if (value === null) {
    return [{ path, message: `is empty; expected ${expected} (write "" for an empty string)` }];
  }
  return [{ path, message: `expected ${expected}, got ${describe(value)}` }];
}

/**
 * For a timeline entry (`commands[i]`, a map), the branch of `TimelineEntrySchema` it meant: a
 * fault if it has a `fault` field, else a command. Undefined for any other path.
 */
function timelineBranch(path: readonly PathSegment[], value: unknown): number | undefined {
  if (path.length !== 2 || path[0] !== "commands" || typeof path[1] !== "number") return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const options = TimelineEntrySchema.options as readonly z.ZodType[];
  const fault = options.indexOf(FileFaultSchema);
  return Object.hasOwn(value, "fault") ? fault : 1 - fault;
}

/**
 * The field names the schema accepts for the map at `path` (for "did you mean"). `data` is the
 * document, so a union whose branches are told apart by a field (hosts by `connection`) answers
 * with the branch the map at `path` selects.
 */
function knownKeys(schema: z.ZodType, path: readonly PathSegment[], data: unknown): string[] {
  const node = unwrap(schema);
  if (node instanceof z.ZodDiscriminatedUnion) {
    const options = node.options as z.ZodType[];
    const chosen = options.find((option) =>
      discriminatorMatches(option, node.def.discriminator, data)
    );
    return chosen ? knownKeys(chosen, path, data) : [];
  }
  if (node === TimelineEntrySchema) {
    // `commands[i]`: the branch the entry meant (a fault or a command), not the first one.
    const branch = timelineBranch(["commands", 0], data);
    return branch === undefined ? [] : knownKeys(TimelineEntrySchema.options[branch], path, data);
  }
  if (path.length === 0) {
    return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
  }
  if (node instanceof z.ZodUnion) {
    for (const option of node.options as z.ZodType[]) {
      const keys = knownKeys(option, path, data);
      if (keys.length) return keys;
    }
    return [];
  }
  const [head, ...rest] = path;
  const child = (data ?? {}) as Record<string | number, unknown>;
  if (typeof head === "number" && node instanceof z.ZodArray) {
    return knownKeys(node.element as z.ZodType, rest, child[head]);
  }
  if (typeof head === "string" && node instanceof z.ZodObject) {
    const field = node.shape[head] as z.ZodType | undefined;
    return field ? knownKeys(field, rest, child[head]) : [];
  }
  return [];
}

/** Whether `data`'s discriminator field (or its absence, where the branch has a default) picks `option`. */
function discriminatorMatches(option: z.ZodType, discriminator: string, data: unknown): boolean {
  const node = unwrap(option);
  if (!(node instanceof z.ZodObject)) return false;
  const field = node.shape[discriminator] as z.ZodType | undefined;
  const value = (data ?? {}) as Record<string, unknown>;
  return field?.safeParse(value[discriminator]).success ?? false;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let node = schema;
  for (;;) {
    if (node instanceof z.ZodDefault || node instanceof z.ZodOptional) {
      node = node.unwrap() as z.ZodType;
    } else if (node instanceof z.ZodPipe) node = node.in as z.ZodType;
    else return node;
  }
}

/**
 * The hosts, peers, commands, checks and timeouts that pass the schema on their own, so the cross checks can
 * still run while other parts of the file are broken. A list that is not a list counts as
 * one broken entry (so "unknown peer" is never claimed against a list we could not read).
 */
function partsOf(data: unknown): ConfigParts {
  const record = (data ?? {}) as Record<string, unknown>;
  const partOf = <T>(value: unknown, schema: z.ZodType<T>): T | undefined => {
    const parsed = schema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  };
  const each = <T>(list: unknown, schema: z.ZodType<T>): (T | undefined)[] =>
    Array.isArray(list) ? list.map((entry) => partOf(entry, schema)) : [undefined];
  return {
    hosts: each(record.hosts, HostSchema),
    peers: each(record.peers, PeerEntrySchema),
    commands: each(record.commands, TimelineEntrySchema),
    expect: record.expect === undefined ? [] : each(record.expect, ExpectSchema),
    timeout: partOf(record.timeout ?? {}, TimeoutSchema),
    seed: partOf(record.seed, TestFileSchema.shape.seed),
  };
}

// ---- positions -------------------------------------------------------------------------------

function valueAt(data: unknown, path: readonly PathSegment[]): { exists: boolean; value: unknown } {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, segment)) {
      return { exists: false, value: undefined };
    }
    value = (value as Record<PathSegment, unknown>)[segment];
  }
  return { exists: true, value };
}

/**
 * Line and column of the node at `path`: its value, or (anchor "key") the key naming it.
 * Where the path runs out of the document (a missing field), the deepest existing node: the
 * map that lacks the field.
 */
function locate(
  doc: Document,
  aliases: AliasIndex,
  path: readonly PathSegment[],
  anchor: Anchor,
  position: (offset: number) => { line: number; column: number },
): { line?: number; column?: number } {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const segment of path) {
    if (isAlias(node)) node = aliases.targets.get(node);
    let next: unknown;
    let nextKey: unknown;
    if (isMap(node)) {
      const pair = node.items.find((item) => {
        const key = isScalar(item.key) ? item.key.value : item.key;
        return String(key) === String(segment);
      });
      if (pair) [next, nextKey] = [pair.value ?? pair.key, pair.key];
    } else if (isSeq(node) && typeof segment === "number") {
      next = node.items[segment];
    }
    if (next === undefined || next === null) break;
    [node, keyNode] = [next, nextKey];
  }
  // An empty value (`image:`) has a zero-width node after the colon: point at its key instead.
  const empty = isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1];
  const target = ((anchor === "key" || empty) && keyNode ? keyNode : node) as Node | null;
  const offset = target?.range?.[0];
  return offset === undefined ? {} : position(offset);
}

function sortByPosition(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) =>
      (a.problem.line ?? 0) - (b.problem.line ?? 0) ||
      (a.problem.column ?? 0) - (b.problem.column ?? 0) || a.index - b.index
    )
    .map(({ problem }) => problem);
}

/** Several failed checks on one value (empty and malformed, say): the first says enough. */
function firstPerPath(problems: LocatedProblem[]): LocatedProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = JSON.stringify(problem.path);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.path}\0${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A short description of a YAML value for messages: `"abc"`, `42`, `a list`, `a map`. */
function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  }
  return String(value);
}
