/** `rate`: an outgoing bandwidth limit (an HTB class). */
import { z } from "zod";
import { defineFault } from "../fault_kind.ts";
import { faultTargets, faultTime, refuseKilled } from "./entry_fields.ts";

/** Fastest rate a `rate` fault sets (100 Gbit/s): beyond any link the test bed has. */
export const MAX_RATE_KBIT = 100_000_000;

export const rate = defineFault({
  name: "rate",
  schema: z.strictObject({
    time: faultTime,
    fault: z.literal("rate").describe("outgoing bandwidth limit (tc HTB)"),
    ...faultTargets,
    kbit: z.number().int().min(1).max(MAX_RATE_KBIT).describe("outgoing rate, kbit/s"),
  }),
  acts: "network",
  targets: "required",
  tools: ["traffic-control"],
  order: { refuse: refuseKilled },
  details: (entry) => ({ shaping: { rateKbit: entry.kbit } }),
  sentence: ({ shaping }, on) => `rate ${shaping?.rateKbit ?? 0} kbit/s on ${on}`,
  apply: {
    scope: "peer",
    run: (peer, action, { control, signal }) => control.shape(peer, action.shaping ?? {}, signal),
  },
});
