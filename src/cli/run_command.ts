/**
 * The actions that touch hosts: `tm <config>` (one test run) and `--reset-hosts[-all]`.
 * Here the pieces meet: the config and its placement, the runtime its hosts' connections select
 * (`src/runtimes/registry.ts`) and the Redis it starts (or `--redis-url`), the engine, the log
 * file and the chosen view.
 */
import { Steering } from "../engine/steering.ts";
import { loadConfigFile } from "../plan/load.ts";
import { type Config, hostName } from "../plan/schema.ts";
import { formatPlanTable } from "./plan_table.ts";
import { type EventSink, fanout } from "../engine/events.ts";
import { installInterruptHandlers } from "../engine/interrupt.ts";
import { failedForLostEvidence } from "../engine/lost_evidence.ts";
import { ExternalRedis, type RedisProvider } from "../engine/redis_provider.ts";
import { assertFaultsSupported, newRunId, run } from "../engine/run.ts";
import { errorMessage, ExitCode, UsageError } from "../base/errors.ts";
import { eventSeverity } from "../text/event_text.ts";
import { runtimeOf } from "../runtimes/registry.ts";
import { type LogFile, logFileName, openLogFile } from "../record/log_file.ts";
import * as output from "../base/output_stream.ts";
import { traceLine } from "../ui/trace_line.ts";
import { place, type PlacedPeer, PlacementError } from "../plan/placement.ts";
import { currentOwner } from "../coordination/run_owner.ts";
import { isReported, type Severity } from "../text/severity.ts";
import { DEFAULT_RUNS_DIR } from "../record/run_directory.ts";
import { openRunRecord, type RunRecord } from "../record/run_record.ts";
import { VERSION } from "../base/version.ts";

export interface RunTestOptions {
  /** Full-screen terminal UI instead of console lines. */
  tui: boolean;
  /** Console: also every peer log line, and the orchestrator's trace on stderr. */
  verbose: boolean;
  /** An existing Redis instead of a container. */
  redisUrl?: string;
  /** Parent of the run record's directory (`--out`). Default: `tm-runs`. */
  out?: string;
  /** `--fail-fast`: as the config's `fail_fast: true` (absent: the config decides). */
  failFast?: boolean;
  /** `--strict-known`: a known check that passes fails the run. */
  strictKnown?: boolean;
}

/** What the user sees: console lines or the TUI. */
interface View {
  sink: EventSink;
  close(): Promise<void>;
  /** TUI only: resolves when the user quits after the run finished. */
  quit?: Promise<void>;
}

async function openView(
  options: RunTestOptions,
  level: Severity,
  onStop: (force: boolean) => void,
  steering: { steering: Steering; peers: string[] },
): Promise<View> {
  if (options.tui) {
    const { startTui } = await import("../ui/tui/mod.ts");
    return startTui({ onStop, ...steering });
  }
  const noColor = (Deno.env.get("NO_COLOR") ?? "") !== "";
  const tty = Deno.stdout.isTerminal();
  const consoleOptions = {
    interactive: tty && !noColor && !Deno.env.get("CI"),
    color: tty && !noColor,
    verbose: options.verbose,
    traces: false,
  };
  // ink and react only for the live area of a terminal (plain_console.ts says what they cost).
  const view = consoleOptions.interactive
    ? (await import("../ui/console.tsx")).createConsole(consoleOptions)
    : (await import("../ui/plain_console.ts")).createPlainConsole(consoleOptions);
  if (!options.verbose) return view;
  return { ...view, sink: fanout(view.sink, traceToStderr(level)) };
}

/**
 * --verbose: the orchestrator's own trace on stderr, one stamped line per `trace` event whose
 * level is reported at `level` (the config's `log_level`). The console already shows every other
 * event on stdout.
 */
function traceToStderr(level: Severity): EventSink {
  return (event) => {
    if (event.type !== "trace" || !isReported(eventSeverity(event), level)) return;
    output.stderr.write(traceLine(event.t, event.message));
  };
}

