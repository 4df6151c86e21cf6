/**
 * Cross-field checks on a config whose entries passed the schema: duplicate names, references
 * to unknown peers, runs_on sets no host satisfies, per-host port ranges. Pure; every problem
 * carries the YAML path it is about so that `load.ts` can point at the line.
 */
import {
  EXPECT_PREDICATES,
  type ExpectConfig,
  type FileTimelineEntry,
  type HostConfig,
  hostEndpoint,
  hostName,
  type PeerConfig,
  type PeerEntryConfig,
} from "./schema.ts";
import { place, PlacementError } from "./placement.ts";
import { closestMatch, unknownPeer } from "./closest_match.ts";
import { checkChaos, expandTimeline, latestMoment } from "../faults/chaos.ts";
import { checkFaults } from "../faults/fault_checks.ts";
import { PeerNames } from "./expansion.ts";
import { describePeers, memberName, memberNames } from "./peer_groups.ts";
import { compilePeerPattern, isPeerPattern, PeerPatternError } from "./peer_selector.ts";
import { compileLogPattern, LogPatternError } from "./log_pattern.ts";

export { closestMatch };

/** A path into the YAML document: map keys and sequence indexes. */
export type PathSegment = string | number;

/** A problem found by a check, located by its YAML path (positions are added by the loader). */
export interface PathProblem {
  path: PathSegment[];
  message: string;
}

/**
 * What the cross checks look at. Entries that failed the schema are `undefined` (the loader
 * still cross-checks the rest, so one run reports as much as it can); checks that need every
 * entry of a list are skipped while any entry is missing, so they never report false problems.
 */
export interface ConfigParts {
  hosts: readonly (HostConfig | undefined)[];
  /** The peer entries as written: a peer, or a group (`count`). */
  peers: readonly (PeerEntryConfig | undefined)[];
  commands: readonly (FileTimelineEntry | undefined)[];
  /** The seed chaos entries are drawn from; without it they are checked but not drawn. */
  seed?: number;
  /** The checks; absent or empty when the file has none. */
  expect?: readonly (ExpectConfig | undefined)[];
  /** Absent when it failed the schema: the `by` limit is then not checked. */
  timeout?: { shutdown: number };
}

/** The highest UDP port. */
const MAX_PORT = 65535;

/**
 * Runs every cross-field check. A peer listing itself in `bootstrap` is an error (it would be
 * sent its own address), and so is a machine listed twice (same address and SSH port). The
 * timeline's faults are checked by `fault_checks.ts`.
 *
 * @returns the problems, in the order of the file's sections (hosts, peers, commands, expect)
 */
export function validateConfig(config: ConfigParts): PathProblem[] {
  const peers = knownPeers(config.peers);
  return [
    ...checkHosts(config.hosts),
    ...checkPeers(config, peers),
    ...checkTimeline(config, peers),
    ...checkPlacement(config),
    ...checkExpectations(config, peers),
  ];
}

/** Every peer of a test whose peer entries all passed the schema, for resolving names. */
interface KnownPeers {
  names: PeerNames;
  /** The peers in words, groups folded (`alice, node-[1-1000]`), for "selects no peer". */
  described: string;
}

/** The test's peers, or undefined while some entry failed the schema (names unknown). */
function knownPeers(entries: ConfigParts["peers"]): KnownPeers | undefined {
  if (!entries.every((entry) => entry !== undefined)) return undefined;
  const complete = entries as PeerEntryConfig[];
  return {
    names: new PeerNames([...new Set(complete.flatMap(memberNames))]),
    described: describePeers(complete),
  };
}

/**
 * A peer named at `path`: a name must be a peer's, a selector (glob or range) must be readable
 * and select at least one peer. Names are only checked once every peer is known.
 */
function checkSelector(
  written: string,
  path: PathSegment[],
  peers: KnownPeers | undefined,
): PathProblem[] {
  if (!isPeerPattern(written)) {
    return peers && !peers.names.has(written)
      ? [{ path, message: unknownPeer(written, peers.names.all) }]
      : [];
  }
  try {
    if (!peers) return compilePeerPattern(written) && [];
    if (peers.names.select(written).length > 0) return [];
  } catch (error) {
    if (!(error instanceof PeerPatternError)) throw error;
    return [{ path, message: `${error.message}` }];
  }
  return [{
    path,
    message: `"${written}" selects no peer (the peers: ${peers.described})`,
  }];
}

