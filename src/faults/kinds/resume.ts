/** `resume`: thaws a paused peer. */
import { z } from "zod";
import { defineFault } from "../fault_kind.ts";
import { faultTargets, faultTime } from "./entry_fields.ts";

export const resume = defineFault({
  name: "resume",
  schema: z.strictObject({
    time: faultTime,
    fault: z.literal("resume").describe("thaws a paused peer"),
    ...faultTargets,
  }),
  acts: "container",
  targets: "required",
  tools: [],
  order: {
    refuse: (peer, condition, by) =>
      condition === "paused"
        ? undefined
        : condition === "killed"
        ? `${peer} is killed (${by}), not paused: start brings it back`
        : `resume only follows a pause: ${peer} is not paused at this point of the timeline`,
    leaves: "running",
  },
  details: () => ({}),
  sentence: (_action, on) => `resume ${on}`,
  apply: {
    scope: "peer",
    run: (peer, _action, { control, signal }) => control.resume(peer, signal),
  },
});
