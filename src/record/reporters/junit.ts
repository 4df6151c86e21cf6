/**
 * The run record's `junit.xml` (docs/run-record.md, "junit.xml"): one `<testsuite>` for the run,
 * a `<testcase>` per peer and per decided check, in the JUnit XML dialect Jenkins and GitLab read
 * (the Ant/Jenkins `junit-10.xsd` shape: `testsuites > testsuite > testcase > skipped, failure,
 * system-out`); a known failure is `skipped` with its reason. GitLab ignores a failure's
 * `message` attribute, so the body repeats it.
 *
 * Text is escaped twice, in order: as every view shows outside text (src/text/terminal_text.ts:
 * controls, line separators and bidi overrides as visible `\u202e`-style escapes, so a CI page
 * shows what the console shows), then for XML.
 */
import { failedCheck } from "../../engine/checks.ts";
import type { CheckOutcome } from "../../engine/events.ts";
import {
  checkStanding,
  failsRun,
  FIXED_HINT,
  knownFailureText,
  strictKnownFailure,
} from "../../engine/known_failures.ts";
import { peerProblems } from "../../history/peer_verdict.ts";
import { type PeerHistory, type RunHistory, unfinishedCause } from "../../history/run_history.ts";
import { escapeControls } from "../../text/terminal_text.ts";
import { RECORD_FILES } from "../record_files.ts";
import type { Reporter } from "./reporter.ts";
import { xmlAttribute, xmlText } from "./xml_text.ts";

const UNFINISHED = `the run did not finish (${
  unfinishedCause(false)
}): its record ends before run-finished`;

/** One `<testcase>`, before it is written. */
interface TestCase {
  classname: string;
  name: string;
  failure?: { type: string; message: string; body: string[] };
  /** A known failure: reported as skipped, with its reason. */
  skipped?: string;
  systemOut?: string[];
}

/** The `junit.xml` reporter: written a test case at a time. */
export const junitReporter: Reporter = {
  file: RECORD_FILES.junit,
  render: ({ history }) => junitParts(history),
};

/** The whole `junit.xml` of a run. */
export function junitXml(history: RunHistory): string {
  return [...junitParts(history)].join("");
}

/**
 * `junit.xml` in parts, in order: the head, then each test case as it is built, then the tail.
 * The whole file is never held: at 1,000 peers, building every case first and joining them was
 * 7.5 MiB of tm's peak at the end of the run (replayed from a 1,000-peer record).
 */
