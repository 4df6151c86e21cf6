import { assert, assertEquals } from "../support/assert.ts";
import { parseConfig } from "../../src/plan/load.ts";
import type { Config } from "../../src/plan/schema.ts";

/** A test file with `peers` and `rest` (commands, expect, seed) as YAML text. */
function file(peers: string, rest = "commands: []"): string {
  return `name: t
redis: { port: 6379, image: redis:7-alpine }
hosts:
  - { address: 10.0.0.1, ssh_user: tm, ssh_auth: agent, base_port: 11000 }
  - { address: 10.0.0.2, ssh_user: tm, ssh_auth: agent, base_port: 11000 }
peers:
${peers}
${rest}
`;
}

const parse = (text: string): Config => parseConfig(text, "t.yaml");

Deno.test("expandTestFile turns count: N into <name>-1 ... <name>-N with the entry's fields", () => {
  const config = parse(file(`  - name: node
    count: 3
    image: peer:1
    environment: { ROLE: dht }
    runs_on: []
    bootstrap: [boot]
  - { name: boot, image: peer:2 }`));
  assertEquals(config.peers.map((p) => p.name), ["node-1", "node-2", "node-3", "boot"]);
  for (const peer of config.peers.slice(0, 3)) {
    assertEquals(peer.image, "peer:1");
    assertEquals(peer.environment, { ROLE: "dht" });
    assertEquals(peer.bootstrap, ["boot"]);
    assertEquals(peer.group, "node");
  }
  assertEquals(config.peers[3].group, undefined);
});

Deno.test("expandTestFile sends a command to a selector to each selected peer at the same time", () => {
  const config = parse(file(
    `  - { name: node, count: 4, image: peer:1 }
  - { name: alice, image: peer:1 }`,
    `commands:
  - { time: 1, peer: "node-[2-3]", command: connect }
  - { time: 2, peer: alice, command: ping }
  - { time: 3, peer: "*", command: disconnect }`,
  ));
  assertEquals(config.commands, [
    { time: 1, peer: "node-2", command: "connect" },
    { time: 1, peer: "node-3", command: "connect" },
    { time: 2, peer: "alice", command: "ping" },
    ...["node-1", "node-2", "node-3", "node-4", "alice"].map((peer) => ({
      time: 3,
      peer,
      command: "disconnect",
    })),
  ]);
});

Deno.test("expandTestFile resolves the selectors of faults and checks to names", () => {
  const config = parse(file(
    `  - { name: node, count: 4, image: peer:1 }
  - { name: seed, count: 2, image: peer:1 }`,
    `commands:
  - { time: 1, fault: pause, peer: "node-[1-2]" }
  - { time: 2, fault: resume, peer: "node-[1-2]" }
  - { time: 3, fault: delay, peer: "seed-[2]", ms: 10 }
  - { time: 4, fault: partition, groups: [["seed-*"], ["node-[1-2]", "node-*"]] }
  - { time: 5, fault: heal, peers: "*" }
expect:
  - { peer: "seed-*", status: connected }
  - { peer: ["node-1", "node-[1-2]"], no_log: error }
  - { peer: "*", exit_code: 0 }`,
  ));
  assertEquals(config.commands.slice(0, 4).map((entry) => "fault" in entry && entry), [
    { time: 1, fault: "pause", peers: ["node-1", "node-2"] },
    { time: 2, fault: "resume", peers: ["node-1", "node-2"] },
    { time: 3, fault: "delay", peer: "seed-2", ms: 10 },
    {
      time: 4,
      fault: "partition",
      groups: [["seed-1", "seed-2"], ["node-1", "node-2", "node-3", "node-4"]],
    },
  ]);
  assertEquals(config.commands[4], { time: 5, fault: "heal", peers: "*" });
  assertEquals(config.expect.map((check) => check.peer), [
    ["seed-1", "seed-2"],
    ["node-1", "node-2"],
    "*",
  ]);
});

Deno.test("expandTestFile leaves each peer out of the selectors of its own bootstrap", () => {
  const config = parse(file(`  - { name: node, count: 3, image: peer:1, bootstrap: ["node-*"] }`));
  assertEquals(config.peers.map((p) => p.bootstrap), [
    ["node-2", "node-3"],
    ["node-1", "node-3"],
    ["node-1", "node-2"],
  ]);
});

Deno.test("expandTestFile draws bootstrap { random: K, from } from the seed, repeatably", () => {
  const text = (seed: number) =>
    file(
      `  - { name: seed, count: 5, image: peer:1 }
  - { name: node, count: 200, image: peer:1, bootstrap: { random: 3, from: "seed-*" } }
  - { name: any, count: 20, image: peer:1, bootstrap: { random: 4 } }`,
      `commands: []\nseed: ${seed}`,
    );
  const config = parse(text(42));
  assertEquals(config.seed, 42);
  for (const peer of config.peers) {
    if (peer.group === "seed") {
      assertEquals(peer.bootstrap, []);
      continue;
    }
    const k = peer.group === "node" ? 3 : 4;
    assertEquals(peer.bootstrap.length, k);
    assertEquals(new Set(peer.bootstrap).size, k);
    assert(!peer.bootstrap.includes(peer.name));
    if (peer.group === "node") assert(peer.bootstrap.every((b) => b.startsWith("seed-")));
  }
  const lists = (config: Config) => config.peers.map((p) => p.bootstrap);
  assertEquals(lists(parse(text(42))), lists(config));
  assert(JSON.stringify(lists(parse(text(43)))) !== JSON.stringify(lists(config)));
});

Deno.test("parseConfig draws a seed when the file has none, and records it", () => {
  const config = parse(file(`  - { name: a, image: peer:1 }`));
  assert(Number.isInteger(config.seed) && config.seed! >= 0 && config.seed! <= 0xffff_ffff);
});

Deno.test("examples/dht-1000.yaml: under 30 lines, 1,000 peers, every node bootstrapped with 3 seeds", async () => {
  const path = new URL("../../examples/dht-1000.yaml", import.meta.url).pathname;
  const text = await Deno.readTextFile(path);
  assert(text.trimEnd().split("\n").length < 30);
  const config = parseConfig(text, path);
  assertEquals(config.peers.length, 1_000);
  assertEquals(config.seed, 1000);
  for (const peer of config.peers) {
    if (peer.group === "seed") assertEquals(peer.bootstrap.length, 9);
    else assertEquals(new Set(peer.bootstrap.filter((b) => b.startsWith("seed-"))).size, 3);
  }
  // The timeline touches every peer: `*` connects each of them.
  const connected = new Set(
    config.commands.flatMap((entry) =>
      "command" in entry && entry.command === "connect" ? [entry.peer] : []
    ),
  );
  assertEquals(connected.size, 1_000);
});
