/** `heal`: removes the network faults of some peers, or of every peer. */
import { z } from "zod";
import { defineFault } from "../fault_kind.ts";
import { faultTargets, faultTime } from "./entry_fields.ts";

export const heal = defineFault({
  name: "heal",
  schema: z.strictObject({
    time: faultTime,
    fault: z.literal("heal").describe("removes network faults (delay, loss, rate, partition)"),
    ...faultTargets,
  }),
  acts: "network",
  targets: "optional",
  tools: ["traffic-control"],
  order: { refuse: () => undefined },
  details: () => ({}),
  sentence: (_action, on) => `heal ${on}`,
  apply: {
    scope: "action",
    run: (action, { control, allPeers, signal }) => {
      const all = allPeers.every((peer) => action.peers.includes(peer));
      return control.heal(all ? "all" : action.peers, signal);
    },
  },
  heals: true,
});