function checkHosts(hosts: ConfigParts["hosts"]): PathProblem[] {
  const problems: PathProblem[] = [];
  const byAddress = new Map<string, number>();
  const byName = new Map<string, number>();
  hosts.forEach((host, index) => {
    if (!host) return;
    const machine = hostEndpoint(host).toLowerCase();
    const sameMachine = byAddress.get(machine);
    if (sameMachine !== undefined) {
      problems.push({
        path: ["hosts", index, host.connection === "local" ? "connection" : "address"],
        message: (host.connection === "local"
          ? "this machine (connection: local)"
          : `${host.address} (ssh port ${host.ssh_port})`) +
          ` is already listed as hosts[${sameMachine}]; ` +
          "list each machine once and steer peers with tags",
      });
      return;
    }
    byAddress.set(machine, index);
    const name = hostName(host);
    const sameName = byName.get(name);
    if (sameName !== undefined) {
      problems.push({
        path: ["hosts", index, host.name === undefined ? "address" : "name"],
        message:
          `host name "${name}" is already used by hosts[${sameName}]; host names must be unique`,
      });
      return;
    }
    byName.set(name, index);
  });
  return problems;
}

/** Longest peer name (`PEER_NAME_PATTERN`): a group's member names must fit it too. */
const MAX_PEER_NAME = 63;

function checkPeers({ peers }: ConfigParts, known: KnownPeers | undefined): PathProblem[] {
  const problems: PathProblem[] = [];
  const firstIndex = new Map<string, number>();
  peers.forEach((peer, index) => {
    if (!peer) return;
    if (peer.count !== undefined) {
      const longest = memberName(peer.name, peer.count);
      if (longest.length > MAX_PEER_NAME) {
        problems.push({
          path: ["peers", index, "name"],
          message: `with count: ${peer.count} the last peer is named "${longest}", longer than ` +
            `${MAX_PEER_NAME} characters: shorten the name to at most ${
              MAX_PEER_NAME - longest.length + peer.name.length
            }`,
        });
      }
    }
    for (const name of memberNames(peer)) {
      const first = firstIndex.get(name);
      if (first === undefined) {
        firstIndex.set(name, index);
        continue;
      }
      problems.push({
        path: ["peers", index, "name"],
        message: name === peer.name
          ? `duplicate peer name "${peer.name}" (first used by peers[${first}])`
          : `the group's peer "${name}" (count: ${peer.count}) is already a peer of ` +
            `peers[${first}]; rename one of them`,
      });
      break;
    }
  });
  peers.forEach((peer, index) => {
    if (!peer) return;
    problems.push(...checkBootstrap(peer, ["peers", index, "bootstrap"], known));
  });
  return problems;
}

/**
 * A peer's `bootstrap`: names and selectors that select some peer other than itself (a single
 * peer naming itself is refused; a selector simply leaves each peer out of its own list), or
 * `{ random: K }` with at least K candidates besides each peer.
 */
function checkBootstrap(
  peer: PeerEntryConfig,
  path: PathSegment[],
  known: KnownPeers | undefined,
): PathProblem[] {
  const problems: PathProblem[] = [];
  if (!Array.isArray(peer.bootstrap)) {
    const { random, from } = peer.bootstrap;
    if (from !== undefined) {
      const bad = checkSelector(from, [...path, "from"], known);
      if (bad.length > 0 || !known) return bad;
    }
    if (!known) return [];
    const candidates = from === undefined ? known.names.all : known.names.select(from);
    const members = memberNames(peer);
    const self = new PeerNames(candidates);
    // The fewest candidates any member has: those of a member that is itself a candidate.
    const fewest = members.some((name) => self.has(name))
      ? candidates.length - 1
      : candidates.length;
    if (random > fewest) {
      problems.push({
        path: [...path, "random"],
        message: `random: ${random} needs ${random} other peers${
          from === undefined ? "" : ` selected by "${from}"`
        } for each peer, but there ${fewest === 1 ? "is" : "are"} only ${fewest}`,
      });
    }
    return problems;
  }
  const seen = new Set<string>();
  peer.bootstrap.forEach((target, position) => {
    const at = [...path, position];
    if (target === peer.name && peer.count === undefined) {
      problems.push({ path: at, message: `peer ${peer.name} cannot bootstrap from itself` });
    } else if (seen.has(target)) {
      problems.push({ path: at, message: `"${target}" is listed twice` });
    } else {
      problems.push(...checkSelector(target, at, known));
    }
    seen.add(target);
  });
  return problems;
}

/**
 * Commands, chaos and faults, in file order of the entries. The faults are checked with each
 * chaos entry expanded into what it draws, so the drawn faults keep the timeline's order rules
 * with the file's own entries too.
 */
