/** `start`: runs a killed peer again (same name, environment and port); it is re-bootstrapped. */
import { z } from "zod";
import type { RunningPeer } from "../../engine/runtime.ts";
import { defineFault } from "../fault_kind.ts";
import { faultTargets, faultTime } from "./entry_fields.ts";

export const start = defineFault({
  name: "start",
  schema: z.strictObject({
    time: faultTime,
    fault: z.literal("start").describe("runs a killed peer again"),
    ...faultTargets,
  }),
  acts: "container",
  targets: "required",
  tools: [],
  order: {
    refuse: (peer, condition, by) =>
      condition === "killed"
        ? undefined
        : condition === "paused"
        ? `${peer} is paused (${by}), not killed: resume thaws it`
        : `start only follows a kill: ${peer} is running at this point of the timeline`,
    leaves: "running",
  },
  details: () => ({}),
  sentence: (_action, on) => `start ${on}`,
  apply: {
    scope: "peer",
    run: async (peer, _action, { control, hooks, signal }) => {
      await hooks.starting(peer, signal);
      let running: RunningPeer;
      try {
        running = await control.start(peer, signal);
      } catch (error) {
        hooks.startFailed(peer);
        throw error;
      }
      hooks.started(peer, running);
    },
  },
});
