/** `partition`: no traffic between groups of peers, both ways, across hosts and within one. */
import { z } from "zod";
import { defineFault } from "../fault_kind.ts";
import { faultTime, refuseKilled } from "./entry_fields.ts";

export const partition = defineFault({
  name: "partition",
  schema: z.strictObject({
    time: faultTime,
    fault: z.literal("partition").describe("no traffic between the groups, both ways"),
    groups: z.array(z.array(z.string()).min(1)).min(2).describe(
      "at least two non-empty lists of peers (names, globs or ranges); each peer in at most one",
    ),
  }),
  acts: "network",
  targets: "groups",
  tools: ["traffic-control"],
  order: { refuse: refuseKilled },
  details: (entry) => ({ groups: entry.groups.map((group) => [...group]) }),
  sentence: ({ groups }, _on, list) => `partition ${(groups ?? []).map(list).join(" | ")}`,
  apply: {
    scope: "action",
    run: (action, { control, signal }) => control.partition(action.groups ?? [], signal),
  },
});
