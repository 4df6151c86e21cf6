/**
 * Cross-field checks on the timeline's faults (docs/config.md, "Faults"): who each fault acts
 * on (`peer` xor `peers`, known peers, partition groups), and what each peer can be sent or
 * done to at each point of the timeline (`resume` only after `pause`, `start` only after
 * `kill`, no command to a killed peer). Pure; problems carry the YAML path they are about.
 */
import { unknownPeer } from "../plan/closest_match.ts";
import type { PeerCondition } from "./fault_kind.ts";
import type { EntryOrigin } from "./chaos.ts";
import { faultKind } from "./kinds.ts";
import type { FaultConfig, TimelineEntryConfig } from "../plan/schema.ts";
import { isFault } from "../plan/schema.ts";
import { inTimelineOrder } from "../plan/timeline_order.ts";
import { isPeerPattern } from "../plan/peer_selector.ts";
import type { PathProblem, PathSegment } from "../plan/validate.ts";

/** What the fault checks look at; entries that failed the schema are `undefined`. */
export interface FaultCheckParts {
  /** Every peer name, or undefined while some peer failed the schema (names unknown). */
  peers: readonly string[] | undefined;
  commands: readonly (TimelineEntryConfig | undefined)[];
  /**
   * Where each entry stands in the file, when `commands` is the timeline with its chaos entries
   * expanded (`chaos.ts`): problems are reported at the file's entry. Default: `commands` is the
   * file's list.
   */
  origins?: readonly EntryOrigin[];
  /**
   * The peers a glob or range selects (`src/plan/peer_selector.ts`); validate.ts reports the
   * malformed and unmatched ones, so here a selector is never an unknown peer. Absent: names only.
   */
  select?: (pattern: string) => readonly string[];
}

/** The peers one name or selector stands for. */
type Expand = (name: string) => readonly string[];

/** Runs every fault check; problems in file order of the entries they are about. */
export function checkFaults(parts: FaultCheckParts): PathProblem[] {
  const problems: PathProblem[] = [];
  const origin = (position: number): EntryOrigin =>
    parts.origins?.[position] ?? { index: position, chaos: false };
  parts.commands.forEach((entry, position) => {
    if (entry && isFault(entry)) {
      problems.push(
        ...checkTargets(entry, origin(position).index, parts.peers, expander(parts)),
      );
    }
  });
  // Following peers through the timeline needs every entry: one that failed the schema might
  // be the `kill` a later `start` depends on.
  if (problems.length === 0 && parts.peers && parts.commands.every((entry) => entry)) {
    problems.push(
      ...checkSequence(parts.commands as TimelineEntryConfig[], parts.peers, {
        origin,
        expand: expander(parts),
      }),
    );
  }
  return problems.sort((a, b) => (a.path[1] as number) - (b.path[1] as number));
}

/** `peer` xor `peers`, every name known and listed once; partition groups disjoint. */
function checkTargets(
  fault: FaultConfig,
  index: number,
  peers: readonly string[] | undefined,
  expand: Expand,
): PathProblem[] {
  const at = (...rest: PathSegment[]): PathSegment[] => ["commands", index, ...rest];
  const problems: PathProblem[] = [];
  const known = (name: string, path: PathSegment[]) => {
    if (peers && !isPeerPattern(name) && !peers.includes(name)) {
      problems.push({ path, message: unknownPeer(name, peers) });
    }
  };
  if (fault.fault === "partition") {
    const groupOf = new Map<string, number>();
    fault.groups.forEach((group, g) =>
      group.forEach((written, k) => {
        for (const name of expand(written)) {
          const first = groupOf.get(name);
          if (first === undefined) {
            groupOf.set(name, g);
            continue;
          }
          // Two selectors of one group may select the same peer: it is one peer of the group.
          if (first === g && isPeerPattern(written)) continue;
          problems.push({
            path: at("groups", g, k),
            message: first === g
              ? `"${name}" is listed twice in this group`
              : `"${name}" is already in groups[${first}]; a peer belongs to at most one group`,
          });
          return;
        }
        known(written, at("groups", g, k));
      })
    );
    return problems;
  }
  if (fault.peer !== undefined && fault.peers !== undefined) {
    return [{
      path: at("peers"),
      message: `give either peer or peers, not both (${fault.fault} acts on the peers named once)`,
    }];
  }
  if (fault.peer === undefined && fault.peers === undefined) {
    return faultKind(fault.fault).targets === "required"
      ? [{
        path: at("fault"),
        message: `${fault.fault} needs the peers it acts on: peer: <name>, or peers: a list or "*"`,
      }]
      : [];
  }
  if (fault.peer !== undefined) known(fault.peer, at("peer"));
  if (Array.isArray(fault.peers)) {
    const seen = new Set<string>();
    fault.peers.forEach((name, k) => {
      if (seen.has(name)) {
        problems.push({ path: at("peers", k), message: `"${name}" is listed twice` });
      } else known(name, at("peers", k));
      seen.add(name);
    });
  }
  return problems;
}

