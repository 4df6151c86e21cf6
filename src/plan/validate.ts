/**
 * Cross-field checks on a config whose entries passed the schema: duplicate names, references
 * to unknown peers, runs_on sets no host satisfies, per-host port ranges. Pure; every problem
 * carries the YAML path it is about so that `load.ts` can point at the line.
 */
import {
  EXPECT_PREDICATES,
  type ExpectConfig,
  type HostConfig,
  hostEndpoint,
  hostName,
  isFault,
  type PeerConfig,
  type TimelineEntryConfig,
} from "./schema.ts";
import { place, PlacementError } from "./placement.ts";
import { closestMatch, unknownPeer } from "./closest_match.ts";
import { checkFaults } from "../faults/fault_checks.ts";
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
  peers: readonly (PeerConfig | undefined)[];
  commands: readonly (TimelineEntryConfig | undefined)[];
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
  return [
    ...checkHosts(config.hosts),
    ...checkPeers(config),
    ...checkTimeline(config),
    ...checkPlacement(config),
    ...checkExpectations(config),
  ];
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

function checkPeers({ peers }: ConfigParts): PathProblem[] {
  const problems: PathProblem[] = [];
  const firstIndex = new Map<string, number>();
  peers.forEach((peer, index) => {
    if (!peer) return;
    const first = firstIndex.get(peer.name);
    if (first !== undefined) {
      problems.push({
        path: ["peers", index, "name"],
        message: `duplicate peer name "${peer.name}" (first used by peers[${first}])`,
      });
    } else {
      firstIndex.set(peer.name, index);
    }
  });
  const complete = peers.every((peer) => peer !== undefined);
  const names = [...firstIndex.keys()];
  peers.forEach((peer, index) => {
    if (!peer) return;
    const seen = new Set<string>();
    peer.bootstrap.forEach((target, position) => {
      const path = ["peers", index, "bootstrap", position];
      if (target === peer.name) {
        problems.push({ path, message: `peer ${peer.name} cannot bootstrap from itself` });
      } else if (seen.has(target)) {
        problems.push({ path, message: `"${target}" is listed twice` });
      } else if (complete && !firstIndex.has(target)) {
        problems.push({ path, message: unknownPeer(target, names) });
      }
      seen.add(target);
    });
  });
  return problems;
}

/** Commands and faults, in file order of the entries. */
function checkTimeline({ peers, commands }: ConfigParts): PathProblem[] {
  const complete = peers.every((peer) => peer !== undefined);
  const names = peers.flatMap((peer) => peer ? [peer.name] : []);
  return [
    ...checkCommands(commands, complete ? names : undefined),
    ...checkFaults({ peers: complete ? names : undefined, commands }),
  ].sort((a, b) => (a.path[1] as number) - (b.path[1] as number));
}

/** @param names every peer name, or undefined while some peer failed the schema */
function checkCommands(
  commands: ConfigParts["commands"],
  names: readonly string[] | undefined,
): PathProblem[] {
  const problems: PathProblem[] = [];
  commands.forEach((command, index) => {
    if (!command || isFault(command)) return;
    if (names && !names.includes(command.peer)) {
      problems.push({
        path: ["commands", index, "peer"],
        message: unknownPeer(command.peer, names),
      });
    }
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
function checkExpectations({ peers, commands, expect = [], timeout }: ConfigParts): PathProblem[] {
  const problems: PathProblem[] = [];
  const complete = peers.every((peer) => peer !== undefined);
  const names = peers.flatMap((peer) => peer ? [peer.name] : []);
  const lastCommand = commands.every((command) => command !== undefined)
    ? Math.max(0, ...commands.map((command) => command!.time))
    : undefined;
  expect.forEach((check, index) => {
    if (!check) return;
    const at = (...rest: PathSegment[]): PathSegment[] => ["expect", index, ...rest];
    if (typeof check.peer === "string") {
      if (check.peer !== "*" && complete && !names.includes(check.peer)) {
        problems.push({ path: at("peer"), message: unknownPeer(check.peer, names) });
      }
    } else {
      const seen = new Set<string>();
      check.peer.forEach((name, position) => {
        const path = at("peer", position);
        if (name === "*") {
          problems.push({ path, message: '"*" means every peer on its own: write peer: "*"' });
        } else if (seen.has(name)) {
          problems.push({ path, message: `"${name}" is listed twice` });
        } else if (complete && !names.includes(name)) {
          problems.push({ path, message: unknownPeer(name, names) });
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
  const peers = (config.peers as PeerConfig[]).map((peer, index) => ({ peer, index }));
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
      placeable.push(...group.map(({ peer }) => peer));
      continue;
    }
    const names = group.map(({ peer }) => peer.name).sort();
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
