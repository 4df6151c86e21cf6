import { assertEquals, assertRejects, assertThrows } from "../../support/assert.ts";
import { ConfigSchema } from "../../../src/plan/schema.ts";
import { planConfig } from "../../../src/plan/plan_config.ts";
import { place } from "../../../src/plan/placement.ts";
import { UsageError } from "../../../src/base/errors.ts";
import type { FaultControl } from "../../../src/engine/runtime.ts";
import {
  FaultOnUnreachableNodeError,
  NodeBoundFaults,
  refuseFaultsOnManagedNodes,
} from "../../../src/runtimes/swarm/manager_node_faults.ts";

/** Two hosts a and b (b the node tm cannot reach), near on a, far on b. */
function planned(commands: unknown[]) {
  const config = planConfig(ConfigSchema.parse({
    name: "t",
    redis: { port: 6399, image: "unused" },
    hosts: [
      { connection: "local", name: "a", base_port: 13000, tags: ["a"] },
      { connection: "local", name: "b", base_port: 13000, tags: ["b"] },
    ],
    peers: [
      { name: "near", image: "img", runs_on: "a" },
      { name: "far", image: "img", runs_on: "b" },
    ],
    commands,
  }));
  return { config, plan: place(config) };
}

Deno.test("refuseFaultsOnManagedNodes refuses a fault on a peer of a node tm cannot reach, naming fault, peer and node, as a usage error", () => {
  const { config, plan } = planned([
    { time: 1, fault: "pause", peer: "near" },
    { time: 2, fault: "kill", peer: "far" },
  ]);
  const error = assertThrows(
    () => refuseFaultsOnManagedNodes(config, plan, new Set(["b"])),
    FaultOnUnreachableNodeError,
  );
  assertEquals([error.fault, error.peer, error.node], ["kill", "far", "b"]);
  assertEquals(error instanceof UsageError, true);
  assertEquals(
    error.message.startsWith("fault kill on far cannot be done: far runs on node b"),
    true,
  );
  // Every node reached: nothing refused.
  refuseFaultsOnManagedNodes(config, plan, new Set());
});

Deno.test("refuseFaultsOnManagedNodes refuses a partition with a group member there, and lets a heal of every peer through", () => {
  const partition = planned([{ time: 1, fault: "partition", groups: [["near"], ["far"]] }]);
  assertThrows(
    () => refuseFaultsOnManagedNodes(partition.config, partition.plan, new Set(["b"])),
    FaultOnUnreachableNodeError,
  );
  const heal = planned([
    { time: 1, fault: "delay", peer: "near", ms: 10 },
    { time: 2, fault: "heal" },
  ]);
  refuseFaultsOnManagedNodes(heal.config, heal.plan, new Set(["b"]));
});

Deno.test("NodeBoundFaults refuses a fault typed by hand on a peer there, passes the others, and heals only the peers it reaches", async () => {
  const calls: string[] = [];
  const inner = {
    preflight: () => Promise.resolve(),
    pause: (peer: string) => (calls.push(`pause ${peer}`), Promise.resolve()),
    heal: (peers: readonly string[] | "all") => (
      calls.push(`heal ${peers === "all" ? "all" : peers.join(",")}`), Promise.resolve()
    ),
  } as unknown as FaultControl;
  const faults = new NodeBoundFaults(inner, (peer) => peer === "far" ? "b" : undefined);
  const signal = new AbortController().signal;
  await faults.pause("near", signal);
  await assertRejects(() => faults.pause("far", signal), FaultOnUnreachableNodeError);
  await faults.heal(["near", "far"], signal);
  await faults.heal(["far"], signal);
  await faults.heal("all", signal);
  assertEquals(calls, ["pause near", "heal near", "heal all"]);
});