/** What a fault or command finds a peer in (when not running), and which entry put it there. */
interface Condition {
  state: Exclude<PeerCondition, "running">;
  /** `commands[i] at <time>s`, for messages. */
  by: string;
}

/**
 * Follows every peer through the timeline, in the order the engine runs it: a peer is running,
 * paused or killed, and each kind's `order` says what it needs and leaves (`pause` and `kill` need
 * it running, `resume` paused, `start` killed; network faults need it not killed); commands need it
 * not killed (a killed peer has no network, and commands sent to it
 * are lost). A paused peer may be sent commands: they wait in Redis until it is resumed.
 */
function checkSequence(
  entries: TimelineEntryConfig[],
  peers: readonly string[],
  { origin, expand }: { origin: (position: number) => EntryOrigin; expand: Expand },
): PathProblem[] {
  const problems: PathProblem[] = [];
  const conditions = new Map<string, Condition>();
  for (const { entry, position } of inTimelineOrder(entries)) {
    const from = origin(position);
    const at = (...rest: PathSegment[]): PathSegment[] =>
      from.chaos ? ["commands", from.index] : ["commands", from.index, ...rest];
    const by = `${from.chaos ? "chaos of " : ""}commands[${from.index}] at ${entry.time}s`;
    if (!isFault(entry)) {
      for (const peer of expand(entry.peer)) {
        const killed = conditions.get(peer);
        if (killed?.state === "killed") {
          problems.push({
            path: at("peer"),
            message: `${peer} is killed (${killed.by}) and not started again before this ` +
              `command, which it could not receive; add a fault: start for ${peer} first`,
          });
          break;
        }
      }
      continue;
    }
    const targets = [...new Set(targetsOf(entry, peers).flatMap(expand))];
    const path = entry.fault === "partition" ? at("groups") : at(entry.peer ? "peer" : "peers");
    for (const peer of targets) {
      const now = conditions.get(peer);
      const { order } = faultKind(entry.fault);
      const problem = order.refuse(peer, now?.state ?? "running", now?.by ?? "");
      if (problem) {
        problems.push({
          path,
          message: from.chaos
            ? `the chaos schedule's ${entry.fault} at ${entry.time}s: ${problem}`
            : problem,
        });
        break;
      }
      if (order.leaves === "running") conditions.delete(peer);
      else if (order.leaves !== undefined) conditions.set(peer, { state: order.leaves, by });
    }
  }
  return problems;
}

/** The peers a fault acts on, `"*"` and a target-less `heal` expanded to every peer. */
export function targetsOf(fault: FaultConfig, peers: readonly string[]): string[] {
  if (fault.fault === "partition") return fault.groups.flat();
  if (fault.peer !== undefined) return [fault.peer];
  if (Array.isArray(fault.peers)) return [...fault.peers];
  return [...peers];
}

/** Each selector to the peers it selects, each name to itself. */
function expander(parts: FaultCheckParts): Expand {
  const { select } = parts;
  return (name) => select && isPeerPattern(name) ? select(name) : [name];
}
