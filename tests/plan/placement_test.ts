import { assert, assertEquals } from "../support/assert.ts";
import { compareTagLists, listenAddr, place, PlacementError } from "../../src/plan/placement.ts";
import type { HostConfig, PeerConfig, SshHostConfig } from "../../src/plan/schema.ts";

function host(name: string, fields: Partial<SshHostConfig> = {}): HostConfig {
  return {
    connection: "ssh",
    name,
    address: `${name}.test`,
    ssh_user: "tm",
    ssh_auth: "agent",
    ssh_port: 22,
    host_key_check: "accept-new",
    base_port: 11984,
    tags: [],
    ...fields,
  };
}

function peer(name: string, runs_on: string[] = []): PeerConfig {
  return { name, image: `${name}:1`, bootstrap: [], environment: {}, runs_on };
}

const short = (config: Parameters<typeof place>[0]) =>
  place(config).map((p) => `${p.peer} ${p.host} ${p.port}`);

Deno.test("place() reproduces the untagged example of docs/config.md", () => {
  const peers = ["eve", "charlie", "alice", "dave", "bob"].map((name) => peer(name));
  assertEquals(short({ hosts: [host("host-0"), host("host-1")], peers }), [
    "alice host-0 11984",
    "bob host-1 11984",
    "charlie host-0 11985",
    "dave host-1 11985",
    "eve host-0 11986",
  ]);
});

Deno.test("place() reproduces the tag example of docs/config.md: untagged first, then [cpu], then [gpu]", () => {
  const hosts = [host("host-0", { tags: ["gpu", "fast"] }), host("host-1", { tags: ["cpu"] })];
  const peers = [
    peer("alice", ["gpu"]),
    peer("bob", ["cpu"]),
    peer("charlie"),
    peer("dave"),
    peer("eve"),
  ];
  assertEquals(short({ hosts, peers }), [
    "alice host-0 11986",
    "bob host-1 11985",
    "charlie host-0 11984",
    "dave host-1 11984",
    "eve host-0 11985",
  ]);
});

Deno.test("place() fills every field of a placement", () => {
  const [placed] = place({
    hosts: [host("h", { address: "10.1.2.3", base_port: 4000 })],
    peers: [peer("solo")],
  });
  assertEquals(placed, {
    peer: "solo",
    hostIndex: 0,
    host: "h",
    address: "10.1.2.3",
    port: 4000,
    image: "solo:1",
    listenAddr: "/ip4/0.0.0.0/udp/4000/quic-v1",
  });
  const unnamed = place({
    hosts: [{ ...host("x"), name: undefined, address: "10.9.9.9" }],
    peers: [peer("p")],
  });
  assertEquals(unnamed[0].host, "10.9.9.9");
});

Deno.test("place() shares one port counter per host across tag groups", () => {
  const hosts = [host("a", { base_port: 100, tags: ["x", "y"] }), host("b", { base_port: 200 })];
  const peers = [
    peer("p1"),
    peer("p2"),
    peer("p3"),
    peer("q1", ["x"]),
    peer("q2", ["x"]),
    peer("r1", ["x", "y"]),
    peer("s1", ["y"]),
  ];
  // groups: [] (p1 a, p2 b, p3 a), [x] (q1 a, q2 a), [x, y] (r1 a), [y] (s1 a)
  assertEquals(short({ hosts, peers }), [
    "p1 a 100",
    "p2 b 200",
    "p3 a 101",
    "q1 a 102",
    "q2 a 103",
    "r1 a 104",
    "s1 a 105",
  ]);
});

Deno.test("place() round-robins a tag group over its hosts in config order", () => {
  const hosts = [
    host("h0", { tags: ["gpu"], base_port: 10 }),
    host("h1", { base_port: 20 }),
    host("h2", { tags: ["gpu"], base_port: 30 }),
  ];
  const peers = ["d", "c", "b", "a"].map((name) => peer(name, ["gpu"]));
  assertEquals(short({ hosts, peers }), ["a h0 10", "b h2 30", "c h0 11", "d h2 31"]);
});

Deno.test("place() treats runs_on as a set: order and repeats do not make a new group", () => {
  const hosts = [host("h0", { tags: ["a", "b"] }), host("h1", { tags: ["a", "b"] })];
  const peers = [peer("p", ["b", "a"]), peer("q", ["a", "b", "a"])];
  assertEquals(short({ hosts, peers }), ["p h0 11984", "q h1 11984"]);
});

Deno.test("place() names the peers whose tags no host carries", () => {
  const hosts = [host("h0", { tags: ["gpu"] })];
  let error: unknown;
  try {
    place({ hosts, peers: [peer("zoe", ["tpu"]), peer("amy", ["tpu"]), peer("bob", ["gpu"])] });
  } catch (caught) {
    error = caught;
  }
  assert(error instanceof PlacementError);
  assertEquals(error.tags, ["tpu"]);
  assertEquals(error.peers, ["amy", "zoe"]);
  assertEquals(error.message, "no host has all of the tags [tpu] required by peers amy, zoe");
  assertEquals(
    new PlacementError(["a", "b"], ["solo"]).message,
    "no host has all of the tags [a, b] required by peer solo",
  );
});

Deno.test("place() of no peers is an empty plan", () => {
  assertEquals(place({ hosts: [host("h")], peers: [] }), []);
});

Deno.test("compareTagLists() orders element by element, a shorter prefix first", () => {
  const lists = [["b"], ["a", "b"], [], ["a"], ["a", "c"]];
  assertEquals([...lists].sort(compareTagLists), [[], ["a"], ["a", "b"], ["a", "c"], ["b"]]);
  assertEquals(listenAddr(5), "/ip4/0.0.0.0/udp/5/quic-v1");
});