export function* junitParts(history: RunHistory): Generator<string> {
  // The counts go in the head: counted first, from what decides them, without building a case.
  const peerFailures = history.peers.filter((peer) => peerProblems(peer).length > 0).length;
  const checkFailures = history.checks.filter((check) => failsRun(check, history.strictKnown))
    .length;
  const failures = peerFailures + checkFailures + (history.finished ? 0 : 1);
  const skipped = history.checks.filter((check) => checkStanding(check) === "known-failure")
    .length;
  const tests = history.peers.length + history.checks.length + (history.finished ? 0 : 1);
  const seconds = (history.finished?.durationMs ?? history.lastMs) / 1_000;
  const suite = attributes({
    name: history.test,
    tests,
    failures,
    errors: 0,
    skipped,
    time: seconds.toFixed(3),
    timestamp: history.startedAt.replace(/\.\d+Z$/, "").replace(/Z$/, ""),
    id: history.runId,
  });
  const summary = attributes({ name: "tm", tests, failures, errors: 0, skipped });
  yield [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites${summary} time="${seconds.toFixed(3)}">`,
    `  <testsuite${suite}>`,
    `    <properties>`,
    ...[
      ["run id", history.runId],
      ["verdict", history.finished?.verdict ?? "unfinished"],
      ["exit code", String(history.finished?.exitCode ?? "none")],
      ...(history.finished?.reason ? [["reason", history.finished.reason]] : []),
    ].map(([name, value]) => `      <property${attributes({ name, value })}/>`),
    `    </properties>`,
    "",
  ].join("\n");
  for (const peer of history.peers) yield caseText(peerCase(history, peer));
  for (const check of history.checks) yield caseText(checkCase(history, check));
  if (!history.finished) yield caseText(unfinishedCase(history));
  yield `  </testsuite>\n</testsuites>\n`;
}

function unfinishedCase(history: RunHistory): TestCase {
  return {
    classname: `${history.test}.run`,
    name: "run finished",
    failure: { type: "unfinished", message: UNFINISHED, body: [UNFINISHED] },
  };
}

function peerCase(history: RunHistory, peer: PeerHistory): TestCase {
  const problems = peerProblems(peer);
  const said = `${peer.peer} ${problems.map((p) => p.text).join("; ")}`;
  const where = `on ${peer.host} port ${peer.port}, image ${peer.image}`;
  const logs = peer.lastLogs.length > 0 ? ["last log lines:", ...peer.lastLogs] : ["no log lines"];
  const output = peer.exitOutput.length > 0 ? ["last output lines:", ...peer.exitOutput] : [];
  return {
    classname: `${history.test}.peers`,
    name: peer.peer,
    ...(problems.length > 0
      ? {
        failure: {
          type: problems[0].kind,
          message: said,
          body: [`${said} (${where})`, ...output, ...logs],
        },
      }
      : {}),
    systemOut: [
      `${where}; last status ${peer.lastStatus ?? "none"}; ${peer.restarts} restart(s)`,
      ...logs,
    ],
  };
}

function checkCase(history: RunHistory, check: CheckOutcome): TestCase {
  const at = `decided at ${(check.atMs / 1_000).toFixed(3)} s on the timeline clock`;
  const standing = checkStanding(check);
  const failure = failsRun(check, history.strictKnown)
    ? check.passed
      ? {
        type: "fixed-known",
        message: strictKnownFailure(check),
        body: [strictKnownFailure(check)],
      }
      : {
        type: "check",
        message: failedCheck(check),
        body: [`${failedCheck(check)} (${at})`, ...(check.evidence ?? [])],
      }
    : undefined;
  const said = standing === "known-failure"
    ? knownFailureText(check)
    : standing === "fixed"
    ? `passed: ${FIXED_HINT} (${check.known})`
    : check.passed
    ? "passed"
    : "failed";
  return {
    classname: `${history.test}.checks`,
    name: `#${check.index} ${check.description}`,
    ...(failure ? { failure } : {}),
    ...(standing === "known-failure" ? { skipped: knownFailureText(check) } : {}),
    systemOut: [
      `${said}, ${at}; peers ${check.peers.join(", ")}`,
      ...(standing === "known-failure" ? (check.evidence ?? []) : []),
    ],
  };
}

/** One `<testcase>` element, its lines each ended by `\n`. */
function caseText(testCase: TestCase): string {
  const head = `    <testcase${
    attributes({ classname: testCase.classname, name: testCase.name })
  }>`;
  const failure = testCase.failure;
  return [
    head,
    ...(testCase.skipped !== undefined
      ? [`      <skipped${attributes({ message: testCase.skipped })}/>`]
      : []),
    ...(failure
      ? [
        `      <failure${attributes({ type: failure.type, message: failure.message })}>${
          lines(failure.body)
        }</failure>`,
      ]
      : []),
    ...(testCase.systemOut ? [`      <system-out>${lines(testCase.systemOut)}</system-out>`] : []),
    `    </testcase>`,
    "",
  ].join("\n");
}

/** Character data of `texts`, one a line, each escaped as the views escape it. */
function lines(texts: readonly string[]): string {
  return xmlText(texts.map(escapeControls).join("\n"));
}

/** ` a="…" b="…"`, each value escaped (as the views escape it, then for XML). */
function attributes(values: Record<string, string | number>): string {
  return Object.entries(values).map(([key, value]) =>
    ` ${key}="${xmlAttribute(escapeControls(String(value)))}"`
  ).join("");
}
