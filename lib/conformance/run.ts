/**
 * The conformance runner: checks that a peer behaves as every Mule reference peer must, by
 * running it as a local process once per case of cases.json against a real Redis.
 *
 *   deno run -A lib/conformance/run.ts --peer-cmd "<command line>" [--level protocol|library]
 *     [--redis-url <url>] [--filter <text>] [--vectors <file>] [--case-timeout <seconds>]
 *
 * Prints one line per case (`pass <name>`, `FAIL <name>: <difference>` or `skip <name>: <why>`),
 * then `N passed, N failed, N skipped`. Exit 0 when no case failed (and one passed), 1 when one
 * failed, 2 on bad usage.
 * See README.md.
 */
import { parseArgs } from "node:util";
import { Redis } from "npm:ioredis@^6.0.0";
import { type CaseResult, runCase, type RunnerContext } from "./case_runner.ts";
import { startRedisServer } from "./redis_server.ts";
import { StatusRecorder } from "./status_recorder.ts";
import { casesOfLevel, type Level, LEVELS, loadVectors, type VectorCase } from "./vectors.ts";

const USAGE =
  `usage: run.ts --peer-cmd "<command line>" [--level protocol|library] [--redis-url <url>]
              [--filter <text>] [--vectors <file>] [--case-timeout <seconds>]`;

/** Bad command-line arguments: exit 2 with the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The runner's options, as parsed from the command line. */
export interface RunnerOptions {
  /** The peer's command line, run as `sh -c 'exec <cmd>'`. */
  peerCommand: string;
  /** `protocol` (default): what tm relies on; `library`: every case, the libraries' too. */
  level: Level;
  /** An existing Redis (the runner creates an ACL user there); default: its own redis-server. */
  redisUrl?: string;
  /** Only cases whose name contains this text (default: all). */
  filter?: string;
  /** The vectors file (default: cases.json next to this file). */
  vectors: string;
  /** How long one case may take (default 60 s). */
  caseTimeoutMs: number;
}

/** Parses `args` into options; throws UsageError. */
export function parseRunnerArgs(args: string[]): RunnerOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        "peer-cmd": { type: "string" },
        level: { type: "string" },
        "redis-url": { type: "string" },
        filter: { type: "string" },
        vectors: { type: "string" },
        "case-timeout": { type: "string" },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const peerCommand = values["peer-cmd"]?.trim();
  if (!peerCommand) throw new UsageError("--peer-cmd is required");
  const level = values.level ?? "protocol";
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--level ${level}: expected ${LEVELS.join(" or ")}`);
  }
  const timeout = Number(values["case-timeout"] ?? "60");
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new UsageError(
      `--case-timeout ${values["case-timeout"]}: not a positive number of seconds`,
    );
  }
  return {
    peerCommand,
    level: level as Level,
    redisUrl: values["redis-url"],
    filter: values.filter,
    vectors: values.vectors ?? new URL("./cases.json", import.meta.url).pathname,
    caseTimeoutMs: timeout * 1_000,
  };
}

/** The line printed for one case. */
export function resultLine(result: CaseResult): string {
  if (result.differences.length > 0) return `FAIL ${result.name}: ${result.differences.join("; ")}`;
  return result.skipped ? `skip ${result.name}: ${result.skipped}` : `pass ${result.name}`;
}

/** The last line: `N passed, N failed, N skipped`. */
export function summaryLine(results: readonly CaseResult[]): string {
  const failed = results.filter((r) => r.differences.length > 0).length;
  const skipped = results.filter((r) => r.differences.length === 0 && r.skipped).length;
  return `${results.length - failed - skipped} passed, ${failed} failed, ${skipped} skipped`;
}

/**
 * Runs the selected cases in order, calling `report` after each; resolves to every result.
 * Starts (and stops) a redis-server unless `options.redisUrl` is given.
 */
export async function runConformance(
  options: RunnerOptions,
  report: (result: CaseResult) => void,
): Promise<CaseResult[]> {
  const cases: VectorCase[] = casesOfLevel(await loadVectors(options.vectors), options.level)
    .filter((c) => options.filter === undefined || c.name.includes(options.filter));
  await using server = options.redisUrl ? undefined : await startRedisServer();
  const redisUrl = options.redisUrl ?? server!.url;
  const aclUser = { name: "mule-conformance", password: crypto.randomUUID() };
  const admin = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const tempDir = await Deno.makeTempDir({ prefix: "mule-conformance-" });
  try {
    await admin.acl(
      "SETUSER",
      aclUser.name,
      "reset",
      "on",
      `>${aclUser.password}`,
      "~*",
      "&*",
      "+@all",
    );
    await using recorder = await StatusRecorder.start(redisUrl);
    const context: RunnerContext = {
      peerCommand: options.peerCommand,
      redisUrl,
      aclUser,
      recorder,
      tempDir,
      caseTimeoutMs: options.caseTimeoutMs,
    };
    const results: CaseResult[] = [];
    for (const kase of cases) {
      const result = await runCase(kase, context);
      results.push(result);
      report(result);
    }
    return results;
  } finally {
    await admin.acl("DELUSER", aclUser.name).catch(() => {});
    admin.disconnect();
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  let options: RunnerOptions;
  try {
    options = parseRunnerArgs(Deno.args);
  } catch (error) {
    console.error(`conformance: ${(error as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  try {
    const results = await runConformance(options, (r) => console.log(resultLine(r)));
    const failed = results.filter((r) => r.differences.length > 0).length;
    const passed = results.filter((r) => r.differences.length === 0 && !r.skipped).length;
    console.log(summaryLine(results));
    Deno.exit(failed === 0 && passed > 0 ? 0 : 1);
  } catch (error) {
    console.error(`conformance: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