function checkTimeline(
  { commands, seed }: ConfigParts,
  known: KnownPeers | undefined,
): PathProblem[] {
  const selectors = checkFaultSelectors(commands, known);
  const chaosProblems = checkChaos(commands, known?.names.all);
  const draw = known !== undefined && seed !== undefined && chaosProblems.length === 0 &&
    selectors.length === 0;
  // A selector that cannot be read was reported where it stands (checkSelector): here it selects
  // nothing, so following the timeline does not stop at it.
  const select = (pattern: string): readonly string[] => {
    try {
      return known?.names.select(pattern) ?? [];
    } catch (error) {
      if (error instanceof PeerPatternError) return [];
      throw error;
    }
  };
  const expanded = expandTimeline(commands, known?.names.all ?? [], seed ?? 0, {
    draw,
    select: (patterns) => [...new Set(patterns.flatMap((pattern) => [...select(pattern)]))],
  });
  return [
    ...chaosProblems,
    ...checkCommands(commands, known),
    ...selectors,
    // A selector that selects nothing was just said; following it through the timeline would
    // only add noise.
    ...(selectors.length > 0 ? [] : checkFaults({
      peers: known?.names.all,
      commands: expanded.commands,
      origins: expanded.origins,
      ...(known ? { select } : {}),
    })),
  ].sort((a, b) => (a.path[1] as number) - (b.path[1] as number));
}

/** The globs and ranges of the faults' `peer`, `peers` and `groups` (names: fault_checks.ts). */
function checkFaultSelectors(
  commands: ConfigParts["commands"],
  known: KnownPeers | undefined,
): PathProblem[] {
  const problems: PathProblem[] = [];
  const check = (written: string, path: PathSegment[]) => {
    if (isPeerPattern(written)) problems.push(...checkSelector(written, path, known));
  };
  commands.forEach((entry, index) => {
    if (!entry || !("fault" in entry)) return;
    const at = (...rest: PathSegment[]): PathSegment[] => ["commands", index, ...rest];
    if (entry.fault === "chaos") {
      if (Array.isArray(entry.peers)) {
        entry.peers.forEach((written, k) => check(written, at("peers", k)));
      }
      return;
    }
    if (entry.fault === "partition") {
      entry.groups.forEach((group, g) =>
        group.forEach((written, k) => check(written, at("groups", g, k)))
      );
      return;
    }
    if (entry.peer !== undefined) check(entry.peer, at("peer"));
    if (Array.isArray(entry.peers)) {
      entry.peers.forEach((written, k) => check(written, at("peers", k)));
    }
  });
  return problems;
}

function checkCommands(
  commands: ConfigParts["commands"],
  known: KnownPeers | undefined,
): PathProblem[] {
  const problems: PathProblem[] = [];
  commands.forEach((command, index) => {
    if (!command || "fault" in command) return;
    problems.push(...checkSelector(command.peer, ["commands", index, "peer"], known));
    const restart = /^restart(\|(.*))?$/.exec(command.command);
    if (restart && !/^\d+(\.\d+)?$/.test(restart[2] ?? "")) {
      problems.push({
        path: ["commands", index, "command"],
        message: `"${command.command}": restart takes a delay in seconds, e.g. restart|2`,
      });
    }
  });
  return problems;
}

/**
 * Each check names known peers, carries exactly one predicate, a valid regex, and a window
 * (`after`..`by`) that is not empty and ends before the run can have ended: after the last
 * command plus the shutdown timeout. `restarts` and `exit_code` are judged once every peer
 * exited, so a window on them means nothing and is refused.
 */
