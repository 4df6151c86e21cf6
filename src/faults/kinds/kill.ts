/** `kill`: SIGKILL, an expected exit (not a crash); `start` runs the peer again. */
import { z } from "zod";
import { FaultTargetGoneError } from "../../engine/runtime.ts";
import { defineFault } from "../fault_kind.ts";
import { faultTargets, faultTime } from "./entry_fields.ts";

export const kill = defineFault({
  name: "kill",
  schema: z.strictObject({
    time: faultTime,
    fault: z.literal("kill").describe("SIGKILL: an expected exit, not a crash"),
    ...faultTargets,
  }),
  acts: "container",
  targets: "required",
  tools: [],
  order: {
    refuse: (peer, condition, by) =>
      condition === "paused"
        ? `${peer} is paused (${by}); resume it before kill`
        : condition === "killed"
        ? `${peer} is killed (${by}) and not started again`
        : undefined,
    leaves: "killed",
  },
  details: () => ({}),
  sentence: (_action, on) => `kill ${on}`,
  apply: {
    scope: "peer",
    run: async (peer, _action, { control, hooks, signal }) => {
      hooks.killing(peer);
      try {
        await control.kill(peer, signal);
      } catch (error) {
        // Gone already: its exit was (or will be) seen as it happened.
        if (!(error instanceof FaultTargetGoneError)) hooks.killFailed(peer);
        throw error;
      }
    },
  },
});
