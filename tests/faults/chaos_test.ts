import { assert, assertEquals } from "../support/assert.ts";
import { type ChaosConfig, expandChaos } from "../../src/faults/chaos.ts";
import { checkFaults } from "../../src/faults/fault_checks.ts";
import { ConfigError } from "../../src/plan/config_error.ts";
import { parseConfig } from "../../src/plan/load.ts";
import { type FaultConfig, isFault } from "../../src/plan/schema.ts";

const PEERS = ["alice", "bob", "carol", "dave"];

const chaos = (fields: Partial<ChaosConfig> = {}): ChaosConfig => ({
  fault: "chaos",
  from: 1,
  until: 30,
  every: 1,
  kinds: ["pause", "kill", "loss", "delay", "rate", "partition"],
  peers: "*",
  ...fields,
});

/** A config with four peers whose timeline is `timeline`. */
function withTimeline(timeline: string, extra = ""): string {
  return `name: t
redis: { port: 6379, image: redis:7-alpine }
hosts:
  - { address: 10.0.0.1, ssh_user: tm, ssh_auth: agent, base_port: 11984 }
peers:
${PEERS.map((name) => `  - { name: ${name}, image: peer:1 }\n`).join("")}commands:
${timeline}
${extra}`;
}

/** The problems of a file, `path: message` each. */
function problems(text: string): string[] {
  try {
    parseConfig(text, "t.yaml");
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
  return [];
}

Deno.test("expandChaos draws the same schedule, byte for byte, from the same seed", () => {
  const first = JSON.stringify(expandChaos(chaos(), PEERS, 8812, 0));
  assertEquals(JSON.stringify(expandChaos(chaos(), PEERS, 8812, 0)), first);
  assert(JSON.stringify(expandChaos(chaos(), PEERS, 8813, 0)) !== first);
  assert(JSON.stringify(expandChaos(chaos(), PEERS, 8812, 1)) !== first, "a second entry differs");
});

Deno.test("expandChaos undoes every fault within the window and keeps the order rules, 500 seeds", () => {
  for (let seed = 0; seed < 500; seed++) {
    const { faults } = expandChaos(chaos({ from: 2, until: 12, every: 0.5 }), PEERS, seed, 0);
    assert(faults.length > 0, `seed ${seed} drew nothing`);
    for (const fault of faults) assert(fault.time > 2 && fault.time <= 12, `seed ${seed}`);
    assertEquals(checkFaults({ peers: PEERS, commands: faults }), [], `seed ${seed}`);
    assertEquals(outstanding(faults), [], `seed ${seed}: left in force at until`);
  }
});

Deno.test("expandChaos draws only the kinds given, on the peers given", () => {
  const { faults } = expandChaos(chaos({ kinds: ["pause"], peers: ["bob", "carol"] }), PEERS, 7, 0);
  assertEquals(new Set(faults.map((fault) => fault.fault)), new Set(["pause", "resume"]));
  for (const fault of faults) {
    assert(fault.fault !== "partition" && ["bob", "carol"].includes(fault.peer!));
  }
});

Deno.test("parseConfig() expands chaos into concrete faults, and the file's seed repeats them", () => {
  const text = withTimeline(
    "  - { fault: chaos, from: 1, until: 10, every: 1, kinds: [pause, kill, partition], peers: '*' }\n" +
      "  - { time: 11, peer: alice, command: done }",
    "seed: 8812",
  );
  const config = parseConfig(text, "t.yaml");
  assertEquals(config.seed, 8812);
  assertEquals(config.chaos?.map(({ index, seed }) => ({ index, seed })), [{
    index: 0,
    seed: 8812,
  }]);
  const faults = config.commands.filter(isFault);
  assertEquals(faults, config.chaos![0].faults);
  assert(faults.every((fault) =>
    ["pause", "resume", "kill", "start", "partition", "heal"]
      .includes(fault.fault)
  ));
  assertEquals(
    JSON.stringify(parseConfig(text, "t.yaml").commands),
    JSON.stringify(config.commands),
  );
});

Deno.test("parseConfig() draws a new seed when the file has none, and reports it", () => {
  const config = parseConfig(
    withTimeline("  - { fault: chaos, from: 0, until: 5, every: 1, kinds: [pause], peers: [bob] }"),
    "t.yaml",
  );
  assert(Number.isInteger(config.seed));
  assertEquals(config.chaos![0].seed, config.seed);
});

Deno.test("parseConfig() refuses an empty chaos window, unknown peers and an unknown kind", () => {
  assertEquals(
    problems(withTimeline(
      "  - { fault: chaos, from: 5, until: 5, every: 1, kinds: [pause], peers: [bob, carl] }",
    )),
    [
      "commands[0].until: chaos until 5s must be later than from 5s",
      'commands[0].peers[1]: unknown peer "carl" (did you mean "carol"?)',
    ],
  );
  const kinds = problems(withTimeline(
    "  - { fault: chaos, from: 0, until: 5, every: 1, kinds: [pasue], peers: '*' }",
  ));
  assertEquals(kinds.length, 1);
  assert(kinds[0].startsWith("commands[0].kinds[0]: must be one of pause, kill"), kinds[0]);
});

Deno.test("parseConfig() says when a chaos fault breaks the rest of the timeline's order", () => {
  const found = problems(withTimeline(
    "  - { fault: chaos, from: 0, until: 20, every: 0.5, kinds: [kill], peers: [bob] }\n" +
      "  - { time: 20, fault: start, peer: bob }",
    "seed: 1",
  ));
  assertEquals(found.length, 1);
  assert(found[0].startsWith("commands[1].peer: start only follows a kill"), found[0]);
});

/** The faults still in force after the last entry: paused, killed, or shaped or partitioned. */
function outstanding(faults: readonly FaultConfig[]): string[] {
  const inForce = new Map<string, string>();
  for (const fault of faults) {
    const peers = fault.fault === "partition"
      ? fault.groups.flat()
      : [fault.peer!, ...(Array.isArray(fault.peers) ? fault.peers : [])].filter(Boolean);
    for (const peer of peers) {
      if (["pause", "kill", "loss", "delay", "rate", "partition"].includes(fault.fault)) {
        inForce.set(peer, fault.fault);
      } else inForce.delete(peer);
    }
  }
  return [...inForce].map(([peer, fault]) => `${fault} ${peer}`);
}

Deno.test("parseConfig() draws chaos over the peers a selector of a group selects", () => {
  const config = parseConfig(
    `name: t
redis: { port: 6379, image: redis:7-alpine }
hosts:
  - { address: 10.0.0.1, ssh_user: tm, ssh_auth: agent, base_port: 11984 }
peers:
  - { name: node, count: 4, image: peer:1 }
commands:
  - { fault: chaos, from: 0, until: 20, every: 1, kinds: [pause, loss], peers: ["node-[1-2]"] }
seed: 3
`,
    "t.yaml",
  );
  const targets = new Set(
    config.commands.filter(isFault).map((fault) => "peer" in fault ? fault.peer : undefined),
  );
  assertEquals([...targets].sort(), ["node-1", "node-2"]);
});
