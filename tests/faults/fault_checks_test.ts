import { assertEquals } from "../support/assert.ts";
import { parseConfig } from "../../src/plan/load.ts";
import { ConfigError } from "../../src/plan/config_error.ts";

/** A config with peers alice, bob, carol and dave; `timeline` lines follow `commands:`. */
function withTimeline(...timeline: string[]): string {
  return `name: t
redis: { port: 6379, image: redis:7-alpine }
hosts:
  - { address: 10.0.0.1, ssh_user: tm, ssh_auth: agent, base_port: 11984 }
peers:
  - { name: alice, image: peer:1 }
  - { name: bob, image: peer:1 }
  - { name: carol, image: peer:1 }
  - { name: dave, image: peer:1 }
commands:
${timeline.map((line) => `  - ${line}\n`).join("")}`;
}

/** The first timeline line is line 11 of the file. */
const FIRST_LINE = 11;

/** `line:column: path: message` of every problem, the line counted from the first entry. */
function problems(...timeline: string[]): string[] {
  try {
    parseConfig(withTimeline(...timeline), "t.yaml");
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) =>
      `${(p.line ?? 0) - FIRST_LINE}:${p.column}: ${p.path}: ${p.message}`
    );
  }
  return [];
}

Deno.test("parseConfig() accepts the issue's timeline of faults beside commands", () => {
  const config = parseConfig(
    withTimeline(
      "{ time: 1, peer: alice, command: connect }",
      "{ time: 5, fault: delay, peers: [alice], ms: 200, jitter: 20 }",
      "{ time: 5, fault: loss, peer: bob, percent: 5 }",
      "{ time: 8, fault: rate, peer: bob, kbit: 512 }",
      "{ time: 10, fault: partition, groups: [[alice, carol], [bob, dave]] }",
      "{ time: 20, fault: heal }",
      "{ time: 22, fault: pause, peer: carol }",
      "{ time: 23, peer: carol, command: connect }",
      "{ time: 27, fault: resume, peer: carol }",
      '{ time: 30, fault: kill, peers: "*" }',
      "{ time: 33, fault: start, peers: [dave, alice, bob, carol] }",
      "{ time: 34, peer: dave, command: connect }",
    ),
    "t.yaml",
  );
  assertEquals(config.commands.length, 12);
  assertEquals(config.commands[1], {
    time: 5,
    fault: "delay",
    peers: ["alice"],
    ms: 200,
    jitter: 20,
  });
});

Deno.test("parseConfig() reports an unknown fault name with a suggestion", () => {
  assertEquals(problems("{ time: 1, fault: pasue, peer: alice }"), [
    "0:23: commands[0].fault: must be one of delay, loss, rate, partition, heal, pause, resume, " +
    'kill, start, chaos; got "pasue" (did you mean pause?)',
  ]);
});

Deno.test("parseConfig() reports fault parameters out of range and unknown ones", () => {
  assertEquals(
    problems(
      "{ time: 1, fault: delay, peer: alice, ms: 70000 }",
      "{ time: 1, fault: loss, peer: alice, percent: 101 }",
      "{ time: 1, fault: rate, peer: alice, kbit: 0.5 }",
      "{ time: 1, fault: delay, peer: alice, ms: 5, jiter: 1 }",
      "{ time: 1, fault: loss, peer: alice }",
    ),
    [
      "0:47: commands[0].ms: must be at most 60000, got 70000",
      "1:51: commands[1].percent: must be at most 100, got 101",
      "2:48: commands[2].kbit: expected a whole number, got 0.5",
      '3:50: commands[3].jiter: unknown field "jiter" (did you mean jitter?)',
      "4:5: commands[4].percent: is required but missing",
    ],
  );
});

Deno.test("parseConfig() wants peer or peers, not both, and only known names", () => {
  assertEquals(
    problems(
      "{ time: 1, fault: pause }",
      "{ time: 1, fault: pause, peer: alice, peers: [bob] }",
      "{ time: 1, fault: kill, peer: alcie }",
      "{ time: 1, fault: loss, peers: [bob, crol, bob], percent: 1 }",
      "{ time: 1, fault: pause, peers: bob }",
    ),
    [
      '0:23: commands[0].fault: pause needs the peers it acts on: peer: <name>, or peers: a list or "*"',
      "1:50: commands[1].peers: give either peer or peers, not both (pause acts on the peers named once)",
      '2:35: commands[2].peer: unknown peer "alcie" (did you mean "alice"?)',
      '3:42: commands[3].peers[1]: unknown peer "crol" (did you mean "carol"?)',
      '3:48: commands[3].peers[2]: "bob" is listed twice',
      '4:37: commands[4].peers: expected a list of peer names or "*", got "bob" (for one peer write peer: bob)',
    ],
  );
});

