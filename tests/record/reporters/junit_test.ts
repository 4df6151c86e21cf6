import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import type { CheckOutcome, EngineEvent } from "../../../src/engine/events.ts";
import { junitXml } from "../../../src/record/reporters/junit.ts";
import { RECORD_FILES } from "../../../src/record/record_files.ts";
import { runHistory } from "../../../src/history/run_history.ts";
import { readEventsOf, recordRun, tempDir } from "../../support/run_records.ts";
import { scriptedRun } from "../../support/scripted_events.ts";
import { hostileRun, RAW_CONTROL, SHOWN } from "../../support/hostile_events.ts";

/** A peer log line with everything XML cannot hold as is. */
const HOSTILE = "a]]>b <script>&amp; \x00\x1b[2J\x07 \ud800 end\r\n\"'";

const CHECKS: CheckOutcome[] = [
  {
    index: 0,
    description: "bob reports status connected by 12 s",
    peers: ["bob"],
    passed: true,
    atMs: 560,
  },
  {
    index: 1,
    description: `carol logs "hello" by 5 s ]]> <`,
    peers: ["carol"],
    passed: false,
    atMs: 5000,
    evidence: ["last lines of carol:", HOSTILE],
  },
];

/** The scripted crash run, with a hostile log line from carol and two checks decided. */
function hostileCrashRun(): EngineEvent[] {
  const events = scriptedRun({ outcome: "crash" });
  const finished = events.pop()!;
  if (finished.type !== "run-finished") throw new Error("the script ends with run-finished");
  events.push({
    t: finished.t - 5,
    type: "peer-log",
    peer: "carol",
    level: "error",
    message: HOSTILE,
  });
  events.push({ t: finished.t - 4, type: "check-decided", check: CHECKS[0] });
  events.push({ t: finished.t - 3, type: "check-decided", check: CHECKS[1] });
  events.push({ ...finished, checks: CHECKS });
  return events;
}

interface ParsedCase {
  classname: string;
  name: string;
  failure?: { message: string; type: string; "#text"?: string };
  "system-out"?: string;
}

function parse(xml: string) {
  const valid = XMLValidator.validate(xml);
  assertEquals(valid, true, JSON.stringify(valid));
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    isArray: (name) => name === "testcase" || name === "testsuite",
    parseAttributeValue: false,
    processEntities: true,
    htmlEntities: true,
  });
  return parser.parse(xml) as {
    testsuites: {
      tests: string;
      failures: string;
      testsuite: {
        name: string;
        tests: string;
        failures: string;
        errors: string;
        testcase: ParsedCase[];
      }[];
    };
  };
}

Deno.test("junitXml writes one testsuite with a testcase per peer and per check, failures counted", async () => {
  await using dir = await tempDir();
  const record = await recordRun(dir.path, hostileCrashRun());
  const xml = await Deno.readTextFile(`${record.dir}/${RECORD_FILES.junit}`);
  const { testsuites } = parse(xml);
  assertEquals(testsuites.testsuite.length, 1);
  const [suite] = testsuites.testsuite;
  assertEquals(suite.name, "gossip-demo");
  assertEquals([suite.tests, suite.failures, suite.errors], ["6", "2", "0"]);
  assertEquals([testsuites.tests, testsuites.failures], ["6", "2"]);
  const byName = new Map(suite.testcase.map((c) => [c.name, c]));
  assertEquals(
    suite.testcase.map((c) => [c.classname, c.name, c.failure !== undefined]),
    [
      ["gossip-demo.peers", "alice", false],
      ["gossip-demo.peers", "bob", false],
      ["gossip-demo.peers", "carol", false],
      ["gossip-demo.peers", "dave", true],
      ["gossip-demo.checks", "#0 bob reports status connected by 12 s", false],
      ["gossip-demo.checks", `#1 carol logs "hello" by 5 s ]]> <`, true],
    ],
  );
  const dave = byName.get("dave")!.failure!;
  assertEquals(dave.type, "crashed");
  assertEquals(dave.message, "dave crashed (exit code 137)");
  // The body repeats the message (GitLab shows only the body) with the output and last logs.
  assert(dave["#text"]!.includes("out of memory"), dave["#text"]);
  assert(dave["#text"]!.includes("[debug] loading /config/key"), dave["#text"]);
  const check = byName.get(`#1 carol logs "hello" by 5 s ]]> <`)!.failure!;
  assertEquals(check.message, `check #1 failed: carol logs "hello" by 5 s ]]> <`);
});

Deno.test("junitXml keeps hostile peer text readable and the file well-formed: ]]>, markup, control chars, lone surrogates", async () => {
  await using dir = await tempDir();
  const record = await recordRun(dir.path, hostileCrashRun());
  const xml = await Deno.readTextFile(`${record.dir}/${RECORD_FILES.junit}`);
  // No character XML 1.0 forbids is written raw.
  // deno-lint-ignore no-control-regex
  assert(!/[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(xml));
  assert(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(xml));
  const carol = parse(xml).testsuites.testsuite[0].testcase.find((c) => c.name === "carol")!;
  const shown = "a]]>b <script>&amp; \\x00\\x1b[2J\\x07 \\ud800 end\\r\\n\"'";
  assert(carol["system-out"]!.includes(`[error] ${shown}`), carol["system-out"]);
});

Deno.test("junitXml of a run killed before run-finished fails a 'run finished' case and the peers that did not stop", async () => {
  await using dir = await tempDir();
  const events = scriptedRun().filter((e) => e.t < 9000);
  const record = await recordRun(dir.path, events);
  const history = runHistory((await readEventsOf(record.dir)).events);
  const suite = parse(junitXml(history)).testsuites.testsuite[0];
  const failed = suite.testcase.filter((c) => c.failure).map((c) => [c.name, c.failure!.type]);
  assertEquals(failed, [
    ["alice", "did-not-stop"],
    ["bob", "did-not-stop"],
    ["carol", "did-not-stop"],
    ["dave", "did-not-stop"],
    ["run finished", "unfinished"],
  ]);
});

Deno.test("junitXml shows bidi overrides and line separators escaped as the console does, in bodies and attributes", async () => {
  await using dir = await tempDir();
  const record = await recordRun(dir.path, hostileRun(), { name: "hostile" });
  const xml = await Deno.readTextFile(`${record.dir}/${RECORD_FILES.junit}`);
  const raw = RAW_CONTROL.exec(xml.replace(/\n/g, ""));
  assert(!raw, `U+${raw?.[0].codePointAt(0)?.toString(16)} raw in junit.xml`);
  const cases = parse(xml).testsuites.testsuite[0].testcase;
  const alice = cases.find((c) => c.name === "alice")!;
  assert(alice["system-out"]!.includes(`[warn] ${SHOWN.log}`), alice["system-out"]);
  const check = cases.find((c) => c.name?.startsWith("#0 "))!;
  assert(check.failure!["#text"]!.includes(`[warn] ${SHOWN.log}`), check.failure!["#text"]);
  assert(xml.includes(`<property name="reason" value="peer carol crashed: ${SHOWN.log}"/>`), xml);
});
