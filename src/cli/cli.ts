/**
 * The `tm` command line (README.md, Quick start): parses arguments, dispatches to the run, the
 * host resets, `validate` and `schema`, and turns every outcome into an exit code. Errors end
 * here: a user mistake prints its message (exit 2), anything else one `tm: ...` line (exit 1).
 *
 * Each command imports what it uses when it runs (`await import`), so `tm --version` loads no
 * config parser and `tm validate` no Docker, SSH or Redis client: every npm package loaded costs
 * resident memory and start-up time (docs/architecture.md, Start-up, has the figures).
 */
import { Command, CommanderError, InvalidArgumentError } from "@commander-js/extra-typings";
import { describeError, ExitCode, UsageError } from "../base/errors.ts";
import * as output from "../base/output_stream.ts";
import { VERSION } from "../base/version.ts";
import { DEFAULT_RUNS_DIR } from "../record/run_directory.ts";
import { escapeControls } from "../text/terminal_text.ts";
import { databaseOf, RedisLeaseError } from "../coordination/redis_url.ts";

const out = (text: string) => void output.stdout.write(text);
const err = (text: string) => void output.stderr.write(text);

const HELP_FOOTER = `
Exit codes:
  0    the test completed, every check passed and every peer stopped cleanly (or the command
       succeeded)
  1    the test failed: a check failed, a peer reported failed or crashed, startup or shutdown
       timeout, an SSH/Docker/Redis failure, the log file could not be written
  2    bad usage or an invalid config (every problem is listed with file:line:column)
  130  interrupted (Ctrl+C, SIGTERM, SIGHUP, SIGQUIT); everything tm started is cleaned up first

Examples:
  tm validate examples/smoke-test-5peer.yaml   check a config and show where each peer runs
  tm examples/smoke-test-5peer.yaml            run the test, one line per event
  tm examples/smoke-test-5peer.yaml --tui      run it with the full-screen view
  tm schema > tm.schema.json                   JSON Schema for editor completion (docs/config.md)
  tm runs                                      list the runs recorded under tm-runs/
  tm report tm-runs/<run>                      rebuild a run's junit.xml and report.html
`;

/** `--redis-url`: a redis:// or rediss:// URL with a host and, if any, a database number. */
export function parseRedisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("expected a URL such as redis://host:6379");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new InvalidArgumentError(
      `expected a redis:// or rediss:// URL, got ${url.protocol}//`,
    );
  }
  if (!url.hostname) throw new InvalidArgumentError("the URL names no host");
  // The path is the database number; ioredis would read anything else as database 0.
  try {
    databaseOf(value);
  } catch (error) {
    if (error instanceof RedisLeaseError) throw new InvalidArgumentError(error.message);
    throw error;
  }
  return value;
}

