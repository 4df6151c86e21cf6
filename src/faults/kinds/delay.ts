/** `delay`: outgoing latency, `ms` ± `jitter`, by the kernel's netem qdisc. */
import { z } from "zod";
import { defineFault } from "../fault_kind.ts";
import { faultTargets, faultTime, refuseKilled } from "./entry_fields.ts";

/** Longest delay or jitter a `delay` fault sets: a minute is already a dead link. */
export const MAX_DELAY_MS = 60_000;

export const delay = defineFault({
  name: "delay",
  schema: z.strictObject({
    time: faultTime,
    fault: z.literal("delay").describe("outgoing latency (tc netem delay)"),
    ...faultTargets,
    ms: z.number().min(0).max(MAX_DELAY_MS).describe("added delay of each outgoing packet, ms"),
    jitter: z.number().min(0).max(MAX_DELAY_MS).optional().describe(
      "random variation of the delay, ± ms; default 0",
    ),
  }),
  acts: "network",
  targets: "required",
  tools: ["traffic-control", "netem"],
  order: { refuse: refuseKilled },
  details: (entry) => ({ shaping: { delayMs: entry.ms, jitterMs: entry.jitter ?? 0 } }),
  sentence: ({ shaping }, on) =>
    `delay ${shaping?.delayMs ?? 0} ms${
      shaping?.jitterMs ? ` ± ${shaping.jitterMs} ms` : ""
    } on ${on}`,
  apply: {
    scope: "peer",
    run: (peer, action, { control, signal }) => control.shape(peer, action.shaping ?? {}, signal),
  },
});
