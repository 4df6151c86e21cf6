/**
 * Seeded chaos (docs/config.md, "Chaos"): a timeline entry `fault: chaos` that stands for faults
 * drawn at random between `from` and `until`, expanded once, when the test file is loaded, into
 * concrete fault entries. Like Jepsen's nemesis generators, but the schedule is a pure function of
 * the entry, the peers and one seed, so the same seed gives the same faults, byte for byte, and a
 * run is repeated from the number its summary prints.
 *
 * Every fault drawn is undone within the window: a `pause` by a `resume`, a `kill` by a `start`,
 * a network fault (`delay`, `loss`, `rate`, `partition`) by a `heal` of the same peers, all by
 * `until`. A peer takes part in one chaos fault at a time, and one partition is in force at a
 * time, so the schedule keeps the timeline-order rules (`fault_checks.ts` checks it anyway,
 * together with the rest of the timeline).
 */
import { z } from "zod";
import { unknownPeer } from "../plan/closest_match.ts";
import { isPeerPattern } from "../plan/peer_selector.ts";
import type { ChaosPlan, FaultConfig, FileTimelineEntry } from "../plan/schema.ts";
import type { PathProblem, PathSegment } from "../plan/validate.ts";
import { MAX_SEED, type Random, randomIndex, seededRandom } from "../plan/seed.ts";
import { faultTargets } from "./kinds/entry_fields.ts";

/** The kinds chaos may draw: each has its undo (`resume`, `start`, `heal`). */
export const CHAOS_KINDS = ["pause", "kill", "loss", "delay", "rate", "partition"] as const;
export type ChaosKind = (typeof CHAOS_KINDS)[number];

/** At most this many faults (undos included) from one chaos entry: a timeline stays readable. */
export const MAX_CHAOS_FAULTS = 10_000;

/** Shortest mean interval: below it faults would pile up faster than a host can apply them. */
export const MIN_CHAOS_EVERY = 0.1;

export const ChaosSchema = z.strictObject({
  fault: z.literal("chaos").describe(
    "random faults between from and until, drawn from the seed; expanded when the file is loaded",
  ),
  from: z.number().min(0).describe("seconds after the timeline starts: the first fault's earliest"),
  until: z.number().min(0).describe("seconds: every chaos fault is undone by then"),
  every: z.number().min(MIN_CHAOS_EVERY).describe("mean seconds between two faults"),
  kinds: z.array(z.enum(CHAOS_KINDS)).min(1).describe(
    `the faults to draw from: ${CHAOS_KINDS.join(", ")}`,
  ),
  peers: faultTargets.peers.unwrap().describe(
    'the peers chaos acts on: a list of names, globs or ranges, or "*" for every peer',
  ),
  seed: z.number().int().min(0).max(MAX_SEED).optional().describe(
    "seed of this entry's schedule; default the test's seed",
  ),
});
export type ChaosConfig = z.output<typeof ChaosSchema>;

/** Whether a file's timeline entry is `fault: chaos`. */
export function isChaos(entry: FileTimelineEntry): entry is ChaosConfig {
  return "fault" in entry && entry.fault === "chaos";
}

/** The last moment a file's entry acts at: its `time`, or a chaos entry's `until`. */
export function latestMoment(entry: FileTimelineEntry): number {
  return isChaos(entry) ? entry.until : entry.time;
}

/** A chaos entry expanded: its faults in time order, and the seed that drew them. */
export interface ChaosSchedule {
  seed: number;
  faults: FaultConfig[];
}

/** The values chaos draws network faults' parameters from (docs/config.md, "Chaos"). */
export const CHAOS_PARAMETERS = {
  lossPercent: [10, 30, 50, 100],
  delayMs: [50, 100, 200, 500],
  rateKbit: [64, 256, 1024],
} as const;

