/**
 * What `tm validate` shows of each chaos entry: its seed and every fault it drew, in time order,
 * worded as the run will report them (docs/config.md, "Chaos"). Pure.
 */
import { buildTimeline } from "../engine/timeline.ts";
import type { ChaosPlan } from "../plan/schema.ts";
import { chaosSentence, faultSentence } from "../text/event_text.ts";

/** The listing, one line per fault under a heading; `""` for a test without chaos. */
export function formatChaos(chaos: readonly ChaosPlan[], peers: readonly string[]): string {
  return chaos.map((plan) => {
    const heading = `commands[${plan.index}]: ${
      chaosSentence([{ seed: plan.seed, faults: plan.faults.length }])
    }`;
    const lines = buildTimeline(plan.faults, peers).map((entry) =>
      `  ${entry.time.toFixed(3).padStart(9)}s  ${
        "fault" in entry ? faultSentence(entry) : entry.command
      }`
    );
    return [heading, ...lines].join("\n") + "\n";
  }).join("\n");
}
