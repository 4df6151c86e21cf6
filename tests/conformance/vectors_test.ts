/** Pure logic of the conformance runner: vectors expansion, the difference lines, arguments. */
import { assertEquals, assertThrows } from "../support/assert.ts";
import {
  commandLogDifference,
  commandsLeftText,
  exitDifference,
  listDifference,
  logFormatDifference,
  stderrDifference,
  tmStatusDifference,
} from "../../lib/conformance/differences.ts";
import { MANAGED_VARIABLES, peerEnvironment } from "../../lib/conformance/case_runner.ts";
import { parseRunnerArgs, summaryLine, UsageError } from "../../lib/conformance/run.ts";
import {
  casesOfLevel,
  concreteCase,
  expandLines,
  fill,
  loadVectors,
  tmReading,
} from "../../lib/conformance/vectors.ts";

const CASES = new URL("../../lib/conformance/cases.json", import.meta.url).pathname;

Deno.test("expandLines() unrolls repeat items with {i} from 1 and fills placeholders", () => {
  assertEquals(
    expandLines(["start {peer}", { repeat: 3, each: "track|p{i}" }, "end"], { peer: "a" }),
    ["start a", "track|p1", "track|p2", "track|p3", "end"],
  );
});

Deno.test("fill() rejects a placeholder it has no value for", () => {
  assertThrows(() => fill("{vlda}", { vlad: "v" }), Error, "unknown placeholder {vlda}");
});

Deno.test("loadVectors() accepts cases.json and every case expands with the runner's placeholders", async () => {
  const cases = await loadVectors(CASES);
  const values = { peer: "p", vlad: "v", multiaddr: "m", delay_file: "/d", secret: "s" };
  for (const vector of cases) concreteCase(vector, values);
  assertEquals(cases.length >= 14, true);
  assertEquals(new Set(cases.map((c) => c.peer)).size >= cases.length - 2, true);
});

Deno.test("listDifference() names the first differing, missing or extra item", () => {
  assertEquals(listDifference("statuses", ["a", "b"], ["a", "b"]), undefined);
  assertEquals(
    listDifference("statuses", ["a", "b"], ["a", "c"]),
    'statuses #2 of 2: expected "b", got "c" (2 in all)',
  );
  assertEquals(
    listDifference("log lines", ["a", "b"], ["a"]),
    'log lines: 1 of 2, first missing #2 "b"',
  );
  assertEquals(
    listDifference("log lines", ["a"], ["a", "x"]),
    'log lines: 1 more than the 1 expected, first extra #2 "x"',
  );
});

Deno.test("exitDifference() understands nonzero", () => {
  assertEquals(exitDifference("nonzero", 1), undefined);
  assertEquals(exitDifference("nonzero", 0), "exit code 0, expected non-zero");
  assertEquals(exitDifference(0, 143), "exit code 143, expected 0");
});

Deno.test("stderrDifference() wants exactly one line with every include and no exclude", () => {
  const want = { includes: ["PEER_NAME is not set"], excludes: ["secret"] };
  assertEquals(stderrDifference("x: PEER_NAME is not set\n", want), undefined);
  assertEquals(
    stderrDifference("Traceback\nx: PEER_NAME is not set\n", want)?.startsWith(
      "stderr has 2 lines",
    ),
    true,
  );
  assertEquals(
    stderrDifference("x: PEER_NAME is not set secret", want)?.includes("must not"),
    true,
  );
  assertEquals(stderrDifference("x: something", want)?.includes("lacks"), true);
});

Deno.test("parseRunnerArgs() requires --peer-cmd and a positive --case-timeout", () => {
  assertThrows(() => parseRunnerArgs([]), UsageError, "--peer-cmd is required");
  assertThrows(() => parseRunnerArgs(["--peer-cmd", "x", "--case-timeout", "0"]), UsageError);
  assertThrows(() => parseRunnerArgs(["--peer"]), UsageError);
  assertEquals(parseRunnerArgs(["--peer-cmd", "python3 p.py"]).peerCommand, "python3 p.py");
  assertEquals(parseRunnerArgs(["--peer-cmd", "p"]).level, "protocol");
  assertEquals(parseRunnerArgs(["--peer-cmd", "p", "--level", "library"]).level, "library");
  assertThrows(
    () => parseRunnerArgs(["--peer-cmd", "p", "--level", "all"]),
    UsageError,
    "--level all: expected protocol or library",
  );
});