/**
 * The faults of one chaos entry. Faults start at exponentially distributed intervals of mean
 * `every` from `from`; each lasts a uniform quarter to whole of `every` (cut at `until`); a fault
 * finding no free peer is skipped.
 *
 * @param allPeers every peer of the test, in the file's order (what `peers: "*"` stands for)
 * @param seed the entry's seed, else the test's
 * @param index the entry's position in the timeline: two chaos entries draw unrelated streams
 * @param select the peers a list of names and selectors stands for (default: the names as given)
 */
export function expandChaos(
  chaos: ChaosConfig,
  allPeers: readonly string[],
  seed: number,
  index: number,
  select: SelectPeers = (patterns) => [...patterns],
): ChaosSchedule {
  const peers = chaos.peers === "*" ? allPeers : select(chaos.peers);
  const random = seededRandom(seed, `chaos#${index}`);
  const freeAt = new Map(peers.map((peer) => [peer, chaos.from]));
  let partitionFreeAt = chaos.from;
  const faults: FaultConfig[] = [];
  for (
    let t = chaos.from + interval(random, chaos.every);
    t < chaos.until;
    t += interval(random, chaos.every)
  ) {
    if (faults.length + 2 > MAX_CHAOS_FAULTS) break;
    const kind = chaos.kinds[randomIndex(random, chaos.kinds.length)];
    const end = Math.min(chaos.until, t + chaos.every * (0.25 + 0.75 * random()));
    const time = ms(t);
    const undo = ms(end);
    if (undo <= time) continue;
    const free = peers.filter((peer) => freeAt.get(peer)! <= t);
    if (kind === "partition") {
      if (partitionFreeAt > t || free.length < 2) continue;
      const groups = split(free, random);
      const members = groups.flat();
      faults.push({ time, fault: "partition", groups });
      faults.push({ time: undo, fault: "heal", peers: members });
      for (const peer of members) freeAt.set(peer, end);
      partitionFreeAt = end;
      continue;
    }
    if (free.length === 0) continue;
    const peer = free[randomIndex(random, free.length)];
    freeAt.set(peer, end);
    faults.push(...drawn(kind, peer, time, undo, random));
  }
  faults.sort((a, b) => a.time - b.time);
  return { seed, faults };
}

/** A fault on one peer and its undo. */
function drawn(
  kind: ChaosKind,
  peer: string,
  time: number,
  undo: number,
  random: Random,
): FaultConfig[] {
  const pick = <T>(values: readonly T[]) => values[randomIndex(random, values.length)];
  switch (kind) {
    case "pause":
      return [{ time, fault: "pause", peer }, { time: undo, fault: "resume", peer }];
    case "kill":
      return [{ time, fault: "kill", peer }, { time: undo, fault: "start", peer }];
    case "loss":
      return [
        { time, fault: "loss", peer, percent: pick(CHAOS_PARAMETERS.lossPercent) },
        { time: undo, fault: "heal", peer },
      ];
    case "delay":
      return [
        { time, fault: "delay", peer, ms: pick(CHAOS_PARAMETERS.delayMs) },
        { time: undo, fault: "heal", peer },
      ];
    case "rate":
      return [
        { time, fault: "rate", peer, kbit: pick(CHAOS_PARAMETERS.rateKbit) },
        { time: undo, fault: "heal", peer },
      ];
    case "partition":
      throw new Error("a partition is drawn over several peers");
  }
}

/** Two non-empty groups of the given peers, each peer in one at random. */
function split(peers: readonly string[], random: Random): string[][] {
  const groups: string[][] = [[], []];
  for (const peer of peers) groups[random() < 0.5 ? 0 : 1].push(peer);
  if (groups[0].length === 0) groups[0].push(groups[1].shift()!);
  if (groups[1].length === 0) groups[1].push(groups[0].pop()!);
  return groups;
}

/** An exponentially distributed interval of mean `every`, at least a millisecond. */
function interval(random: Random, every: number): number {
  return Math.max(0.001, -Math.log(1 - random()) * every);
}