Deno.test("parseConfig() keeps partition groups apart: two or more, non-empty, disjoint", () => {
  assertEquals(
    problems(
      "{ time: 1, fault: partition, groups: [[alice, bob]] }",
      "{ time: 1, fault: partition, groups: [[alice], []] }",
      "{ time: 1, fault: partition, groups: [[alice, bob], [carol, alice]] }",
      "{ time: 1, fault: partition, groups: [[alice], [eve]] }",
    ),
    [
      "0:42: commands[0].groups: must list at least 2 entries",
      "1:52: commands[1].groups[1]: must list at least 1 entry",
      '2:65: commands[2].groups[1][1]: "alice" is already in groups[0]; a peer belongs to at most one group',
      '3:53: commands[3].groups[1][0]: unknown peer "eve"',
    ],
  );
});

Deno.test("parseConfig() allows resume only after pause and start only after kill", () => {
  assertEquals(
    problems(
      "{ time: 1, fault: resume, peer: alice }",
      "{ time: 2, fault: start, peer: bob }",
      "{ time: 3, fault: pause, peer: carol }",
      "{ time: 4, fault: pause, peer: carol }",
      "{ time: 5, fault: kill, peer: carol }",
      "{ time: 6, fault: start, peer: carol }",
    ),
    [
      "0:37: commands[0].peer: resume only follows a pause: alice is not paused at this point of the timeline",
      "1:36: commands[1].peer: start only follows a kill: bob is running at this point of the timeline",
      "3:36: commands[3].peer: carol is already paused (commands[2] at 3s)",
      "4:35: commands[4].peer: carol is paused (commands[2] at 3s); resume it before kill",
      "5:36: commands[5].peer: carol is paused (commands[2] at 3s), not killed: resume thaws it",
    ],
  );
});

Deno.test("parseConfig() follows peers in timeline order, not file order", () => {
  assertEquals(
    problems(
      "{ time: 9, fault: start, peer: alice }",
      "{ time: 2, fault: kill, peer: alice }",
    ),
    [],
  );
  assertEquals(
    problems(
      "{ time: 2, fault: start, peer: alice }",
      "{ time: 9, fault: kill, peer: alice }",
    ),
    [
      "0:36: commands[0].peer: start only follows a kill: alice is running at this point of the timeline",
    ],
  );
});

Deno.test("parseConfig() refuses commands and network faults to a killed peer", () => {
  assertEquals(
    problems(
      "{ time: 1, fault: kill, peer: bob }",
      "{ time: 2, peer: bob, command: connect }",
      "{ time: 3, fault: delay, peers: [alice, bob], ms: 10 }",
      "{ time: 4, fault: partition, groups: [[alice], [bob]] }",
      "{ time: 5, fault: heal, peer: bob }",
      "{ time: 6, fault: start, peer: bob }",
      "{ time: 7, peer: bob, command: connect }",
    ),
    [
      "1:22: commands[1].peer: bob is killed (commands[0] at 1s) and not started again before " +
      "this command, which it could not receive; add a fault: start for bob first",
      "2:37: commands[2].peers: bob is killed (commands[0] at 1s) and not started again; a network " +
      "fault needs its container running (a started peer gets the faults in force again)",
      "3:42: commands[3].groups: bob is killed (commands[0] at 1s) and not started again; a network " +
      "fault needs its container running (a started peer gets the faults in force again)",
    ],
  );
});

Deno.test("parseConfig() lets a paused peer be sent commands: they wait in Redis", () => {
  assertEquals(
    problems(
      "{ time: 1, fault: pause, peer: bob }",
      "{ time: 2, peer: bob, command: connect }",
      "{ time: 3, fault: resume, peer: bob }",
    ),
    [],
  );
});
