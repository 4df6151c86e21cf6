/** `pause`: freezes a peer (docker pause, SIGSTOP for processes); `resume` thaws it. */
import { z } from "zod";
import { defineFault } from "../fault_kind.ts";
import { faultTargets, faultTime } from "./entry_fields.ts";

export const pause = defineFault({
  name: "pause",
  schema: z.strictObject({
    time: faultTime,
    fault: z.literal("pause").describe("freezes the peer until resume"),
    ...faultTargets,
  }),
  acts: "container",
  targets: "required",
  tools: [],
  order: {
    refuse: (peer, condition, by) =>
      condition === "paused"
        ? `${peer} is already paused (${by})`
        : condition === "killed"
        ? `${peer} is killed (${by}) and not started again`
        : undefined,
    leaves: "paused",
  },
  details: () => ({}),
  sentence: (_action, on) => `pause ${on}`,
  apply: {
    scope: "peer",
    run: (peer, _action, { control, signal }) => control.pause(peer, signal),
  },
});
