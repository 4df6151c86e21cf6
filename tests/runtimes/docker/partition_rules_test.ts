import { assertEquals } from "../../support/assert.ts";
import {
  parseHostAddresses,
  partitionBlocks,
  type PeerEndpoint,
} from "../../../src/runtimes/docker/partition_rules.ts";

const endpoint = (host: string, port: number, container: string): PeerEndpoint => ({
  host,
  hostAddresses: host === "a" ? ["10.0.0.1", "192.168.1.1"] : ["10.0.0.2"],
  port,
  containerAddress: container,
  gateway: host === "a" ? "172.17.0.1" : "172.18.0.1",
});

const ENDPOINTS = new Map([
  ["alice", endpoint("a", 11000, "172.17.0.2")],
  ["bob", endpoint("a", 11001, "172.17.0.3")],
  ["carol", endpoint("b", 11000, "172.18.0.2")],
  ["dave", endpoint("b", 11001, "172.18.0.3")],
]);

Deno.test("partitionBlocks cuts each peer off every address of the other groups' peers, the gateway for its own host's", () => {
  const blocks = partitionBlocks([["alice", "carol"], ["bob"]], ENDPOINTS);
  assertEquals(blocks.get("alice"), [
    { address: "10.0.0.1", port: 11001 },
    { address: "192.168.1.1", port: 11001 },
    { address: "172.17.0.3" },
    { address: "172.17.0.1", port: 11001 },
  ]);
  // carol is on the other host: bob's host addresses and container, not carol's own gateway.
  assertEquals(blocks.get("carol"), [
    { address: "10.0.0.1", port: 11001 },
    { address: "192.168.1.1", port: 11001 },
    { address: "172.17.0.3" },
  ]);
  assertEquals(blocks.get("bob"), [
    { address: "10.0.0.1", port: 11000 },
    { address: "192.168.1.1", port: 11000 },
    { address: "172.17.0.2" },
    { address: "172.17.0.1", port: 11000 },
    { address: "10.0.0.2", port: 11000 },
    { address: "172.18.0.2" },
  ]);
  assertEquals(blocks.has("dave"), false, "a peer in no group is not touched");
});

Deno.test("partitionBlocks leaves out a stopped peer's container address and peers without an endpoint", () => {
  const endpoints = new Map(ENDPOINTS);
  endpoints.set("carol", { ...ENDPOINTS.get("carol")!, containerAddress: null });
  const blocks = partitionBlocks([["alice"], ["carol", "ghost"]], endpoints);
  assertEquals(blocks.get("alice"), [{ address: "10.0.0.2", port: 11000 }]);
  assertEquals(blocks.has("ghost"), false);
});

Deno.test("parseHostAddresses keeps a host's own IPv4 addresses, not Docker's bridges", () => {
  const output = [
    "2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever",
    "3: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\\       valid_lft forever",
    "4: br-1a2b3c    inet 172.18.0.1/16 scope global br-1a2b3c\\       valid_lft forever",
    "5: tmhb0@if4    inet 10.231.7.1/30 scope global tmhb0\\       valid_lft forever",
    "",
  ].join("\n");
  assertEquals(parseHostAddresses(output), ["10.0.0.5", "10.231.7.1"]);
});