/**
 * The run's events to the log file, then to the view. The log file is the run's evidence: once
 * a write to it fails, the view shows a warning at once (stamped like the event that could not
 * be written), and the `run-finished` it shows says failed, as the run's exit code will
 * (`failedForLostEvidence`).
 */
function recordThenShow(logFile: LogFile, view: EventSink): EventSink {
  let warned = false;
  return (event) => {
    logFile.sink(event);
    const lost = logFile.lost;
    if (lost && !warned) {
      warned = true;
      view({
        type: "warning",
        t: event.t,
        message: `${lost.message}: the run goes on and cleans up, but it will end failed`,
      });
    }
    view(
      lost && event.type === "run-finished"
        ? { ...event, ...failedForLostEvidence(event, lost.message) }
        : event,
    );
  };
}

/**
 * The run record first (so its `run-finished` is the one the view shows), then the view. A
 * record that can no longer be written is said once, as a warning; the run goes on.
 */
function recordRun(record: RunRecord, view: EventSink): EventSink {
  let warned = false;
  return (event) => {
    record.sink(event);
    const lost = record.lost;
    if (lost && !warned) {
      warned = true;
      view({ type: "warning", t: event.t, message: `${lost.message}; the run goes on` });
    }
    view(event);
  };
}

/** Creates the run record; a directory that cannot be created is the user's to fix (exit 2). */
function openRecord(
  parent: string,
  configPath: string,
  config: { name: string },
  plan: PlacedPeer[],
) {
  try {
    return openRunRecord({
      parent,
      testName: config.name,
      config: Deno.readFileSync(configPath),
      plan,
      tm: VERSION,
    });
  } catch (error) {
    throw new UsageError(
      `--out ${parent}: the run record cannot be written there: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

/**
 * The config with the hosts its runtime finds at run time (a swarm's nodes), else as loaded. What
 * the user must fix (a node tm cannot reach, no manager there) is a UsageError.
 */
async function hostsOf(config: Config): Promise<Config> {
  const find = runtimeOf(config).hosts;
  if (!find) return config;
  try {
    return await find(config, AbortSignal.timeout(config.timeout.startup * 1_000));
  } catch (error) {
    throw new UsageError(errorMessage(error), { cause: error });
  }
}

/**
 * The plan. On hosts found at run time, a `runs_on` no node satisfies is only found now: the
 * user's to fix (exit 2), as `tm validate` reports it for hosts written in the file.
 */
function placeFound(config: Config, found: boolean): PlacedPeer[] {
  try {
    return place(config);
  } catch (error) {
    if (!found || !(error instanceof PlacementError)) throw error;
    throw new UsageError(error.message, { cause: error });
  }
}

/**
 * Runs the test described by `configPath`.
 * @returns the exit code: 0 passed, 1 failed (or the log file could not be written), 130
 *   interrupted
 * @throws UsageError for an invalid config or a TUI without a terminal
 */
export async function runTest(configPath: string, options: RunTestOptions): Promise<number> {
  const loaded = await loadConfigFile(configPath);
  const config = await hostsOf(loaded);
  const plan = placeFound(config, config !== loaded);
  if (config !== loaded && !options.tui) {
    // Found at run time (a swarm's nodes): the plan is shown now, as `tm validate` shows others'.
    output.stdout.write(formatPlanTable(plan) + "\n\n");
  }
  if (options.tui && !(Deno.stdin.isTerminal() && Deno.stdout.isTerminal())) {
    throw new UsageError("--tui needs an interactive terminal; leave it out to get console lines");
  }
  const runId = newRunId();
  const owner = currentOwner(runId, config.name);
  // The runtime the loaded config selects (a swarm's found hosts are SSH and local entries).
  const runtime = runtimeOf(loaded).create({ config, plan, runId, owner });
  // A test with faults on a runtime that cannot do them is refused before any file is written.
  assertFaultsSupported(config, runtime);
  // A run of its own, even one started in the same second as another: never append to a log.
  const logFile = openLogFile(logFileName(config.name, new Date()), {
    level: config.log_level,
    fresh: true,
  });
  let record: RunRecord;
  try {
    record = openRecord(options.out ?? DEFAULT_RUNS_DIR, configPath, config, plan);
  } catch (error) {
    // Refused before the run began (a bad --out): its log file would tell of a run that never was.
    await logFile.close();
    await Deno.remove(logFile.path).catch(() => {});
    throw error;
  }
  const logPath = logFile.path;
  using interrupts = installInterruptHandlers();
  const viewStop = new AbortController();
  const viewKill = new AbortController();
  let view: View | undefined;
  // The TUI's `:` prompt: manual timeline entries (docs/config.md, "Steering a live run").
  const steering = new Steering();
  try {
    view = await openView(
      options,
      config.log_level,
      (force) => (force ? viewKill : viewStop).abort(),
      { steering, peers: plan.map((placement) => placement.peer) },
    );
    const redis: RedisProvider = options.redisUrl
      ? new ExternalRedis(options.redisUrl)
      : runtimeOf(loaded).redis({ config, runId, owner });
    const kill = AbortSignal.any([interrupts.kill, viewKill.signal]);
    const result = await run({
      config,
      plan,
      runtime,
      redis,
      emit: recordThenShow(logFile, recordRun(record, view.sink)),
      stop: AbortSignal.any([interrupts.stop, viewStop.signal]),
      kill,
      runId,
      owner,
      logFile: logPath,
      recordDir: record.dir,
      collectOutput: record.collectOutput,
      collectConfig: record.collectConfig,
      ...(options.failFast ? { failFast: true } : {}),
      ...(options.strictKnown ? { strictKnown: true } : {}),
      ...(options.tui ? { steering } : {}),
    });
    const leaveAtOnce = AbortSignal.any([kill, interrupts.hangUp]);
    if (view.quit && !leaveAtOnce.aborted) {
      // The TUI keeps the verdict on screen until the user quits (or interrupts again); not
      // when its terminal closed: nobody is left to press q.
      const { promise: ended, resolve } = Promise.withResolvers<void>();
      leaveAtOnce.addEventListener("abort", () => resolve(), { once: true });
      await Promise.race([view.quit, ended]);
    }
    return logFile.lost
      ? failedForLostEvidence(result, logFile.lost.message).exitCode
      : result.exitCode;
  } finally {
    try {
      await view?.close();
    } finally {
      await Promise.all([logFile.close(), record.close()]);
    }
  }
}

/**
 * `--reset-hosts` (remove the config's `images` from every host) or `--reset-hosts-all`
 * (everything unused on every host, after confirmation unless `yes` or no terminal), as the
 * runtime the config selects does them.
 * @returns 0 when every host was reset, 1 otherwise, 130 if the user declined
 */
export async function resetHosts(
  configPath: string,
  options: { all: boolean; yes: boolean; verbose: boolean },
): Promise<number> {
  const config = await loadConfigFile(configPath);
  const print = (line: string) => void output.stdout.write(`${line}\n`);
  if (options.all && !options.yes && Deno.stdin.isTerminal()) {
    const hosts = config.hosts.map(hostName).join(", ");
    const answer = prompt(`${runtimeOf(config).resetAllWarning(hosts)}. Continue? [y/N]`);
    if (!/^y(es)?$/i.test(answer?.trim() ?? "")) {
      print("Nothing was changed.");
      return ExitCode.interrupted;
    }
  }
  if (!options.all && config.images.length === 0) {
    print("The config lists no images: nothing to remove.");
    return ExitCode.ok;
  }
  try {
    const trace = options.verbose
      ? (line: string) => void output.stderr.write(`${line}\n`)
      : undefined;
    await runtimeOf(config).reset({ config, all: options.all, print, trace });
    return ExitCode.ok;
  } catch (error) {
    output.stderr.write(`tm: ${errorMessage(error)}\n`);
    return ExitCode.failed;
  }
}
