/**
 * Test support: a short run whose outside text is hostile, for the views' escaping tests. Peers
 * send a log line that forges a line and clears the screen, a status that sets a colour and rings
 * the bell, one that sets the terminal title; a host's message carries a C1 CSI and a bidi
 * override; a crashed peer's output, a failed check's evidence and the verdict quote them.
 */
import type { CheckOutcome, EngineEvent } from "../../src/engine/events.ts";
import { PLAN } from "./scripted_events.ts";

/**
 * The peer log line of issue 8 (`warn|line1\nline2\x1b[2J`), then issue 18's: a line separator
 * (editors break the line there) and a right-to-left override (`\u202eevil` reads "live").
 */
export const HOSTILE_LOG = "line1\nline2\x1b[2J\u2028line3\u2029 \u202eevil\u202c";
/** Everything after `started|` of the peer status of issue 8 (`started|junk|\x1b[31mRED\x07`). */
export const HOSTILE_ADDRESS = "junk|\x1b[31mRED\x07";
/** A status word that sets the terminal title (OSC 0). */
export const HOSTILE_STATUS = "\x1b]0;owned\x07";
/** U+009B is CSI to a terminal that reads C1 controls; U+202E reverses what follows. */
export const HOSTILE_HOST_TEXT = "bind\x9b2J failed \u202egnp.exe";
/** A test name with a carriage return (it would overwrite the header from column 0). */
export const HOSTILE_TEST = "demo\rFAKE";

/** The same texts as every view must show them. */
export const SHOWN = {
  log: "line1\\nline2\\x1b[2J\\u2028line3\\u2029 \\u202eevil\\u202c",
  address: "junk|\\x1b[31mRED\\x07",
  status: "\\x1b]0;owned\\x07",
  hostText: "bind\\x9b2J failed \\u202egnp.exe",
  test: "demo\\rFAKE",
};

/**
 * Raw control or bidi characters a view must never print (LF excepted: views end their own
 * lines with it). Views that style text themselves (ink) are checked with RAW_SEQUENCES.
 */
export const RAW_CONTROL =
  // deno-lint-ignore no-control-regex
  /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/** The hostile sequences themselves, for views whose own output has escape codes. */
export const RAW_SEQUENCES = [
  "\x1b[2J",
  "\x1b[31m",
  "\x07",
  "\x1b]0;",
  "\x9b",
  "\u202e",
  "\r",
  "\u2028",
  "\u2029",
];

/** A failed check whose evidence quotes the hostile log line. */
export const HOSTILE_CHECK: CheckOutcome = {
  index: 0,
  description: 'alice logs "ready" by 1 s',
  peers: ["alice"],
  passed: false,
  atMs: 1000,
  evidence: ["last lines of alice:", `[warn] ${HOSTILE_LOG}`],
};

/** The hostile run: four peers; carol crashes; the run fails. */
export function hostileRun(): EngineEvent[] {
  return [
    {
      t: 0,
      type: "run-started",
      test: HOSTILE_TEST,
      runId: "r-hostile",
      plan: PLAN,
      timeline: [],
      logFile: "demo.log",
    },
    { t: 10, type: "phase", phase: "starting" },
    {
      t: 20,
      type: "peer-status",
      peer: "alice",
      status: "started",
      previous: null,
      address: HOSTILE_ADDRESS,
    },
    { t: 30, type: "peer-log", peer: "alice", level: "warn", message: HOSTILE_LOG },
    { t: 40, type: "warning", host: "host-1", message: HOSTILE_HOST_TEXT },
    { t: 45, type: "error", peer: "dave", message: `dave: ${HOSTILE_LOG}` },
    { t: 50, type: "peer-status", peer: "bob", status: HOSTILE_STATUS, previous: null },
    { t: 55, type: "trace", message: `read ${HOSTILE_LOG}` },
    { t: 58, type: "check-decided", check: HOSTILE_CHECK },
    { t: 60, type: "phase", phase: "shutdown" },
    {
      t: 70,
      type: "peer-exited",
      peer: "carol",
      code: 3,
      expected: false,
      output: [HOSTILE_LOG, HOSTILE_HOST_TEXT],
    },
    {
      t: 80,
      type: "run-finished",
      verdict: "failed",
      exitCode: 1,
      reason: `peer carol crashed: ${HOSTILE_LOG}`,
      durationMs: 80,
      checks: [HOSTILE_CHECK],
      peers: PLAN.map(({ peer, host }) => ({
        peer,
        host,
        status: peer === "bob" ? HOSTILE_STATUS : "started",
        restarts: 0,
        warnings: 0,
        errors: 0,
        exitCode: peer === "carol" ? 3 : undefined,
      })),
    },
  ];
}
