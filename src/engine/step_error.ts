/** The error of a run's step that failed, naming what the engine was doing. */
import { errorMessage } from "../base/errors.ts";

/** A step that failed, with what the engine was doing: `starting Redis: <cause>`. */
export class StepError extends Error {
  constructor(readonly step: string, cause: unknown) {
    super(`${step}: ${errorMessage(cause)}`, { cause });
    this.name = "StepError";
  }
}
