/**
 * `tm validate <config>`: the config loaded and checked, then the plan as text (a table, a group
 * in one row) or JSON (one record per peer). Starts and contacts nothing, and loads no runtime:
 * it learns from `runtime_kind.ts` whether the hosts are found at run time.
 */
import { loadConfigFile } from "../plan/load.ts";
import { isFault } from "../plan/schema.ts";
import { place } from "../plan/placement.ts";
import { buildTimeline } from "../engine/timeline.ts";
import { UsageError } from "../base/errors.ts";
import { formatSeconds } from "../text/quantities.ts";
import { HOSTS_FOUND_AT_RUN_TIME, runtimeKindOf } from "../runtimes/runtime_kind.ts";
import { formatChaos } from "./chaos_listing.ts";
import { formatPlanTable, planRecords } from "./plan_table.ts";

/** Options of `validateCommand`. */
export interface ValidateOptions {
  /** `--json`: only the JSON array of placed peers. Default: the summary and the table. */
  json?: boolean;
}

/**
 * What `tm validate` prints for `file`.
 *
 * @throws ConfigError for an invalid config; UsageError for `--json` when the hosts (a swarm's
 *   nodes) are found at run time, so there is no plan to print
 */
export async function validateCommand(
  file: string,
  options: ValidateOptions = {},
): Promise<string> {
  const config = await loadConfigFile(file);
  if (HOSTS_FOUND_AT_RUN_TIME.has(runtimeKindOf(config))) {
    // Its hosts (a swarm's nodes) are found at run time; validate contacts nothing.
    if (options.json) {
      throw new UsageError(
        `${file}: valid, but its plan is made at run time, once the swarm's nodes are ` +
          "known (tm validate does not contact the swarm): --json has no plan to print",
      );
    }
    return `${file}: valid. ${count(config.peers.length, "peer")}, seed ${config.seed}. The ` +
      `plan is made when tm runs the test: the hosts are the swarm's nodes, found then ` +
      `(tm validate does not contact the swarm)\n`;
  }
  const placed = place(config);
  if (options.json) return JSON.stringify(planRecords(placed), null, 2) + "\n";
  const hosts = new Set(placed.map((p) => p.hostIndex)).size;
  const last = buildTimeline(config.commands).at(-1)?.time ?? 0;
  const faults = config.commands.filter(isFault).length;
  const commands = count(config.commands.length - faults, "command");
  return `${file}: valid. ${count(placed.length, "peer")} on ${count(hosts, "host")}, ` +
    `${faults > 0 ? `${commands} and ${count(faults, "fault")}` : commands} ` +
    `over ${formatSeconds(last)}, seed ${config.seed}\n\n` +
    formatPlanTable(placed) + "\n" +
    (config.chaos ? "\n" + formatChaos(config.chaos, config.peers.map((peer) => peer.name)) : "");
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
