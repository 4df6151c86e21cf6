import { assertEquals } from "../support/assert.ts";
import { formatPlanTable, planRecords } from "../../src/cli/plan_table.ts";
import { place } from "../../src/plan/placement.ts";
import { parseConfig } from "../../src/plan/load.ts";

const GROUPS = parseConfig(
  `name: t
redis: { port: 6379, image: redis:7-alpine }
hosts:
  - { name: a, address: 10.0.0.1, ssh_user: tm, ssh_auth: agent, base_port: 11000 }
  - { name: b, address: 10.0.0.2, ssh_user: tm, ssh_auth: agent, base_port: 12000 }
peers:
  - { name: alice, image: peer:1, bootstrap: ["node-[1-2]"] }
  - { name: node, count: 6, image: peer:2 }
commands: []
`,
  "t.yaml",
);

Deno.test("formatPlanTable() folds a group into one row: its range, hosts, addresses and ports", () => {
  assertEquals(formatPlanTable(place(GROUPS)).split("\n"), [
    "PEER        HOST  ADDRESS                                 PORT  IMAGE   LISTEN ADDRESS",
    "alice       a     10.0.0.1                               11000  peer:1  /ip4/0.0.0.0/udp/11000/quic-v1",
    "node-[1-6]  b, a  10.0.0.2, 10.0.0.1  12000-12002, 11001-11003  peer:2  /ip4/0.0.0.0/udp/<port>/quic-v1",
  ]);
});

Deno.test("planRecords() lists each peer of a group, with its group and bootstrap list", () => {
  const records = planRecords(place(GROUPS));
  assertEquals(records.map((r) => r.peer), [
    "alice",
    "node-1",
    "node-2",
    "node-3",
    "node-4",
    "node-5",
    "node-6",
  ]);
  assertEquals(records[0].bootstrap, ["node-1", "node-2"]);
  assertEquals(records[0].group, undefined);
  assertEquals(records[1].group, "node");
  assertEquals(records[1].bootstrap, []);
});