function checkExpectations(
  { commands, expect = [], timeout }: ConfigParts,
  known: KnownPeers | undefined,
): PathProblem[] {
  const problems: PathProblem[] = [];
  const lastCommand = commands.every((command) => command !== undefined)
    ? Math.max(0, ...commands.map((command) => latestMoment(command!)))
    : undefined;
  expect.forEach((check, index) => {
    if (!check) return;
    const at = (...rest: PathSegment[]): PathSegment[] => ["expect", index, ...rest];
    if (typeof check.peer === "string") {
      if (check.peer !== "*") problems.push(...checkSelector(check.peer, at("peer"), known));
    } else {
      const seen = new Set<string>();
      check.peer.forEach((name, position) => {
        const path = at("peer", position);
        if (name === "*") {
          problems.push({ path, message: '"*" means every peer on its own: write peer: "*"' });
        } else if (seen.has(name)) {
          problems.push({ path, message: `"${name}" is listed twice` });
        } else {
          problems.push(...checkSelector(name, path, known));
        }
        seen.add(name);
      });
    }
    const predicates = EXPECT_PREDICATES.filter((key) => check[key] !== undefined);
    if (predicates.length === 0) {
      problems.push({
        path: at(),
        message: `a check needs one predicate: one of ${EXPECT_PREDICATES.join(", ")}`,
      });
    } else if (predicates.length > 1) {
      problems.push({
        path: at(predicates[1]),
        message: `one predicate per check, this one has ${predicates.join(" and ")}: ` +
          `split it into ${predicates.length} checks`,
      });
    }
    if (check.log !== undefined) {
      try {
        compileLogPattern(check.log);
      } catch (error) {
        if (!(error instanceof LogPatternError)) throw error;
        problems.push({
          path: at("log"),
          message:
            `${error.message} (no lookaround or backreferences: docs/config.md, Expectations)`,
        });
      }
    }
    const atEnd = predicates.find((key) => key === "restarts" || key === "exit_code");
    for (const key of ["after", "by"] as const) {
      if (check[key] !== undefined && atEnd) {
        problems.push({
          path: at(key),
          message: `${key} does not apply to ${atEnd}, which is judged at the end of the run ` +
            "once every peer exited: remove it",
        });
      }
    }
    const { by, after } = check;
    if (by !== undefined && after !== undefined && after > by) {
      problems.push({
        path: at("after"),
        message: `after (${after} s) is past by (${by} s): the check's window is empty`,
      });
    }
    if (by !== undefined && lastCommand !== undefined && timeout) {
      const limit = lastCommand + timeout.shutdown;
      if (by > limit) {
        problems.push({
          path: at("by"),
          message: `by ${by} s is past the run's end: the last command is at ${lastCommand} s ` +
            `and shutdown takes at most ${timeout.shutdown} s (timeout.shutdown); ` +
            `use at most ${limit}`,
        });
      }
    }
  });
  return problems;
}

function checkPlacement(config: ConfigParts): PathProblem[] {
  // With no hosts (a schema error already) every peer would be "unplaceable": say nothing.
  if (config.hosts.length === 0) return [];
  if (!config.hosts.every((host) => host) || !config.peers.every((peer) => peer)) return [];
  const hosts = config.hosts as HostConfig[];
  // A swarm's nodes, their tags and so the placement are known at run time only.
  const swarm = hosts.findIndex((host) => host.connection === "swarm");
  if (swarm >= 0) {
    return hosts.length === 1 ? [] : [{
      path: ["hosts", swarm === 0 ? 1 : swarm, "connection"],
      message: "a connection: swarm entry stands for all its nodes: it is the only host entry",
    }];
  }
  const peers = (config.peers as PeerEntryConfig[]).map((peer, index) => ({ peer, index }));
  const problems: PathProblem[] = [];
  const hostTags = [...new Set(hosts.flatMap((host) => host.tags))];
  const groups = new Map<string, typeof peers>();
  for (const entry of peers) {
    const key = JSON.stringify(entry.peer.runs_on);
    groups.set(key, [...groups.get(key) ?? [], entry]);
  }
  const placeable: PeerConfig[] = [];
  for (const group of groups.values()) {
    const tags = group[0].peer.runs_on;
    if (hosts.some((host) => tags.every((tag) => host.tags.includes(tag)))) {
      placeable.push(
        ...group.flatMap(({ peer }) =>
          memberNames(peer).map((name) => ({ ...peer, name, bootstrap: [] }))
        ),
      );
      continue;
    }
    // A group is named once, folded (`node-[1-1000]`), not member by member.
    const names = group.map(({ peer }) => describePeers([peer])).sort();
    const hints = tags.filter((tag) => !hostTags.includes(tag)).flatMap((tag) => {
      const near = closestMatch(tag, hostTags);
      return near ? [`"${tag}": did you mean "${near}"?`] : [];
    });
    const message = new PlacementError(tags, names).message +
      (hints.length ? ` (${hints.join("; ")})` : "");
    for (const { index } of group) problems.push({ path: ["peers", index, "runs_on"], message });
  }
  const perHost = new Map<number, number>();
  for (const placed of place({ hosts, peers: placeable })) {
    perHost.set(placed.hostIndex, (perHost.get(placed.hostIndex) ?? 0) + 1);
  }
  for (const [index, count] of [...perHost].sort(([a], [b]) => a - b)) {
    const host = hosts[index];
    const last = host.base_port + count - 1;
    if (last > MAX_PORT) {
      problems.push({
        path: ["hosts", index, "base_port"],
        message: `${count} peers are placed on ${hostName(host)}, needing UDP ports ` +
          `${host.base_port}-${last}, past ${MAX_PORT}; lower base_port to at most ${
            MAX_PORT - count + 1
          }`,
      });
    }
  }
  return problems;
}
