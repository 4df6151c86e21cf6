/** `loss`: a share of outgoing packets dropped (a BPF filter: no netem needed). */
import { z } from "zod";
import { defineFault } from "../fault_kind.ts";
import { faultTargets, faultTime, refuseKilled } from "./entry_fields.ts";

export const loss = defineFault({
  name: "loss",
  schema: z.strictObject({
    time: faultTime,
    fault: z.literal("loss").describe("outgoing packet loss (tc netem loss)"),
    ...faultTargets,
    percent: z.number().min(0).max(100).describe("share of outgoing packets dropped, 0-100"),
  }),
  acts: "network",
  targets: "required",
  tools: ["traffic-control"],
  order: { refuse: refuseKilled },
  details: (entry) => ({ shaping: { lossPercent: entry.percent } }),
  sentence: ({ shaping }, on) => `loss ${shaping?.lossPercent ?? 0}% on ${on}`,
  apply: {
    scope: "peer",
    run: (peer, action, { control, signal }) => control.shape(peer, action.shaping ?? {}, signal),
  },
});