/** Seconds rounded to the millisecond: the schedule prints and compares exactly. */
function ms(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** The peers a list of names, globs and ranges stands for, each once, in file order. */
export type SelectPeers = (patterns: readonly string[]) => readonly string[];

/** Where an entry of the expanded timeline stands in the file. */
export interface EntryOrigin {
  /** Its position in the file's `commands`. */
  index: number;
  /** Drawn by the chaos entry at `index`. */
  chaos: boolean;
}

/** A file's timeline with its chaos entries expanded in place. */
export interface ExpandedTimeline<Entry> {
  commands: Entry[];
  /** Where each of `commands` stands in the file. */
  origins: EntryOrigin[];
  /** Each chaos entry's expansion. */
  chaos: ChaosPlan[];
}

/**
 * Expands each chaos entry in place into the faults it stands for. Entries that failed the
 * schema stay `undefined`. With `draw: false` (some chaos entry is invalid, or peers unknown)
 * chaos entries are left out instead, so the rest of the timeline can still be checked. `select`
 * resolves the globs and ranges of a chaos entry's `peers` (default: names as given).
 *
 * @param peers every peer name, in the file's order (`"*"` stands for them)
 */
export function expandTimeline<Entry extends FileTimelineEntry | undefined>(
  entries: readonly Entry[],
  peers: readonly string[],
  seed: number,
  options: { draw?: boolean; select?: SelectPeers } = {},
): ExpandedTimeline<Exclude<Entry, ChaosConfig>> {
  const { draw = true, select } = options;
  const expanded: ExpandedTimeline<Exclude<Entry, ChaosConfig>> = {
    commands: [],
    origins: [],
    chaos: [],
  };
  entries.forEach((entry, index) => {
    if (entry === undefined || !isChaos(entry)) {
      expanded.commands.push(entry as Exclude<Entry, ChaosConfig>);
      expanded.origins.push({ index, chaos: false });
      return;
    }
    if (!draw) return;
    const schedule = expandChaos(entry, peers, entry.seed ?? seed, index, select);
    for (const fault of schedule.faults) {
      expanded.commands.push(fault as Exclude<Entry, ChaosConfig>);
      expanded.origins.push({ index, chaos: true });
    }
    expanded.chaos.push({ index, seed: schedule.seed, faults: schedule.faults });
  });
  return expanded;
}

/**
 * Each chaos entry's own problems: a window that is empty, peers unknown or listed twice, more
 * faults than `MAX_CHAOS_FAULTS` on average.
 *
 * @param peers every peer name, or undefined while some peer failed the schema
 */
export function checkChaos(
  entries: readonly (FileTimelineEntry | undefined)[],
  peers: readonly string[] | undefined,
): PathProblem[] {
  const problems: PathProblem[] = [];
  entries.forEach((entry, index) => {
    if (entry === undefined || !isChaos(entry)) return;
    const at = (...rest: PathSegment[]): PathSegment[] => ["commands", index, ...rest];
    if (entry.until <= entry.from) {
      problems.push({
        path: at("until"),
        message: `chaos until ${entry.until}s must be later than from ${entry.from}s`,
      });
    }
    const expected = 2 * (entry.until - entry.from) / entry.every;
    if (expected > MAX_CHAOS_FAULTS) {
      problems.push({
        path: at("every"),
        message: `chaos every ${entry.every}s over ${entry.until - entry.from}s draws about ` +
          `${Math.round(expected)} faults with their undos, more than ${MAX_CHAOS_FAULTS}: ` +
          "raise every or shorten the window",
      });
    }
    if (Array.isArray(entry.peers)) {
      const seen = new Set<string>();
      entry.peers.forEach((name, k) => {
        if (seen.has(name)) {
          problems.push({ path: at("peers", k), message: `"${name}" is listed twice` });
        } else if (peers && !isPeerPattern(name) && !peers.includes(name)) {
          // A glob or range is checked with the faults' selectors (validate.ts).
          problems.push({ path: at("peers", k), message: unknownPeer(name, peers) });
        }
        seen.add(name);
      });
    }
  });
  return problems;
}
