/**
 * The run record's `junit.xml` (docs/run-record.md, "junit.xml"): one `<testsuite>` for the run,
 * a `<testcase>` per peer and per decided check, in the JUnit XML dialect Jenkins and GitLab read
 * (the Ant/Jenkins `junit-10.xsd` shape: `testsuites > testsuite > testcase > failure,
 * system-out`). GitLab ignores a failure's `message` attribute, so the body repeats it.
 *
 * Text is escaped twice, in order: as every view shows outside text (src/text/terminal_text.ts:
 * controls, line separators and bidi overrides as visible `\u202e`-style escapes, so a CI page
 * shows what the console shows), then for XML.
 */
import { failedCheck } from "../../engine/checks.ts";
import type { CheckOutcome } from "../../engine/events.ts";
import { peerProblems } from "../../history/peer_verdict.ts";
import { type PeerHistory, type RunHistory, unfinishedCause } from "../../history/run_history.ts";
import { escapeControls } from "../../text/terminal_text.ts";
import { xmlAttribute, xmlText } from "./xml_text.ts";

const UNFINISHED = `the run did not finish (${
  unfinishedCause(false)
}): its record ends before run-finished`;

/** One `<testcase>`, before it is written. */
interface TestCase {
  classname: string;
  name: string;
  failure?: { type: string; message: string; body: string[] };
  systemOut?: string[];
}

/** The whole `junit.xml` of a run. */
export function junitXml(history: RunHistory): string {
  const cases = [
    ...history.peers.map((peer) => peerCase(history, peer)),
    ...history.checks.map((check) => checkCase(history, check)),
  ];
  if (!history.finished) {
    cases.push({
      classname: `${history.test}.run`,
      name: "run finished",
      failure: {
        type: "unfinished",
        message: UNFINISHED,
        body: [UNFINISHED],
      },
    });
  }
  const failures = cases.filter((c) => c.failure).length;
  const seconds = (history.finished?.durationMs ?? history.lastMs) / 1_000;
  const suite = attributes({
    name: history.test,
    tests: cases.length,
    failures,
    errors: 0,
    skipped: 0,
    time: seconds.toFixed(3),
    timestamp: history.startedAt.replace(/\.\d+Z$/, "").replace(/Z$/, ""),
    id: history.runId,
  });
  const summary = attributes({ name: "tm", tests: cases.length, failures, errors: 0 });
  return [
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
    ...cases.flatMap(caseLines),
    `  </testsuite>`,
    `</testsuites>`,
    "",
  ].join("\n");
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
  return {
    classname: `${history.test}.checks`,
    name: `#${check.index} ${check.description}`,
    ...(check.passed ? {} : {
      failure: {
        type: "check",
        message: failedCheck(check),
        body: [
          `${failedCheck(check)} (${at})`,
          ...(check.evidence ?? []),
        ],
      },
    }),
    systemOut: [`${check.passed ? "passed" : "failed"}, ${at}; peers ${check.peers.join(", ")}`],
  };
}

function caseLines(testCase: TestCase): string[] {
  const head = `    <testcase${
    attributes({ classname: testCase.classname, name: testCase.name })
  }>`;
  const failure = testCase.failure;
  return [
    head,
    ...(failure
      ? [
        `      <failure${attributes({ type: failure.type, message: failure.message })}>${
          lines(failure.body)
        }</failure>`,
      ]
      : []),
    ...(testCase.systemOut ? [`      <system-out>${lines(testCase.systemOut)}</system-out>`] : []),
    `    </testcase>`,
  ];
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
