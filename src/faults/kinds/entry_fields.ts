/**
 * The fields every fault entry shares: its time and, for most kinds, its targets
 * (docs/config.md, "Faults").
 */
import { z } from "zod";

/** `time`: seconds after the timeline starts. */
export const faultTime = z.number().min(0).describe("seconds after the timeline starts");

/**
 * Who a fault acts on: `peer: <name>`, or `peers:` a list or `"*"` (every peer). Exactly one of
 * the two where the kind's `targets` is `required` (`fault_checks.ts` says so with a position).
 */
export const faultTargets = {
  peer: z.string().optional().describe(
    'the peer the fault acts on, or a glob or range selecting several ("node-[1-5]")',
  ),
  peers: z.union([z.array(z.string()).min(1), z.literal("*")]).optional().describe(
    'the peers the fault acts on: a list of names, globs or ranges, or "*" for every peer',
  ),
};

/** The refusal every network fault shares: a killed peer has no network to shape. */
export function refuseKilled(peer: string, condition: string, by: string): string | undefined {
  return condition === "killed"
    ? `${peer} is killed (${by}) and not started again; a network fault needs its ` +
      "container running (a started peer gets the faults in force again)"
    : undefined;
}