function buildProgram(setExitCode: (code: number) => void) {
  const program = new Command()
    .name("tm")
    .description(
      "Runs a distributed peer-to-peer integration test described by one YAML file:\n" +
        "starts Redis, starts one Docker container per peer on the hosts over SSH,\n" +
        "sends the timed commands, watches every peer, and cleans up.",
    )
    .usage(
      "[options] <config.yaml>\n       tm validate [--json] <config.yaml>\n" +
        "       tm report <run-dir> [--against <run-a>]\n       tm diff <run-a> <run-b> [--json]\n" +
        "       tm runs [dir]\n       tm schema",
    )
    .version(VERSION, "--version", "print the version and exit")
    .helpOption("-h, --help", "show this help and exit")
    .argument("[config]", "the test's YAML file (see docs/config.md)")
    .option("--tui", "full-screen terminal UI instead of console lines")
    .option("--verbose", "also print the orchestrator's own trace (and stack traces) to stderr")
    .option(
      "--fail-fast",
      "stop the run (gracefully) at the first failed check or peer reporting failed, " +
        "as fail_fast: true in the config",
    )
    .option(
      "--strict-known",
      "a check marked known: that passes fails the run, so a fix is noticed (docs/config.md)",
    )
    .option(
      "--redis-url <url>",
      "use this Redis (redis:// or rediss://) instead of starting a container",
      parseRedisUrl,
    )
    .option(
      "--reset-hosts",
      "connect to every host, remove the images listed in `images`, exit (no Redis, no peers)",
    )
    .option(
      "--reset-hosts-all",
      "connect to every host, run `docker system prune -af`, exit (destructive: asks first on " +
        "a terminal unless --yes)",
    )
    .option("--yes", "with --reset-hosts-all: do not ask for confirmation")
    .option(
      "--out <dir>",
      `where the run record goes: <dir>/<name>-<date>/ (default ${DEFAULT_RUNS_DIR}; ` +
        "docs/run-record.md)",
    )
    .addHelpText("after", HELP_FOOTER)
    .showHelpAfterError("(tm --help shows the usage)")
    .exitOverride()
    .configureOutput({
      writeOut: out,
      writeErr: err,
      outputError: (text, write) => write(`tm: ${text.replace(/^error: /, "")}`),
    })
    .action(async (config, options) => {
      if (config === undefined) {
        throw new UsageError("no config file given: tm <config.yaml> (tm --help shows the usage)");
      }
      const { runTest, resetHosts } = await import("./run_command.ts");
      const reset = options.resetHosts || options.resetHostsAll;
      if (options.resetHosts && options.resetHostsAll) {
        throw new UsageError("--reset-hosts and --reset-hosts-all exclude each other");
      }
      if (options.yes && !options.resetHostsAll) {
        throw new UsageError("--yes only applies to --reset-hosts-all");
      }
      if (reset) {
        const conflicting = [
          options.tui && "--tui",
          options.failFast && "--fail-fast",
          options.strictKnown && "--strict-known",
          options.redisUrl !== undefined && "--redis-url",
          options.out !== undefined && "--out",
        ].filter(Boolean);
        if (conflicting.length) {
          throw new UsageError(
            `${conflicting.join(" and ")} cannot be used with ${
              options.resetHostsAll ? "--reset-hosts-all" : "--reset-hosts"
            } (a reset runs no test)`,
          );
        }
        setExitCode(
          await resetHosts(config, {
            all: options.resetHostsAll === true,
            yes: options.yes === true,
            verbose: options.verbose === true,
          }),
        );
        return;
      }
      setExitCode(
        await runTest(config, {
          tui: options.tui === true,
          verbose: options.verbose === true,
          ...(options.failFast ? { failFast: true } : {}),
          ...(options.strictKnown ? { strictKnown: true } : {}),
          ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
          out: options.out ?? DEFAULT_RUNS_DIR,
        }),
      );
    });

  program
    .command("validate")
    .description(
      "load and check a config, print the placement plan (peer, host, address, port, image, " +
        "listen address; a group on one row) and the seed; starts nothing",
    )
    .argument("<config>", "the test's YAML file")
    .option(
      "--json",
      "print only a JSON array of {peer, host, address, port, image, listen_addr, bootstrap}, " +
        "one per peer (a group's with its group)",
    )
    .action(async (file, options) => {
      const { validateCommand } = await import("./validate_command.ts");
      out(await validateCommand(file, { json: options.json === true }));
      setExitCode(ExitCode.ok);
    });

  program
    .command("report")
    .description(
      "rebuild a run's junit.xml and report.html from its events.jsonl; says when the run " +
        "did not finish",
    )
    .argument("<run-dir>", "a run's directory, e.g. tm-runs/smoke-2025-06-01-12-00-00")
    .option("--against <run-a>", "embed in report.html the diff of this run against run-a")
    .action(async (dir, options) => {
      const { rebuildReports } = await import("../record/report_command.ts");
      const { lines } = await rebuildReports(
        dir,
        options.against === undefined ? {} : { against: options.against },
      );
      out(lines.map((line) => `${escapeControls(line)}\n`).join(""));
      setExitCode(ExitCode.ok);
    });

  program
    .command("diff")
    .description(
      "compare two runs of one test: verdicts, checks that changed, each peer, phase timings " +
        "and lateness as ratios; exit 1 when run-b regressed against run-a",
    )
    .argument("<run-a>", "the earlier (reference) run's directory")
    .argument("<run-b>", "the run to judge against it")
    .option("--json", "print the diff as JSON")
    .action(async (dirA, dirB, options) => {
      const { diffCommand } = await import("../record/diff_command.ts");
      const { text, exitCode } = await diffCommand(dirA, dirB, { json: options.json === true });
      out(options.json ? text : text.split("\n").map(escapeControls).join("\n"));
      setExitCode(exitCode);
    });

  program
    .command("runs")
    .description("list the runs recorded in a directory: name, date, verdict, duration")
    .argument("[dir]", "where the runs are", DEFAULT_RUNS_DIR)
    .action(async (dir) => {
      const { formatRuns, listRuns } = await import("../record/runs_list.ts");
      const found = await listRuns(dir);
      const table = formatRuns(dir, found.runs);
      out(table.split("\n").map((line) => `${escapeControls(line)}\n`).join(""));
      // What was not listed, and why: one line each, after the table.
      const said = [...found.skipped.map((skip) => `skipped ${skip.reason}`), ...found.notes];
      err(said.map((line) => `tm runs: ${escapeControls(line)}\n`).join(""));
      setExitCode(ExitCode.ok);
    });

  program
    .command("schema")
    .description("print the config file's JSON Schema (for editor completion and checks)")
    .action(async () => {
      const { configJsonSchema } = await import("../plan/json_schema.ts");
      out(JSON.stringify(configJsonSchema(), null, 2) + "\n");
      setExitCode(ExitCode.ok);
    });

  return program;
}

/**
 * Runs tm with the given arguments (without the program name).
 *
 * @returns the exit code: 0 ok, 1 test or runtime failure, 2 usage or config error, 130 interrupted
 */
export async function main(args: string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram((code) => exitCode = code);
  try {
    await program.parseAsync(args, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message (or the help / version) already.
      return error.code === "commander.helpDisplayed" || error.code === "commander.version"
        ? ExitCode.ok
        : ExitCode.usage;
    }
    const { text, exitCode: code } = describeError(error, { verbose: args.includes("--verbose") });
    err(text + "\n");
    return code;
  }
}
