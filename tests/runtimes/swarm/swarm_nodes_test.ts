import { assertEquals, assertThrows } from "../../support/assert.ts";
import { SwarmHostSchema } from "../../../src/plan/schema.ts";
import {
  nodeNames,
  nodeTags,
  NoNodesError,
  readNode,
  swarmHosts,
  type SwarmNode,
  UnreachableNodeError,
} from "../../../src/runtimes/swarm/swarm_nodes.ts";

const node = (id: string, hostname: string, address: string, labels = {}): SwarmNode => ({
  id,
  hostname,
  address,
  labels,
  schedulable: true,
});

const swarm = (extra: Record<string, unknown> = {}) =>
  SwarmHostSchema.parse({ connection: "swarm", manager: "local", base_port: 13000, ...extra });

const ssh = { address: "10.0.0.2", ssh_user: "root", ssh_auth: "agent" };

Deno.test("readNode takes Status.Addr, a first manager's 0.0.0.0 from ManagerStatus, and drained or down nodes as unschedulable", () => {
  assertEquals(
    readNode({
      ID: "n1",
      Description: { Hostname: "vm" },
      Spec: { Labels: { "tm.name": "a" }, Availability: "active" },
      Status: { State: "ready", Addr: "0.0.0.0" },
      ManagerStatus: { Addr: "10.231.7.1:2377" },
    }),
    {
      id: "n1",
      hostname: "vm",
      address: "10.231.7.1",
      labels: { "tm.name": "a" },
      schedulable: true,
    },
  );
  const drained = readNode({
    ID: "n2",
    Spec: { Availability: "drain" },
    Status: { State: "ready", Addr: "10.0.0.2" },
  });
  assertEquals([drained.address, drained.schedulable], ["10.0.0.2", false]);
  assertEquals(
    readNode({ Spec: { Availability: "active" }, Status: { State: "down" } }).schedulable,
    false,
  );
});

Deno.test("nodeNames uses tm.name, else the hostname, with the short ID where hostnames repeat", () => {
  assertEquals(
    nodeNames([
      node("aaaaaaaaaaaaaaaa", "vm", "1"),
      node("bbbbbbbbbbbbbbbb", "vm", "2"),
      node("cccc", "vm", "3", { "tm.name": "c" }),
      node("dddd", "db", "4"),
    ]),
    ["vm.aaaaaaaaaaaa", "vm.bbbbbbbbbbbb", "c", "db"],
  );
});

Deno.test("nodeTags reads tm.tag.<tag> labels whatever their value, sorted, skipping invalid tags", () => {
  assertEquals(
    nodeTags(
      node("n", "h", "1", { "tm.tag.ssd": "", "tm.tag.eu": "1", "tm.tag.": "x", other: "y" }),
    ),
    ["eu", "ssd"],
  );
});

Deno.test("swarmHosts makes the manager's node local, nodes: entries SSH hosts, sorted by name, advertising each node's address", () => {
  const { hosts, nodeIds } = swarmHosts(
    swarm({ nodes: { b: ssh }, tags: ["lab"] }),
    [
      node("idb", "vm", "10.0.0.2", { "tm.name": "b", "tm.tag.b": "1" }),
      node("ida", "vm", "10.0.0.1", { "tm.name": "a", "tm.tag.a": "1" }),
    ],
    "ida",
  );
  assertEquals(nodeIds, ["ida", "idb"]);
  assertEquals(hosts, [
    {
      connection: "local",
      address: "10.0.0.1",
      name: "a",
      base_port: 13000,
      tags: ["a", "lab"],
      advertise: "10.0.0.1",
    },
    {
      connection: "ssh",
      ...ssh,
      ssh_port: 22,
      host_key_check: "accept-new",
      name: "b",
      base_port: 13000,
      tags: ["b", "lab"],
      advertise: "10.0.0.2",
    },
  ]);
});

Deno.test("swarmHosts refuses a schedulable node tm cannot reach, naming it and the fix; skips drained ones", () => {
  const error = assertThrows(
    () =>
      swarmHosts(
        swarm(),
        [node("ida", "a", "1"), node("idb", "b", "2"), node("idc", "c", "3")],
        "ida",
      ),
    UnreachableNodeError,
  );
  assertEquals(error.nodes, ["b", "c"]);
  assertEquals(
    error.message.startsWith("swarm: tm cannot reach the engine of nodes b, c"),
    true,
  );
  const drained = { ...node("idb", "b", "2"), schedulable: false };
  assertEquals(swarmHosts(swarm(), [node("ida", "a", "1"), drained], "ida").nodeIds, ["ida"]);
  assertThrows(() => swarmHosts(swarm(), [drained], "ida"), NoNodesError);
});

Deno.test("swarmHosts reaches the node of a manager over SSH with the entry's own SSH fields", () => {
  const { hosts } = swarmHosts(
    swarm({ manager: undefined, ...ssh, name: "lab" }),
    [node("idm", "m", "10.0.0.2")],
    "idm",
  );
  assertEquals(hosts[0].connection, "ssh");
  assertEquals(hosts[0].connection === "ssh" && hosts[0].address, "10.0.0.2");
});

Deno.test("SwarmHostSchema needs manager: local or the manager's SSH fields, not both", () => {
  assertEquals(SwarmHostSchema.safeParse({ connection: "swarm", base_port: 1 }).success, false);
  assertEquals(
    SwarmHostSchema.safeParse({ connection: "swarm", manager: "local", ...ssh, base_port: 1 })
      .success,
    false,
  );
  assertEquals(
    SwarmHostSchema.safeParse({ connection: "swarm", ssh_user: "root", base_port: 1 }).success,
    false,
  );
  assertEquals(
    SwarmHostSchema.safeParse({ connection: "swarm", ...ssh, base_port: 1 }).success,
    true,
  );
});

Deno.test("swarmHosts with registry: takes a node tm cannot reach too, marked watched through the manager", () => {
  const { hosts, nodeIds, viaManager } = swarmHosts(
    swarm({ registry: "127.0.0.1:5000", nodes: { c: ssh } }),
    [node("ida", "a", "10.0.0.1"), node("idb", "b", "10.0.0.2"), node("idc", "c", "10.0.0.3")],
    "ida",
  );
  assertEquals(nodeIds, ["ida", "idb", "idc"]);
  assertEquals(viaManager, [false, true, false]);
  assertEquals([hosts[1].name, hosts[1].advertise], ["b", "10.0.0.2"]);
});

Deno.test("SwarmHostSchema takes a registry as an image reference starts, not a URL", () => {
  const parse = (registry: string) =>
    SwarmHostSchema.safeParse({ connection: "swarm", manager: "local", base_port: 1, registry })
      .success;
  assertEquals(
    ["127.0.0.1:5000", "localhost", "reg.example.com/ci", "[::1]:5000"].map(parse),
    [true, true, true, true],
  );
  assertEquals(["http://127.0.0.1:5000", "registry", "reg.example.com/CI"].map(parse), [
    false,
    false,
    false,
  ]);
});