Deno.test("casesOfLevel() runs the protocol cases alone at protocol level, every case at library level", async () => {
  const cases = await loadVectors(CASES);
  const protocol = casesOfLevel(cases, "protocol");
  assertEquals(protocol.length >= 6, true);
  assertEquals(protocol.every((c) => c.level === "protocol"), true);
  assertEquals(casesOfLevel(cases, "library").length, cases.length);
});

Deno.test("the protocol cases expect nothing of the reference peers' wording or address info", async () => {
  for (const c of casesOfLevel(await loadVectors(CASES), "protocol")) {
    const text = JSON.stringify(c);
    for (const library of ["{vlad}", "{multiaddr}", "await_status", '"logs"', '"statuses"']) {
      assertEquals(text.includes(library), false, `${c.name} uses ${library}`);
    }
  }
});

Deno.test("tmReading() reads started and failed with or without info, drops display-only statuses", () => {
  assertEquals(
    ["started", "started|v|/ip4/1", "failed|x", "restarting", "stopped", "connected", "startedx"]
      .map(tmReading),
    ["started", "started", "failed", "restarting", "stopped", undefined, undefined],
  );
});

Deno.test("tmStatusDifference() compares what tm acts on and shows every status set", () => {
  assertEquals(
    tmStatusDifference(["started", "stopped"], ["started|a", "connected", "stopped"]),
    undefined,
  );
  assertEquals(
    tmStatusDifference(["started", "stopped"], ["started", "connected"]),
    'statuses as tm reads them: 1 of 2, first missing #2 "stopped"; every status set: "started", "connected"',
  );
});

Deno.test("logFormatDifference() names the first line that is not level|message", () => {
  assertEquals(logFormatDifference(["info|a", "debug|", "error|x|y"]), undefined);
  assertEquals(
    logFormatDifference(["info|a", "hello"])?.startsWith('log line #2 "hello" is not'),
    true,
  );
  assertEquals(logFormatDifference(["INFO|a"])?.startsWith("log line #1"), true);
  assertEquals(logFormatDifference(["trace|a"])?.startsWith("log line #1"), true);
});

Deno.test("commandLogDifference() sees lines lost at the end, commands out of order, and no lines at all", () => {
  const commands = ["n|1", "n|2", "n|10"];
  assertEquals(
    commandLogDifference(commands, [
      "info|start",
      "info|got n|1",
      "info|n|1 done",
      "info|got n|2",
      "info|got n|10",
    ]),
    { none: false },
  );
  assertEquals(commandLogDifference(commands, ["info|start"]), { none: true });
  const lost = commandLogDifference(commands, ["info|got n|1", "info|got n|2"]);
  assertEquals(lost.difference?.startsWith("log lines lost: lines name the first 2 of 3"), true);
  const reversed = commandLogDifference(commands, ["info|got n|10", "info|got n|2"]);
  assertEquals(
    reversed.difference?.startsWith(
      'log line #1 "info|got n|10" names "n|10" where "n|1" was next',
    ),
    true,
  );
});

Deno.test("commandsLeftText() lists the commands left and says they are taken oldest first", () => {
  const text = commandsLeftText(["a", "b", "c", "d"], 0, "p_command");
  assertEquals(
    text.startsWith(
      'p_command holds 4 command(s) after the peer exited, expected 0 ("a", "b", "c", ...)',
    ),
    true,
  );
  assertEquals(text.includes("BLPOP p_command 0"), true);
});

Deno.test("summaryLine() counts passed, failed and skipped cases", () => {
  assertEquals(
    summaryLine([
      { name: "a", differences: [] },
      { name: "b", differences: ["x"] },
      { name: "c", differences: [], skipped: "why" },
    ]),
    "1 passed, 1 failed, 1 skipped",
  );
});

Deno.test("peerEnvironment() passes the caller's RUST_LOG through and sets the managed variables itself", () => {
  const env = peerEnvironment(
    { peer: "alice", env: {}, unset: [] },
    "redis://127.0.0.1:1/0",
    "/tmp/d",
    {
      RUST_LOG: "my_peer=debug",
      LOG_LEVEL: "trace",
      PEER_NAME: "x",
      REF_PEER_NEVER_START: "1",
      HOME: "/h",
    },
  );
  assertEquals(env.RUST_LOG, "my_peer=debug");
  assertEquals(env.HOME, "/h");
  assertEquals([env.PEER_NAME, env.LOG_LEVEL, env.TM_DELAY_FILE], ["alice", "info", "/tmp/d"]);
  assertEquals("REF_PEER_NEVER_START" in env, false);
  assertEquals((MANAGED_VARIABLES as readonly string[]).includes("RUST_LOG"), false);
});
