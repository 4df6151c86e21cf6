/**
 * The test file expanded into what the engine runs (docs/config.md, "Groups" and "Selecting
 * peers"): every `count:` entry into its peers, every bootstrap into a list of names (selectors
 * resolved, `{ random: K }` drawn from the seed), every command sent to a selector into one
 * command per peer at the same time (so they go out in one batch), and every selector of a fault
 * or check into the names it selects, and every `chaos` entry into the faults it draws
 * (`src/faults/chaos.ts`). Done once, here; the engine only ever sees concrete peers.
 *
 * Pure. Expects a file `validate.ts` found no problem in: a selector that selects nothing or
 * cannot be read is an error there, with its position.
 */
import {
  type CommandConfig,
  type Config,
  type ExpectConfig,
  type FaultConfig,
  isFault,
  type PeerConfig,
  type TestFile,
  type TimelineEntryConfig,
} from "./schema.ts";
import { memberNames } from "./peer_groups.ts";
import { isPeerPattern, selectPeers } from "./peer_selector.ts";
import { BOOTSTRAP_STREAM, pickBootstrap } from "./random_bootstrap.ts";
import { seededRandom } from "./seed.ts";
import { expandTimeline } from "../faults/chaos.ts";

/** Names and selectors resolved against one test's peers, each selector once. */
export class PeerNames {
  /** Every peer, in file order, groups in member order. */
  readonly all: readonly string[];
  readonly #position: Map<string, number>;
  readonly #selected = new Map<string, readonly string[]>();

  constructor(all: readonly string[]) {
    this.all = all;
    this.#position = new Map(all.map((name, index) => [name, index]));
  }

  /** Whether `name` is one of the peers. */
  has(name: string): boolean {
    return this.#position.has(name);
  }

  /** Where `name` stands in `all`; -1 if it is no peer. */
  indexOf(name: string): number {
    return this.#position.get(name) ?? -1;
  }

  /**
   * The peers a name or selector stands for, in file order: a name itself if it is a peer.
   * @throws PeerPatternError for a selector that cannot be read
   */
  select(pattern: string): readonly string[] {
    if (!isPeerPattern(pattern)) return this.has(pattern) ? [pattern] : [];
    let selected = this.#selected.get(pattern);
    if (!selected) this.#selected.set(pattern, selected = selectPeers(pattern, this.all));
    return selected;
  }

  /** The peers several names and selectors stand for, each once, in the order first selected. */
  selectAll(patterns: readonly string[]): string[] {
    return [...new Set(patterns.flatMap((pattern) => [...this.select(pattern)]))];
  }
}

/**
 * The config the engine runs: `file` with groups, bootstrap lists and selectors expanded, and
 * its seed set to `seed` (the one random bootstrap picks drew from).
 */
export function expandTestFile(file: TestFile, seed: number): Config {
  const names = new PeerNames(file.peers.flatMap(memberNames));
  const random = seededRandom(seed, BOOTSTRAP_STREAM);
  const peers: PeerConfig[] = [];
  for (const entry of file.peers) {
    const { count, bootstrap, ...peer } = entry;
    const group = count === undefined ? {} : { group: entry.name };
    const candidates = Array.isArray(bootstrap)
      ? undefined
      : new PeerNames(bootstrap.from === undefined ? names.all : names.select(bootstrap.from));
    for (const name of memberNames(entry)) {
      const list = candidates && !Array.isArray(bootstrap)
        ? pickBootstrap(candidates.all, candidates.indexOf(name), bootstrap.random, random)
        : names.selectAll(bootstrap as string[]).filter((other) => other !== name);
      peers.push({ ...peer, name, bootstrap: list, ...group });
    }
  }
  // Chaos first: what it draws names concrete peers, which the entries below keep as they are.
  const timeline = expandTimeline(file.commands, names.all, seed, {
    select: (patterns) => names.selectAll(patterns),
  });
  return {
    ...file,
    seed,
    peers,
    commands: timeline.commands.flatMap((entry) => expandEntry(entry, names)),
    expect: file.expect.map((check) => expandCheck(check, names)),
    ...(timeline.chaos.length > 0 ? { chaos: timeline.chaos } : {}),
  };
}

/** A command to each peer its `peer` selects (in file order), a fault with names for selectors. */
function expandEntry(entry: TimelineEntryConfig, names: PeerNames): TimelineEntryConfig[] {
  if (!isFault(entry)) {
    return names.select(entry.peer).map((peer): CommandConfig => ({ ...entry, peer }));
  }
  return [expandFault(entry, names)];
}

function expandFault(fault: FaultConfig, names: PeerNames): FaultConfig {
  if (fault.fault === "partition") {
    return { ...fault, groups: fault.groups.map((group) => names.selectAll(group)) };
  }
  if (fault.peer !== undefined && isPeerPattern(fault.peer)) {
    const { peer, ...rest } = fault;
    const selected = names.select(peer);
    return selected.length === 1
      ? { ...rest, peer: selected[0] }
      : { ...rest, peers: [...selected] };
  }
  if (Array.isArray(fault.peers)) return { ...fault, peers: names.selectAll(fault.peers) };
  return fault;
}

/** A check on a selector is a check on the list of peers it selects; `"*"` stays every peer. */
function expandCheck(check: ExpectConfig, names: PeerNames): ExpectConfig {
  if (typeof check.peer === "string") {
    if (check.peer === "*" || !isPeerPattern(check.peer)) return check;
    return { ...check, peer: [...names.select(check.peer)] };
  }
  return { ...check, peer: names.selectAll(check.peer) };
}
