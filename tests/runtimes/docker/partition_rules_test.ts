import { assert, assertEquals } from "../../support/assert.ts";
import {
  type HostAddress,
  inNetwork,
  parseHostAddresses,
  partitionBlocks,
  type PeerEndpoint,
} from "../../../src/runtimes/docker/partition_rules.ts";

const net = (cidr: string): HostAddress => {
  const [address, prefix] = cidr.split("/");
  return { address, prefixLength: Number(prefix) };
};

/**
 * Host a: the uplink 10.0.0.1, a second address 192.168.1.1, its Docker bridge 172.17.0.1 and the
 * link to host b 10.9.7.1 (host b sees it as that). Host b: 10.9.7.2 and its bridge 10.9.8.1.
 */
const HOST_ADDRESSES: Record<string, HostAddress[]> = {
  a: ["10.0.0.1/24", "192.168.1.1/24", "172.17.0.1/16", "10.9.7.1/30"].map(net),
  b: ["10.9.7.2/30", "10.9.8.1/24"].map(net),
};

const endpoint = (host: string, port: number, container: string): PeerEndpoint => ({
  host,
  hostAddresses: HOST_ADDRESSES[host],
  port,
  containerAddress: container,
  gateway: host === "a" ? "172.17.0.1" : "10.9.8.1",
});

const ENDPOINTS = new Map([
  ["alice", endpoint("a", 11000, "172.17.0.2")],
  ["bob", endpoint("a", 11001, "172.17.0.3")],
  ["carol", endpoint("b", 11000, "10.9.8.2")],
  ["dave", endpoint("b", 11001, "10.9.8.3")],
]);

Deno.test("partitionBlocks cuts a peer off every address of its own host at the other group's ports, bridge included, and their containers", () => {
  const blocks = partitionBlocks([["alice", "carol"], ["bob"]], ENDPOINTS);
  assertEquals(blocks.get("alice"), [
    { address: "10.0.0.1", port: 11001 },
    { address: "192.168.1.1", port: 11001 },
    { address: "172.17.0.1", port: 11001 },
    { address: "10.9.7.1", port: 11001 },
    { address: "172.17.0.3" },
  ]);
});

Deno.test("partitionBlocks cuts a peer on another host off every address of the target's host, the one it sees it as and its Docker bridge included", () => {
  const blocks = partitionBlocks([["alice", "carol"], ["bob"]], ENDPOINTS);
  // carol on b reaches bob's host a at 10.9.7.1 (the link) and 172.17.0.1 (routed to a) too.
  assertEquals(blocks.get("carol"), [
    { address: "10.0.0.1", port: 11001 },
    { address: "192.168.1.1", port: 11001 },
    { address: "172.17.0.1", port: 11001 },
    { address: "10.9.7.1", port: 11001 },
    { address: "172.17.0.3" },
  ]);
  assertEquals(blocks.has("dave"), false, "a peer in no group is not touched");
});

Deno.test("partitionBlocks leaves out the addresses and networks the sender's own host has: they lead to itself", () => {
  // A second machine set up like the first: its own 172.17.0.1 on its own 172.17.0.0/16 bridge.
  const twin = ["10.0.0.2/24", "172.17.0.1/16"].map(net);
  const endpoints = new Map([
    ["alice", endpoint("a", 11000, "172.17.0.2")],
    ["erin", { ...endpoint("c", 11000, "172.17.0.2"), hostAddresses: twin }],
  ]);
  const blocks = partitionBlocks([["alice"], ["erin"]], endpoints);
  assertEquals(blocks.get("erin"), [
    { address: "10.0.0.1", port: 11000 },
    { address: "192.168.1.1", port: 11000 },
    { address: "10.9.7.1", port: 11000 },
  ]);
  assertEquals(blocks.get("alice"), [{ address: "10.0.0.2", port: 11000 }]);
});

Deno.test("partitionBlocks leaves out a stopped peer's container address and peers without an endpoint", () => {
  const endpoints = new Map(ENDPOINTS);
  endpoints.set("carol", { ...ENDPOINTS.get("carol")!, containerAddress: null });
  const blocks = partitionBlocks([["alice"], ["carol", "ghost"]], endpoints);
  assertEquals(blocks.get("alice"), [
    { address: "10.9.7.2", port: 11000 },
    { address: "10.9.8.1", port: 11000 },
  ]);
  assertEquals(blocks.has("ghost"), false);
});

Deno.test("parseHostAddresses keeps every IPv4 address of a host with its prefix, Docker's bridges and every scope included, but loopback", () => {
  const output = [
    "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
    "2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever",
    "2: eth0    inet 10.0.0.6/32 scope link eth0\\       valid_lft forever",
    "3: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\\       valid_lft forever",
    "4: br-1a2b3c    inet 172.18.0.1/16 scope global br-1a2b3c\\       valid_lft forever",
    "5: tmhb0@if4    inet 10.231.7.1/30 scope global tmhb0\\       valid_lft forever",
    "6: veth0    inet 10.231.7.1/30 scope global veth0\\       valid_lft forever",
    "",
  ].join("\n");
  assertEquals(
    parseHostAddresses(output),
    ["10.0.0.5/24", "10.0.0.6/32", "172.17.0.1/16", "172.18.0.1/16", "10.231.7.1/30"].map(net),
  );
});

Deno.test("inNetwork tells whether an address lies in a host address's network", () => {
  assert(inNetwork("172.17.0.9", net("172.17.0.1/16")));
  assert(!inNetwork("172.18.0.9", net("172.17.0.1/16")));
  assert(inNetwork("10.9.7.2", net("10.9.7.1/30")));
  assert(!inNetwork("10.9.7.5", net("10.9.7.1/30")));
  assert(!inNetwork("10.0.0.7", net("10.0.0.6/32")));
  assert(inNetwork("1.2.3.4", net("0.0.0.0/0")));
});

Deno.test("partitionBlocks cuts the address a peer advertises when none of its host's own is it (a NAT's), on its port", () => {
  const endpoints = new Map([
    ["alice", { ...endpoint("a", 11000, "172.17.0.2"), advertised: "203.0.113.7" }],
    ["carol", { ...endpoint("b", 11000, "10.9.8.2"), advertised: "10.9.7.2" }],
  ]);
  const blocks = partitionBlocks([["alice"], ["carol"]], endpoints);
  const cut = (peer: string) => blocks.get(peer)!.map((b) => `${b.address}:${b.port ?? "*"}`);
  assert(cut("carol").includes("203.0.113.7:11000"), cut("carol").join(" "));
  // carol advertises an address of its own host: cut once, as one of its host's addresses.
  assertEquals(cut("alice").filter((d) => d === "10.9.7.2:11000").length, 1);
});
