/**
 * Test support: run owners whose process is known to be gone, to stand for a run that was
 * killed (a SIGKILLed tm) without killing anything.
 */
import { currentOwner, type RunOwner } from "../../src/coordination/run_owner.ts";

/** This process's owner record with another start time: a process that no longer exists. */
export function deadOwner(runId: string, test: string): RunOwner {
  const owner = currentOwner(runId, test);
  return { ...owner, process: owner.process.replace(/\/\d+$/, "/1") };
}
