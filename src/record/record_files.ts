/**
 * The files of a run's directory (docs/run-record.md, "Layout"): one owner of their names for the
 * recorder, `tm report`, `tm runs` and the tests.
 */
import { errorMessage } from "../base/errors.ts";

/** File names inside a run's directory: one owner for `tm report`, `tm runs` and the docs. */
export const RECORD_FILES = {
  events: "events.jsonl",
  summary: "summary.json",
  config: "config.yaml",
  plan: "plan.json",
  junit: "junit.xml",
  report: "report.html",
  peers: "peers",
} as const;

/** `peers/<peer>.log` and `peers/<peer>.container.log`, relative to the run's directory. */
export function peerFile(peer: string, kind: "log" | "container.log"): string {
  return `${RECORD_FILES.peers}/${peer}.${kind}`;
}

/** A write to the run record failed: the record is incomplete from there on. */
export class RecordWriteError extends Error {
  /**
   * @param path the file that could not be written
   * @param cause the operating system's error
   */
  constructor(readonly path: string, cause: unknown) {
    super(`the run record ${path} could not be written: ${errorMessage(cause)}`, { cause });
    this.name = "RecordWriteError";
  }
}
